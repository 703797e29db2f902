package io.stubdm.devices.ide;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.pci.PciBus;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * The PIIX3 IDE function at 00:01.1 behind the ioreq engine and the simulated Xen, wired as the xenfv machine
 * wires it (legacy ports, ISA IRQ 14/15 through set_isa_irq_level), with BAR4, COMMAND and IDETIM programmed
 * the way hvmloader's pci_setup leaves them. The test thread is the guest's vCPU.
 */
final class IdeRig implements AutoCloseable {
    static final int PRIMARY = PiixIde.PRIMARY_COMMAND_BLOCK;
    static final int PRIMARY_CONTROL = PiixIde.PRIMARY_CONTROL_BLOCK;
    static final int SECONDARY = PiixIde.SECONDARY_COMMAND_BLOCK;
    static final int SECONDARY_CONTROL = PiixIde.SECONDARY_CONTROL_BLOCK;
    /** Where hvmloader's I/O window puts BAR4 (the first BAR placed at 0xC000 in a machine with only us). */
    static final int BMIBA = 0xc000;
    static final int IDE_DEVICE = 1;
    static final int IDE_FUNCTION = 1;
    static final long POLL_LIMIT_NANOS = 5_000_000_000L;

    final EmbeddedEngine engine = new EmbeddedEngine();
    final SimVcpu cpu = engine.vcpu(0);
    final PciBus bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(), (device, pin) -> IrqLine.NONE);
    final PiixIde ide;

    IdeRig() {
        DeviceModelOps dm = engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID);
        ide = new PiixIde(engine.memory(),
                high -> dm.setIsaIrqLevel(PiixIde.PRIMARY_IRQ, high ? 1 : 0),
                high -> dm.setIsaIrqLevel(PiixIde.SECONDARY_IRQ, high ? 1 : 0));
    }

    MemoryDisk disk(long bytes) {
        return new MemoryDisk(engine.loop(), bytes);
    }

    MemoryDisk readOnlyDisk(long bytes) {
        return new MemoryDisk(engine.loop(), bytes, true, "read-only");
    }

    IdeRig attach(int index, IdeDrive drive) {
        ide.attach(index, drive);
        return this;
    }

    /** Plugs the function, registers the legacy ports, starts the engine and plays hvmloader's part. */
    IdeRig start() {
        bus.plug(IDE_DEVICE, IDE_FUNCTION, ide);
        for (PiixIde.PortRange r : ide.legacyPorts()) {
            engine.ports().register(r.base(), r.length(), r.device(), r.name());
        }
        engine.start();
        cfgWrite(PiixIde.IDETIM_PRIMARY, 2, PiixIde.IDETIM_DECODE_ENABLE);
        cfgWrite(PiixIde.IDETIM_SECONDARY, 2, PiixIde.IDETIM_DECODE_ENABLE);
        cfgWrite(0x20, 4, BMIBA);
        cfgWrite(0x04, 2, 0x0005); // I/O decode and bus master, pci_setup's last step
        return this;
    }

    long cfgRead(int reg, int size) {
        return cpu.pciConfigRead(0, IDE_DEVICE, IDE_FUNCTION, reg, size);
    }

    void cfgWrite(int reg, int size, long value) {
        cpu.pciConfigWrite(0, IDE_DEVICE, IDE_FUNCTION, reg, size, value);
    }

    GuestMemory ram() {
        return engine.guestMemory();
    }

    boolean irq(int line) {
        return engine.domain().isaIrqLevel(line) == 1;
    }

    /** The levels set_isa_irq_level gave {@code line}, oldest first. */
    List<Integer> irqLevels(int line) {
        String prefix = "set_isa_irq_level(0x" + Integer.toHexString(line) + ", 0x";
        return engine.domain().dmOpLog().stream()
                .filter(op -> op.startsWith(prefix))
                .map(op -> Integer.parseInt(op.substring(prefix.length(), op.length() - 1), 16))
                .collect(Collectors.toList());
    }

    /** Polls as a guest polls a register, failing the test after {@link #POLL_LIMIT_NANOS}. */
    static void pollUntil(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + POLL_LIMIT_NANOS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest gave up waiting for " + what);
            }
            Thread.onSpinWait();
        }
    }

    // ---------------------------------------------------------------- register-level guest helpers

    /** Scratch guest memory for PIO buffers, away from what the driver transcriptions use. */
    static final long SCRATCH = 0x200000;

    int status(int base) {
        return cpu.inb(base + Ata.REG_STATUS);
    }

    int altStatus(int base) {
        return cpu.inb(base == PRIMARY ? PRIMARY_CONTROL : SECONDARY_CONTROL);
    }

    void control(int base, int value) {
        cpu.outb(base == PRIMARY ? PRIMARY_CONTROL : SECONDARY_CONTROL, value);
    }

    int error(int base) {
        return cpu.inb(base + Ata.REG_ERROR);
    }

    /** Polls Alternate Status until BSY clears; returns it. */
    int waitNotBusy(int base) {
        int[] last = new int[1];
        pollUntil("BSY to clear", () -> ((last[0] = altStatus(base)) & Ata.STATUS_BSY) == 0);
        return last[0];
    }

    void select(int base, int unit) {
        cpu.outb(base + Ata.REG_DEVICE, Ata.DEVICE_OBSOLETE_ONES | Ata.DEVICE_LBA | (unit == 1 ? Ata.DEVICE_DEV : 0));
    }

    /** A 28-bit LBA command: features, count, address, device, command. */
    void command28(int base, int unit, int command, long lba, int count, int feature) {
        cpu.outb(base + Ata.REG_FEATURES, feature);
        cpu.outb(base + Ata.REG_SECTOR_COUNT, count);
        cpu.outb(base + Ata.REG_LBA_LOW, (int) lba & 0xff);
        cpu.outb(base + Ata.REG_LBA_MID, (int) (lba >>> 8) & 0xff);
        cpu.outb(base + Ata.REG_LBA_HIGH, (int) (lba >>> 16) & 0xff);
        cpu.outb(base + Ata.REG_DEVICE, Ata.DEVICE_OBSOLETE_ONES | Ata.DEVICE_LBA | (unit == 1 ? Ata.DEVICE_DEV : 0)
                | (int) (lba >>> 24) & 0x0f);
        cpu.outb(base + Ata.REG_COMMAND, command);
    }

    /** A 48-bit command: each register written twice, high byte first. */
    void command48(int base, int unit, int command, long lba, int count) {
        cpu.outb(base + Ata.REG_SECTOR_COUNT, count >> 8);
        cpu.outb(base + Ata.REG_LBA_LOW, (int) (lba >>> 24) & 0xff);
        cpu.outb(base + Ata.REG_LBA_MID, (int) (lba >>> 32) & 0xff);
        cpu.outb(base + Ata.REG_LBA_HIGH, (int) (lba >>> 40) & 0xff);
        cpu.outb(base + Ata.REG_SECTOR_COUNT, count & 0xff);
        cpu.outb(base + Ata.REG_LBA_LOW, (int) lba & 0xff);
        cpu.outb(base + Ata.REG_LBA_MID, (int) (lba >>> 8) & 0xff);
        cpu.outb(base + Ata.REG_LBA_HIGH, (int) (lba >>> 16) & 0xff);
        cpu.outb(base + Ata.REG_DEVICE, Ata.DEVICE_OBSOLETE_ONES | Ata.DEVICE_LBA | (unit == 1 ? Ata.DEVICE_DEV : 0));
        cpu.outb(base + Ata.REG_COMMAND, command);
    }

    /** {@code rep insw} of {@code bytes} from the data port, through guest memory. */
    byte[] pioIn(int base, int bytes) {
        cpu.ins(base + Ata.REG_DATA, 2, SCRATCH, bytes / 2, false);
        byte[] data = new byte[bytes];
        ram().read(SCRATCH, data, 0, bytes);
        return data;
    }

    /** {@code rep outsw} of {@code data} to the data port, through guest memory. */
    void pioOut(int base, byte[] data) {
        ram().write(SCRATCH, data, 0, data.length);
        cpu.outs(base + Ata.REG_DATA, 2, SCRATCH, data.length / 2, false);
    }

    /** IDENTIFY (PACKET) DEVICE by PIO; the 256 words. */
    int[] identify(int base, int unit, int command) {
        select(base, unit);
        cpu.outb(base + Ata.REG_COMMAND, command);
        int status = waitNotBusy(base);
        if ((status & Ata.STATUS_DRQ) == 0) {
            throw new AssertionError(String.format("IDENTIFY: no data, status %02x error %02x", status, error(base)));
        }
        return LinuxAtaPiix.words(pioIn(base, 512));
    }

    /** Writes a PRD table at {@code table}: pairs of (address, byte count), the last with EOT. */
    void prd(long table, long... addressCount) {
        for (int i = 0; i < addressCount.length; i += 2) {
            boolean last = i + 2 >= addressCount.length;
            ram().writeValue(table + 4L * i, 4, addressCount[i]);
            ram().writeValue(table + 4L * i + 4, 4, (addressCount[i + 1] & 0xffff) | (last ? 0x8000_0000L : 0));
        }
    }

    /** The bus-master registers of channel {@code channel}. */
    int bm(int channel, int reg) {
        return cpu.inb(BMIBA + 8 * channel + reg);
    }

    void bmWrite(int channel, int reg, int value) {
        cpu.outb(BMIBA + 8 * channel + reg, value);
    }

    /** What every test ends with: nothing escaped from the device into the loop or the dispatcher. */
    void assertNothingEscaped() {
        assertEquals(0, engine.loop().failures(), "nothing escaped from a handler into the loop");
        assertEquals(0, engine.stats().deviceErrors(), "no device threw while serving an access");
    }

    @Override
    public void close() {
        engine.close();
    }
}
