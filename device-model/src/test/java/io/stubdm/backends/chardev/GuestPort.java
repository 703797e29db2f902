package io.stubdm.backends.chardev;

import static io.stubdm.devices.serial.Uart16550.*;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.serial.Uart16550;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;

/** COM1 with a real backend behind it, driven by a guest that polls LSR, as a boot console does. */
final class GuestPort implements AutoCloseable {
    private static final int COM1 = 0x3f8;
    private static final long POLL_LIMIT_NANOS = 5_000_000_000L;

    final EmbeddedEngine engine = new EmbeddedEngine();
    final Uart16550 uart;
    private final SimVcpu cpu = engine.vcpu(0);
    private final CharBackend backend;

    GuestPort(CharBackend backend) {
        this.backend = backend;
        uart = new Uart16550(engine.loop(), IrqLine.NONE, backend);
        engine.ports().register(COM1, 8, uart, "com1");
        engine.start();
        cpu.outb(COM1 + LCR, 0x03);
        cpu.outb(COM1 + FCR, FCR_FIFO_ENABLE);
    }

    private int pollLsr(int bit, String what) {
        long deadline = System.nanoTime() + POLL_LIMIT_NANOS;
        int lsr;
        while (((lsr = cpu.inb(COM1 + LSR)) & bit) == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest gave up waiting for " + what);
            }
            Thread.onSpinWait();
        }
        return lsr;
    }

    void print(byte[] bytes) {
        for (byte b : bytes) {
            pollLsr(LSR_THRE, "THRE");
            cpu.outb(COM1 + THR, b & 0xff);
        }
    }

    byte[] read(int n) {
        byte[] got = new byte[n];
        for (int i = 0; i < n; i++) {
            int lsr = pollLsr(LSR_DR, "byte " + i + " of " + n);
            if ((lsr & LSR_OE) != 0) {
                throw new AssertionError("overrun at byte " + i);
            }
            got[i] = (byte) cpu.inb(COM1 + RBR);
        }
        return got;
    }

    @Override
    public void close() {
        engine.close();
        backend.close();
    }
}
