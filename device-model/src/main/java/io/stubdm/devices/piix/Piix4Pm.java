package io.stubdm.devices.piix;

import static io.stubdm.devices.pci.PciRegs.STATUS;
import static io.stubdm.devices.pci.PciRegs.STATUS_DEVSEL_MEDIUM;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.PowerControl;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.IoBus;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * The PIIX4 power-management function (82371AB function 3, 8086:7113) at 00:01.3 of the xenfv machine, as QEMU's
 * {@code hw/acpi/piix4.c} builds it under Xen: the ACPI fixed hardware that Xen leaves to the device model, and the
 * QEMU-specific hot-plug ports that Xen's {@code dsdt_anycpu_qemu_xen} reads.
 *
 * <p>Who serves what (xen-dm-protocol §5.7, devices.md §1.2): Xen's own {@code pmtimer.c} serves PM1a_STS/PM1a_EN
 * (PMBA+0..3) and PM_TMR (PMBA+8) at 0xB000, and its handlers run before any ioreq server is asked. So inside the
 * PMBA block this function decodes only <b>PM1a_CNT</b> (PMBA+4, 2 bytes, FADT {@code pm1_cnt_len = 2}); claiming
 * Xen's ranges too would change nothing for the guest and only widen what we ask Xen to forward. The block is mapped
 * when the guest programs PMBA (0x40) and sets PMIOSE (0x80 bit 0), and moves or disappears as they change.
 *
 * <p>Fixed ports, which the machine registers from {@link #fixedPorts()}:
 * <ul>
 * <li>0xB2/0xB3, APM control (SMI_CMD in the FADT) and status: 0xF1 sets SCI_EN, 0xF0 clears it. SCI_EN starts
 *     clear (legacy mode), as a FADT with SMI_CMD promises; hvmloader's {@code acpi_enable_sci()} then writes 0xF1
 *     and BUG()s if SCI_EN stays clear.</li>
 * <li>0xAFE0, GPE0_BLK (4 bytes: GPE0_STS, write-1-to-clear, then GPE0_EN). The SCI (ISA IRQ 9) is high while
 *     {@code GPE0_STS & GPE0_EN} is non-zero.</li>
 * <li>0xAF00, the present-vCPU bitmap the DSDT's {@code PRSC} method reads on GPE 2.</li>
 * <li>0xAE00, QEMU's PCI hot-plug registers PCIU, PCID, B0EJ, B0RM: a static machine has nothing to report and
 *     nothing removable.</li>
 * </ul>
 *
 * <p>Not emulated: the SMBus host controller (SMBBA 0x90 and SMBHSTCFG 0xD2 are plain registers; hvmloader turns
 * the host off, so a driver that checks the enable bit, like FreeBSD's {@code intpm(4)}, leaves it alone); SMI
 * generation (no SMM under Xen); the PIIX4 registers of the PMBA block beyond PM1 (GPSTS, GLBSTS, DEVCTL..., which
 * no Xen table points at); the DEVRESx bits QEMU sets to say which legacy serial/parallel ports exist.
 */
public final class Piix4Pm extends PciFunction {
    private static final System.Logger LOG = System.getLogger(Piix4Pm.class.getName());

    private static final int VENDOR_INTEL = 0x8086;
    private static final int DEVICE_82371AB_PM = 0x7113;
    private static final int REVISION = 0x03;
    /** Bridge, "other bridge" (0x0680): the class hvmloader recognises this function by. */
    private static final int CLASS_BRIDGE_OTHER = 0x068000;
    private static final int STATUS_FAST_BACK_TO_BACK = 0x0080;
    private static final int INTERRUPT_PIN_INTA = 1;

    // Function 3 configuration registers (PIIX4 datasheet, Intel 290562).
    /** PMBA: Power Management Base Address, a 64-byte I/O block. */
    private static final int PMBA = 0x40;
    /** Bit 0 of PMBA and SMBBA, hardwired to 1: "this is an I/O address". */
    private static final int BASE_IS_IO = 0x0001;
    private static final int PMBA_ADDRESS_MASK = 0xffc0;
    /** DEVACTB: Device Activity B. */
    private static final int DEVACTB = 0x58;
    /**
     * DEVACTB bit 25, APMC_EN: a write to port 0xB2 raises SMI. QEMU sets it at reset when there is no SMM ("SMM
     * already initialised"), which is always under Xen; firmware reads it, nothing here acts on it.
     */
    private static final int DEVACTB_APMC_EN = 1 << 25;
    /** PMREGMISC: Miscellaneous Power Management. */
    private static final int PMREGMISC = 0x80;
    /** PMREGMISC bit 0, PMIOSE: PM I/O space enable. */
    private static final int PMIOSE = 0x01;
    /** SMBBA: SMBus Base Address. */
    private static final int SMBBA = 0x90;
    private static final int SMBBA_ADDRESS_MASK = 0xfff0;
    /** Where QEMU's pc_piix puts the SMBus by default ({@code smb_io_base}). */
    private static final int SMBUS_DEFAULT_BASE = 0xb100;
    /** SMBHSTCFG: SMBus Host Configuration. */
    private static final int SMBHSTCFG = 0xd2;
    private static final int SMBHSTCFG_HST_EN = 0x01;
    /** SMBHSTCFG bits 3:1 = 100b, SMBus interrupt on IRQ 9. */
    private static final int SMBHSTCFG_INTRSEL_IRQ9 = 0x08;
    private static final int SMBHSTCFG_WRITABLE = 0x0f;

    // PM1a_CNT (ACPI spec, table "PM1 Control Registers Fixed Hardware Feature Control Bits"; PIIX4 PMCNTRL).
    private static final int PM1A_CNT_OFFSET = 4;
    private static final int PM1A_CNT_LENGTH = 2;
    private static final int SCI_EN = 1 << 0;
    private static final int BM_RLD = 1 << 1;
    private static final int SLP_TYP_SHIFT = 10;
    private static final int SLP_TYP_MASK = 7 << SLP_TYP_SHIFT;
    /** Write-only: writing it with SLP_TYP enters that sleep state; it reads 0. */
    private static final int SLP_EN = 1 << 13;
    /** What reads back; GBL_RLS and SLP_EN are write-only, the rest reserved (read 0). */
    private static final int PM1A_CNT_STORED = SCI_EN | BM_RLD | SLP_TYP_MASK;
    /** Xen's DSDT {@code \_S5} and its {@code \_S4} SSDT are all zeros: both are power-off. */
    private static final int SLP_TYP_SOFT_OFF = 0;
    /** Xen's {@code ssdt_s3.asl}: {@code \_S3} = 1, "must match piix emulation". */
    private static final int SLP_TYP_SUSPEND_TO_RAM = 1;

    // APM ports (PIIX4 APMC/APMS) and the values the Xen FADT gives for SMI_CMD.
    private static final int APM_PORTS = 0xb2;
    private static final int APM_PORTS_LENGTH = 2;
    private static final int APMC = 0;
    private static final int ACPI_ENABLE = 0xf1;
    private static final int ACPI_DISABLE = 0xf0;

    // GPE0 block: ACPI_GPE0_BLK_ADDRESS_V1 in Xen's FADT, GPE_BASE/GPE_LEN in QEMU.
    private static final int GPE0_BLK = 0xafe0;
    private static final int GPE0_BLK_LENGTH = 4;
    /** GPE0_STS is the first half of the block, GPE0_EN the second (ACPI, "General-Purpose Event Register Blocks"). */
    private static final int GPE0_EN_OFFSET = GPE0_BLK_LENGTH / 2;
    /** XEN_ACPI_GPE0_CPUHP_BIT: the DSDT's {@code _E02} runs PRSC to rescan the vCPU bitmap. */
    private static final int GPE0_CPU_HOTPLUG = 1 << 2;

    // The present-vCPU bitmap: XEN_ACPI_CPU_MAP and XEN_ACPI_CPU_MAP_LEN (xen/include/public/arch-x86/xen.h).
    private static final int CPU_MAP = 0xaf00;
    /** HVM_MAX_VCPUS (xen/include/public/hvm/hvm_info_table.h). */
    private static final int HVM_MAX_VCPUS = 128;
    private static final int CPU_MAP_LENGTH = (HVM_MAX_VCPUS + 7) / 8;

    // QEMU's PCI hot-plug registers (ACPI_PCIHP_ADDR_PIIX4); Xen's DSDT reserves 0x10 bytes there.
    private static final int PCI_HOTPLUG = 0xae00;
    private static final int PCI_HOTPLUG_LENGTH = 0x10;
    /** B0EJ: the DSDT's {@code _EJ0} of slot n writes {@code 1 << n} here. */
    private static final int B0EJ = 0x08;

    /** A fixed I/O range of the function, for the machine to register on the port bus. */
    public record PortRange(int base, int length, BusDevice device, String name) {
    }

    private final IoBus ports;
    private final IrqLine sci;
    private final PowerControl power;
    private final List<PortRange> fixedPorts;
    private final Pm1aControl pm1aControl = new Pm1aControl();
    private final byte[] cpuMap = new byte[CPU_MAP_LENGTH];
    private IoBus.Registration pm1aControlMapping;
    private int pm1Control;
    private int apmControl;
    private int apmStatus;
    private int gpeStatus;
    private int gpeEnable;
    private boolean sciLevel;

    /**
     * @param ports the port bus the PMBA block is mapped on when the guest enables it
     * @param sci the SCI, ISA IRQ 9 ({@code sci_int} in Xen's FADT)
     * @param power where S5 (power-off) and S3 (suspend) requests go
     * @param vcpus how many vCPUs are present at start (vCPUs 0 to {@code vcpus - 1})
     */
    public Piix4Pm(IoBus ports, IrqLine sci, PowerControl power, int vcpus) {
        super("piix4-pm", VENDOR_INTEL, DEVICE_82371AB_PM, CLASS_BRIDGE_OTHER, REVISION);
        if (vcpus < 1 || vcpus > HVM_MAX_VCPUS) {
            throw new IllegalArgumentException("vCPUs must be 1.." + HVM_MAX_VCPUS + ", not " + vcpus);
        }
        this.ports = ports;
        this.sci = sci;
        this.power = power;
        set16(STATUS, STATUS_FAST_BACK_TO_BACK | STATUS_DEVSEL_MEDIUM);
        // QEMU gives the function INTA although the SCI goes to ISA IRQ 9; hvmloader writes INTERRUPT_LINE = 9.
        setInterruptPin(INTERRUPT_PIN_INTA);
        set32(PMBA, BASE_IS_IO);
        setWritable(PMBA, 4, PMBA_ADDRESS_MASK);
        set32(DEVACTB, DEVACTB_APMC_EN);
        setWritable(PMREGMISC, 1, PMIOSE);
        set32(SMBBA, SMBUS_DEFAULT_BASE | BASE_IS_IO);
        setWritable(SMBBA, 4, SMBBA_ADDRESS_MASK);
        config[SMBHSTCFG] = (byte) (SMBHSTCFG_HST_EN | SMBHSTCFG_INTRSEL_IRQ9);
        setWritable(SMBHSTCFG, 1, SMBHSTCFG_WRITABLE);
        for (int vcpu = 0; vcpu < vcpus; vcpu++) {
            cpuMap[vcpu / 8] |= (byte) (1 << (vcpu % 8));
        }
        fixedPorts = List.of(
                new PortRange(APM_PORTS, APM_PORTS_LENGTH, new ApmPorts(), name + " APM control"),
                new PortRange(GPE0_BLK, GPE0_BLK_LENGTH, new Gpe0Block(), name + " GPE0_BLK"),
                new PortRange(CPU_MAP, CPU_MAP_LENGTH, new CpuMap(), name + " vCPU map"),
                new PortRange(PCI_HOTPLUG, PCI_HOTPLUG_LENGTH, new PciHotplug(), name + " PCI hot-plug"));
    }

    /** The ranges at fixed ports the machine registers on the port bus (the PMBA block the function maps itself). */
    public List<PortRange> fixedPorts() {
        return fixedPorts;
    }

    /**
     * A vCPU came online: it appears in the 0xAF00 bitmap and GPE0 bit 2 is raised so the guest's {@code _E02}
     * rescans, as QEMU's legacy CPU hot-plug does for {@code xl vcpu-set}. Nothing happens if it is present already.
     */
    public void hotplugVcpu(int vcpu) {
        if (vcpu < 0 || vcpu >= HVM_MAX_VCPUS) {
            throw new IllegalArgumentException("no vCPU " + vcpu + " in a guest of at most " + HVM_MAX_VCPUS);
        }
        byte bit = (byte) (1 << (vcpu % 8));
        if ((cpuMap[vcpu / 8] & bit) != 0) {
            return;
        }
        cpuMap[vcpu / 8] |= bit;
        gpeStatus |= GPE0_CPU_HOTPLUG;
        updateSci();
    }

    // ---------------------------------------------------------------- configuration space

    @Override
    protected void configWritten(int reg, int size, long value) {
        if (overlaps(reg, size, PMBA, 4) || overlaps(reg, size, PMREGMISC, 1)) {
            mapPmBlock();
        }
    }

    private static boolean overlaps(int reg, int size, int field, int fieldLength) {
        return reg < field + fieldLength && field < reg + size;
    }

    /**
     * Decodes PM1a_CNT at PMBA+4 while PMIOSE is set, and nowhere otherwise. A zero base is the reset value rather
     * than a place: decoding it would put PM1a_CNT over the DMA controller's ports 4-5.
     */
    private void mapPmBlock() {
        int base = get32(PMBA) & PMBA_ADDRESS_MASK;
        boolean enabled = (config[PMREGMISC] & PMIOSE) != 0 && base != 0;
        long wanted = enabled ? base + PM1A_CNT_OFFSET : -1;
        long current = pm1aControlMapping == null ? -1 : pm1aControlMapping.mapping().base();
        if (wanted == current) {
            return;
        }
        if (pm1aControlMapping != null) {
            pm1aControlMapping.unregister();
            pm1aControlMapping = null;
        }
        if (wanted < 0) {
            return;
        }
        try {
            pm1aControlMapping = ports.register(wanted, PM1A_CNT_LENGTH, pm1aControl, name + " PM1a_CNT");
        } catch (RuntimeException e) {
            // The guest put PMBA over another device (or Xen refused the range): leave PM1a_CNT undecoded rather
            // than fail the config write, as PciFunction does for a BAR.
            LOG.log(Level.WARNING, String.format("%s: PM1a_CNT at 0x%x not decoded: %s", name, wanted, e.getMessage()));
        }
    }

    /** PM1a_CNT, GPE0 and the APM ports back to power-on; config is already, so the PMBA block is unmapped. */
    @Override
    protected void resetDevice() {
        pm1Control = 0;
        apmControl = 0;
        apmStatus = 0;
        gpeStatus = 0;
        gpeEnable = 0;
        updateSci();
        mapPmBlock();
    }

    // ---------------------------------------------------------------- ACPI behaviour

    /**
     * Follows QEMU's {@code acpi_update_sci}: GPE0 status and enable alone decide, without SCI_EN. (On PIIX4 a
     * clear SCI_EN would route the event to SMI, which does not exist under Xen.) PM1 events raise the SCI inside
     * Xen. Only changes go to Xen, so an idle GPE write costs no dm_op.
     */
    private void updateSci() {
        boolean level = (gpeStatus & gpeEnable) != 0;
        if (level != sciLevel) {
            sciLevel = level;
            sci.setLevel(level);
        }
    }

    /**
     * A sleep request (QEMU's {@code acpi_pm1_cnt_write}). It reaches the machine before the guest's write is
     * answered, so Xen has the shutdown before the vCPU runs on (xen-dm-protocol §5.10).
     */
    private void sleep(int sleepType) {
        switch (sleepType) {
            case SLP_TYP_SOFT_OFF:
                power.requestPoweroff("ACPI S5 via PM1a_CNT");
                break;
            case SLP_TYP_SUSPEND_TO_RAM:
                power.requestSuspend("ACPI S3 via PM1a_CNT");
                break;
            default:
                LOG.log(Level.WARNING, String.format(
                        "%s: PM1a_CNT sleep type %d is no state Xen's ACPI tables define; ignored", name, sleepType));
        }
    }

    /** Byte registers: wider accesses are split little-endian, as QEMU's {@code impl.max_access_size = 1} does. */
    private abstract static class ByteRegisters implements BusDevice {
        @Override
        public final long read(long offset, int size) {
            long value = 0;
            for (int i = 0; i < size; i++) {
                value |= (long) (readByte((int) offset + i) & 0xff) << (8 * i);
            }
            return value;
        }

        @Override
        public final void write(long offset, int size, long value) {
            for (int i = 0; i < size; i++) {
                writeByte((int) offset + i, (int) (value >>> (8 * i)) & 0xff);
            }
            written();
        }

        abstract int readByte(int reg);

        abstract void writeByte(int reg, int value);

        /** After all bytes of one access, so a wide write acts once on the final state. */
        void written() {
        }
    }

    /** PM1a_CNT at PMBA+4. */
    private final class Pm1aControl extends ByteRegisters {
        @Override
        int readByte(int reg) {
            return pm1Control >>> (8 * reg);
        }

        @Override
        void writeByte(int reg, int value) {
            int shift = 8 * reg;
            int control = (pm1Control & ~(0xff << shift)) | value << shift;
            pm1Control = control & PM1A_CNT_STORED;
            if ((control & SLP_EN) != 0) {
                sleep((control & SLP_TYP_MASK) >>> SLP_TYP_SHIFT);
            }
        }
    }

    /** APMC (0xB2) and APMS (0xB3): both read back what was written last. */
    private final class ApmPorts extends ByteRegisters {
        @Override
        int readByte(int reg) {
            return reg == APMC ? apmControl : apmStatus;
        }

        @Override
        void writeByte(int reg, int value) {
            if (reg != APMC) {
                apmStatus = value;
                return;
            }
            apmControl = value;
            // ACPI 3.0 §4.7.2.5 (Legacy/ACPI Select): the firmware behind SMI_CMD switches modes through SCI_EN.
            // Any other command would be an SMI with nothing to handle it under Xen.
            if (value == ACPI_ENABLE) {
                pm1Control |= SCI_EN;
            } else if (value == ACPI_DISABLE) {
                pm1Control &= ~SCI_EN;
            }
        }
    }

    /** GPE0_STS (write 1 to clear) then GPE0_EN, 16 bits each. */
    private final class Gpe0Block extends ByteRegisters {
        @Override
        int readByte(int reg) {
            return reg < GPE0_EN_OFFSET ? gpeStatus >>> (8 * reg) : gpeEnable >>> (8 * (reg - GPE0_EN_OFFSET));
        }

        @Override
        void writeByte(int reg, int value) {
            if (reg < GPE0_EN_OFFSET) {
                gpeStatus &= ~(value << (8 * reg));
            } else {
                int shift = 8 * (reg - GPE0_EN_OFFSET);
                gpeEnable = (gpeEnable & ~(0xff << shift)) | value << shift;
            }
        }

        @Override
        void written() {
            updateSci();
        }
    }

    /**
     * The present-vCPU bitmap, read-only. QEMU takes a write of 0 to its first byte as the switch to its newer CPU
     * hot-plug interface, which only QEMU's own ACPI tables use; Xen's DSDT only reads, so writes are dropped.
     */
    private final class CpuMap extends ByteRegisters {
        @Override
        int readByte(int reg) {
            return cpuMap[reg];
        }

        @Override
        void writeByte(int reg, int value) {
        }
    }

    /**
     * PCIU (devices to check), PCID (devices to eject), B0EJ (eject request) and B0RM (removable slots), a dword
     * each. Nothing is ever hot-plugged or removable here, so all read 0, and an eject request from the DSDT's
     * {@code _EJ0} is only logged: unplugging a device the guest still drives is for the toolstack to ask.
     */
    private final class PciHotplug extends ByteRegisters {
        private int ejectRequest;

        @Override
        int readByte(int reg) {
            return 0;
        }

        @Override
        void writeByte(int reg, int value) {
            if (reg >= B0EJ && reg < B0EJ + 4) {
                ejectRequest |= value << (8 * (reg - B0EJ));
            }
        }

        @Override
        void written() {
            if (ejectRequest != 0) {
                LOG.log(Level.INFO, String.format(
                        "%s: guest asked to eject PCI slots 0x%08x; nothing here is removable", name, ejectRequest));
                ejectRequest = 0;
            }
        }
    }
}
