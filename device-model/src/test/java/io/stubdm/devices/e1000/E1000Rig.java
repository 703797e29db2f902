package io.stubdm.devices.e1000;

import static io.stubdm.devices.pci.PciRegs.*;

import io.stubdm.devices.pci.PciBus;
import io.stubdm.firmware.OptionRom;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * An 82540EM at 00:04.0 behind the ioreq engine and the simulated Xen, with a {@link TestBackend}; the test
 * thread is the guest's vCPU and places rings and buffers in guest RAM. BARs are programmed where SeaBIOS
 * would put them (memory at 0xFEBC0000, I/O at 0xC000) with memory, I/O and bus mastering enabled, unless a
 * test asks for the bare device.
 */
final class E1000Rig implements AutoCloseable {
    static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static final int SLOT = 4;
    static final long MMIO_BASE = 0xfebc0000L;
    static final int IO_BASE = 0xc000;
    /** Autonegotiation takes 20 ms here rather than 500 ms, so tests do not wait. */
    static final long FAST_AUTONEGOTIATION_NANOS = 20_000_000L;
    static final long POLL_LIMIT_NANOS = 5_000_000_000L;

    final EmbeddedEngine engine = new EmbeddedEngine();
    final SimVcpu cpu = engine.vcpu(0);
    final GuestMemory ram = engine.guestMemory();
    final TestBackend backend = new TestBackend();
    final E1000 nic;
    private final List<Boolean> levels = new ArrayList<>();
    private volatile boolean level;

    E1000Rig() {
        this(FAST_AUTONEGOTIATION_NANOS, Optional.empty(), true);
    }

    E1000Rig(long autonegotiationNanos, Optional<OptionRom> rom, boolean programBars) {
        PciBus bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(), (device, pin) -> high -> {
            synchronized (levels) {
                levels.add(high);
            }
            level = high;
        });
        nic = new E1000(engine.loop(), engine.memory(), backend, MAC, rom, autonegotiationNanos);
        bus.plug(SLOT, 0, nic);
        engine.start();
        if (programBars) {
            cfgw(BAR0, 4, MMIO_BASE);
            cfgw(BAR0 + 4, 4, IO_BASE);
            cfgw(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER);
        }
    }

    // ------------------------------------------------------------------ the guest's accesses

    long cfg(int reg, int size) {
        return cpu.pciConfigRead(0, SLOT, 0, reg, size);
    }

    void cfgw(int reg, int size, long value) {
        cpu.pciConfigWrite(0, SLOT, 0, reg, size, value);
    }

    /** E1000_READ_REG. */
    int r(int reg) {
        return (int) cpu.mmioRead(MMIO_BASE + reg, 4);
    }

    /** E1000_WRITE_REG. */
    void w(int reg, int value) {
        cpu.mmioWrite(MMIO_BASE + reg, 4, value & 0xffff_ffffL);
    }

    /** E1000_WRITE_REG_IO: the register's offset to IOADDR, the value to IODATA. */
    void wio(int reg, int value) {
        cpu.outl(IO_BASE, reg);
        cpu.outl(IO_BASE + 4, value & 0xffff_ffffL);
    }

    int rio(int reg) {
        cpu.outl(IO_BASE, reg);
        return (int) cpu.inl(IO_BASE + 4);
    }

    /** The INTA level the device drives now. */
    boolean irq() {
        return level;
    }

    /** Every level the device gave its pin, in order. */
    List<Boolean> irqLevels() {
        synchronized (levels) {
            return new ArrayList<>(levels);
        }
    }

    // ------------------------------------------------------------------ guest RAM

    void put(long gpa, byte[] data) {
        ram.write(gpa, data, 0, data.length);
    }

    byte[] get(long gpa, int length) {
        byte[] b = new byte[length];
        ram.read(gpa, b, 0, length);
        return b;
    }

    /** A 16-byte descriptor as the guest sees it, little-endian. */
    ByteBuffer descriptor(long ring, int index) {
        return ByteBuffer.wrap(get(ring + 16L * index, 16)).order(ByteOrder.LITTLE_ENDIAN);
    }

    void putDescriptor(long ring, int index, long address, int lower, int upper) {
        ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        d.putLong(address).putInt(lower).putInt(upper);
        put(ring + 16L * index, d.array());
    }

    // ------------------------------------------------------------------ the backend, on the device loop

    void inject(byte[] frame) {
        engine.onLoop(() -> backend.inject(frame));
    }

    List<byte[]> sent() {
        return engine.onLoop(backend::sent);
    }

    <T> T onLoop(Supplier<T> action) {
        return engine.onLoop(action);
    }

    void onLoop(Runnable action) {
        engine.onLoop(action);
    }

    /** Polls {@code condition} as a driver polls a register, failing after {@link #POLL_LIMIT_NANOS}. */
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
