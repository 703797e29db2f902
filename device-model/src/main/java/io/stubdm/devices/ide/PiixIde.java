package io.stubdm.devices.ide;

import static io.stubdm.devices.pci.PciRegs.COMMAND;
import static io.stubdm.devices.pci.PciRegs.COMMAND_MASTER;
import static io.stubdm.devices.pci.PciRegs.STATUS;
import static io.stubdm.devices.pci.PciRegs.STATUS_DEVSEL_MEDIUM;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.pci.PciBar;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.piix.I440fxHostBridge;
import io.stubdm.devices.xenplatform.DiskUnplugTarget;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.ioreq.BusDevice;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The Intel 82371SB PIIX3 IDE function at 00:01.1 (8086:7010) as qemu-xen's xenfv machine has it: class 0x0101
 * with programming interface 0x80 (both channels in legacy mode, bus-master capable), the primary channel at
 * ports 0x1F0-0x1F7 and 0x3F6 on ISA IRQ 14, the secondary at 0x170-0x177 and 0x376 on ISA IRQ 15, and the
 * 16-byte bus-master block (BMIBA) in BAR4, eight bytes per channel. It has no interrupt pin: legacy-mode
 * channels interrupt through the ISA lines, which the machine passes in.
 *
 * <p><b>IDETIM decode enable.</b> hvmloader writes 8000h to IDETIM (config 0x40 and 0x42), the PIIX3's "IDE decode
 * enable" for each channel. The registers are kept, so Linux's ata_piix (which skips a channel whose bit 15 is
 * clear, piix_pata_prereset) and FreeBSD's ata_intel_new_setmode (which rewrites the timing bits around it) read
 * back what they expect; but the legacy ports decode whether or not the bit is set, and whether or not COMMAND
 * enables I/O, because QEMU's piix_ide decodes them unconditionally and every guest and firmware stubdm replaces
 * QEMU for was written against that. COMMAND's bus-master bit does gate DMA: a transfer with it clear fails with
 * a bus-master error (QEMU would stall it forever).
 *
 * <p>Drives go in with {@link #attach}, at the {@code index} of {@code -drive if=ide,index=N}: channel
 * {@code N / 2}, master when {@code N} is even. The machine registers {@link #legacyPorts()} on the port bus,
 * plugs the function at 00:01.1 and hands it to the Xen platform device as its {@link DiskUnplugTarget}.
 */
public final class PiixIde extends PciFunction implements DiskUnplugTarget {
    private static final System.Logger LOG = System.getLogger(PiixIde.class.getName());
    public static final int DEVICE_82371SB_IDE = 0x7010;
    public static final int CLASS_IDE_LEGACY_BUS_MASTER = 0x010180;
    /** IDE Timing registers (82371SB datasheet, IDETIM): bit 15 enables the channel's decode. */
    public static final int IDETIM_PRIMARY = 0x40;
    public static final int IDETIM_SECONDARY = 0x42;
    public static final int IDETIM_DECODE_ENABLE = 0x8000;
    /** BMIBA, the bus-master interface base address, is BAR4. */
    public static final int BUS_MASTER_BAR = 4;
    public static final int BUS_MASTER_BAR_SIZE = 16;
    public static final int PRIMARY_COMMAND_BLOCK = 0x1f0;
    public static final int PRIMARY_CONTROL_BLOCK = 0x3f6;
    public static final int SECONDARY_COMMAND_BLOCK = 0x170;
    public static final int SECONDARY_CONTROL_BLOCK = 0x376;
    public static final int PRIMARY_IRQ = 14;
    public static final int SECONDARY_IRQ = 15;
    /** Master and slave on two channels: {@code -drive if=ide,index=0..3}. */
    public static final int DRIVE_POSITIONS = 4;
    /** STATUS "fast back-to-back capable", part of the PIIX3's power-on STATUS (QEMU's piix_ide_reset). */
    private static final int STATUS_FAST_BACK_TO_BACK = 0x0080;

    /** A fixed port range the machine registers on the port bus. */
    public record PortRange(int base, int length, BusDevice device, String name) {
    }

    private final IdeChannel[] channels = new IdeChannel[2];

    /**
     * {@code memory} is where the bus-master engines walk PRD tables and move data; {@code primaryIrq} and
     * {@code secondaryIrq} are ISA IRQ 14 and 15.
     */
    public PiixIde(GuestMemory memory, IrqLine primaryIrq, IrqLine secondaryIrq) {
        super("piix3-ide", I440fxHostBridge.VENDOR_INTEL, DEVICE_82371SB_IDE, CLASS_IDE_LEGACY_BUS_MASTER, 0);
        set16(STATUS, STATUS_DEVSEL_MEDIUM | STATUS_FAST_BACK_TO_BACK);
        BooleanSupplier busMaster = () -> (get16(COMMAND) & COMMAND_MASTER) != 0;
        channels[0] = new IdeChannel(0, primaryIrq, new BusMasterDma(name + " primary", memory, busMaster));
        channels[1] = new IdeChannel(1, secondaryIrq, new BusMasterDma(name + " secondary", memory, busMaster));
        defineBar(BUS_MASTER_BAR, PciBar.io(BUS_MASTER_BAR_SIZE, new BusMasterWindow(), "bus-master IDE"));
    }

    /** The command and control blocks of both channels, for the machine to register. */
    public List<PortRange> legacyPorts() {
        return List.of(
                new PortRange(PRIMARY_COMMAND_BLOCK, Ata.COMMAND_BLOCK_SIZE, channels[0].commandBlock(), "ide0"),
                new PortRange(PRIMARY_CONTROL_BLOCK, 1, channels[0].controlBlock(), "ide0 control"),
                new PortRange(SECONDARY_COMMAND_BLOCK, Ata.COMMAND_BLOCK_SIZE, channels[1].commandBlock(), "ide1"),
                new PortRange(SECONDARY_CONTROL_BLOCK, 1, channels[1].controlBlock(), "ide1 control"));
    }

    /**
     * Puts {@code drive} at {@code -drive if=ide,index=N} position {@code index}: channel {@code index / 2}, master
     * for even indexes, slave for odd. Call before the guest runs or on the device loop.
     */
    public void attach(int index, IdeDrive drive) {
        checkIndex(index);
        channels[index / 2].attach(index % 2, drive);
    }

    /** The drive at {@code index}, or null. */
    public IdeDrive drive(int index) {
        checkIndex(index);
        return channels[index / 2].drive(index % 2);
    }

    private static void checkIndex(int index) {
        if (index < 0 || index >= DRIVE_POSITIONS) {
            throw new IllegalArgumentException("IDE index must be 0.." + (DRIVE_POSITIONS - 1) + ", not " + index);
        }
    }

    /**
     * The Xen platform device's unplug (QEMU's pci_xen_ide_unplug): hard disks leave, CD-ROMs stay, the primary
     * master stays when asked. The positions read as empty afterwards and the disks' backends are closed once
     * their requests are done. If any disk went, both channels reset, so no command is left half-done; PCI
     * config space is left alone, since the guest's PCI layer may have read it already.
     */
    @Override
    public List<String> unplugDisks(boolean keepPrimaryMaster) {
        List<String> gone = new ArrayList<>();
        for (int i = keepPrimaryMaster ? 1 : 0; i < DRIVE_POSITIONS; i++) {
            IdeDrive d = channels[i / 2].drive(i % 2);
            if (d instanceof AtaDisk) {
                channels[i / 2].detach(i % 2);
                gone.add(d.name());
            }
        }
        if (gone.isEmpty()) {
            LOG.log(Level.INFO, name + ": no IDE disks to unplug");
        } else {
            LOG.log(Level.INFO, name + ": unplugged " + String.join(", ", gone));
            for (IdeChannel c : channels) {
                c.reset();
            }
        }
        return gone;
    }

    @Override
    protected void resetDevice() {
        for (IdeChannel c : channels) {
            c.reset();
        }
    }

    /** BAR4: the primary channel's bus-master registers at 0-7, the secondary's at 8-15, byte by byte. */
    private final class BusMasterWindow implements BusDevice {
        @Override
        public long read(long offset, int size) {
            long value = 0;
            for (int i = 0; i < size; i++) {
                int at = (int) offset + i;
                value |= (long) channels[at / BusMasterDma.REGISTER_BLOCK_SIZE].dma
                        .readByte(at % BusMasterDma.REGISTER_BLOCK_SIZE) << (8 * i);
            }
            return value;
        }

        @Override
        public void write(long offset, int size, long value) {
            for (int i = 0; i < size; i++) {
                int at = (int) offset + i;
                channels[at / BusMasterDma.REGISTER_BLOCK_SIZE].dma
                        .writeByte(at % BusMasterDma.REGISTER_BLOCK_SIZE, (int) (value >>> (8 * i)) & 0xff);
            }
        }
    }
}
