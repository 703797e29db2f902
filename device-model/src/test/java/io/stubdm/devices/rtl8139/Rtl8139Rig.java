package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.pci.PciRegs.*;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.devices.pci.PciBus;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * An RTL8139C+ at 00:04.0 behind the ioreq engine and the simulated Xen, its BARs placed and decode and bus
 * mastering enabled as hvmloader's pci_setup leaves them. The test thread is the guest's vCPU; it reaches the
 * registers through the memory BAR (as re(4) does) or the I/O BAR (as 8139too does).
 */
final class Rtl8139Rig implements AutoCloseable {
    static final int SLOT = 4;
    static final int IO_BASE = 0xc100;
    static final long MMIO_BASE = 0xf2000000L;
    static final byte[] MAC = {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56};
    static final long WAIT_NANOS = 10_000_000_000L;

    final EmbeddedEngine engine = new EmbeddedEngine();
    final SimVcpu cpu = engine.vcpu(0);
    /** Guest RAM as the guest sees it. */
    final GuestMemory ram = engine.guestMemory();
    final AtomicBoolean irq = new AtomicBoolean();
    final NetBackend backend;
    final PciBus bus;
    final Rtl8139 nic;
    private final boolean viaMemoryBar;

    Rtl8139Rig(boolean viaMemoryBar) {
        this(viaMemoryBar, new FakeBackend(), MAC);
    }

    Rtl8139Rig(boolean viaMemoryBar, NetBackend backend, byte[] mac) {
        this.viaMemoryBar = viaMemoryBar;
        this.backend = backend;
        bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(), (device, pin) -> irq::set);
        nic = new Rtl8139(engine.loop(), engine.memory(), backend, mac, Optional.empty());
        bus.plug(SLOT, 0, nic);
        engine.start();
        cfgw(BAR0, 4, IO_BASE);
        cfgw(BAR0 + 4, 4, MMIO_BASE);
        cfgw(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER);
    }

    FakeBackend fake() {
        return (FakeBackend) backend;
    }

    long cfg(int reg, int size) {
        return cpu.pciConfigRead(0, SLOT, 0, reg, size);
    }

    void cfgw(int reg, int size, long value) {
        cpu.pciConfigWrite(0, SLOT, 0, reg, size, value);
    }

    int r8(int reg) {
        return (int) read(reg, 1);
    }

    int r16(int reg) {
        return (int) read(reg, 2);
    }

    long r32(int reg) {
        return read(reg, 4);
    }

    long read(int reg, int size) {
        return viaMemoryBar ? cpu.mmioRead(MMIO_BASE + reg, size) : cpu.in(IO_BASE + reg, size);
    }

    void w8(int reg, int value) {
        write(reg, 1, value);
    }

    void w16(int reg, int value) {
        write(reg, 2, value);
    }

    void w32(int reg, long value) {
        write(reg, 4, value);
    }

    void write(int reg, int size, long value) {
        if (viaMemoryBar) {
            cpu.mmioWrite(MMIO_BASE + reg, size, value);
        } else {
            cpu.out(IO_BASE + reg, size, value);
        }
    }

    /** Waits, as a guest polling would, for {@code condition}; fails after {@link #WAIT_NANOS}. */
    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT_NANOS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("gave up waiting for " + what);
            }
            Thread.onSpinWait();
        }
    }

    /** Waits until the device loop has served everything posted before this call. */
    void settle() {
        engine.onLoop(() -> { });
    }

    @Override
    public void close() {
        engine.close();
    }
}
