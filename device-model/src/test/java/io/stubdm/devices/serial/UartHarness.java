package io.stubdm.devices.serial;

import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.DeviceLoop;
import io.stubdm.ioreq.EmbeddedEngine;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A UART at COM1 (0x3F8, IRQ 4) behind the ioreq engine and the simulated Xen, with a {@link FakeBackend}; the
 * test thread is the guest's vCPU.
 */
final class UartHarness implements AutoCloseable {
    static final int COM1 = 0x3f8;
    static final int IRQ = 4;
    /** How long a guest polls for something the device does on a timer before the test gives up. */
    static final long POLL_LIMIT_NANOS = 5_000_000_000L;

    final EmbeddedEngine engine = new EmbeddedEngine();
    final SimVcpu cpu = engine.vcpu(0);
    final FakeBackend backend;
    final Uart16550 uart;

    UartHarness() {
        this(loop -> new FakeBackend());
    }

    UartHarness(Function<DeviceLoop, FakeBackend> backendFactory) {
        backend = backendFactory.apply(engine.loop());
        uart = new Uart16550(engine.loop(),
                high -> engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID).setIsaIrqLevel(IRQ, high ? 1 : 0),
                backend);
        engine.ports().register(COM1, 8, uart, "com1");
        engine.start();
    }

    int in(int reg) {
        return cpu.inb(COM1 + reg);
    }

    void out(int reg, int value) {
        cpu.outb(COM1 + reg, value);
    }

    boolean irq() {
        return engine.domain().isaIrqLevel(IRQ) == 1;
    }

    /** The levels the UART gave IRQ 4 through set_isa_irq_level, in order. */
    List<Integer> irqLevels() {
        String prefix = "set_isa_irq_level(0x" + Integer.toHexString(IRQ) + ", 0x";
        return engine.domain().dmOpLog().stream()
                .filter(op -> op.startsWith(prefix))
                .map(op -> Integer.parseInt(op.substring(prefix.length(), op.length() - 1), 16))
                .collect(Collectors.toList());
    }

    void send(byte... bytes) {
        engine.onLoop(() -> backend.send(bytes));
    }

    byte[] output() {
        return engine.onLoop(backend::output);
    }

    /** Polls {@code condition} as a guest would poll a register, failing after {@link #POLL_LIMIT_NANOS}. */
    static void pollUntil(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + POLL_LIMIT_NANOS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest gave up waiting for " + what);
            }
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() {
        engine.close();
    }
}
