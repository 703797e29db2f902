package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.devices.pci.PciBar;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.firmware.OptionRom;
import io.stubdm.hypervisor.ByteValues;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.GuestMemoryException;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.DeviceClock;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Intel 82540EM Gigabit Ethernet Controller (8086:100E, revision 3), the NIC QEMU calls {@code e1000} and
 * FreeBSD drives with em(4)'s legacy "lem" code: BAR0 is the 128 KiB register file, BAR1 a 64-byte I/O window
 * (IOADDR at 0, IODATA at 4) that FreeBSD requires and resets the MAC through, and an optional ROM BAR with
 * iPXE's {@code efi-e1000.rom}. Register names and sections are the 8254x SDM's (see {@link E1000Regs}).
 *
 * <p>What software sees: the EEPROM ({@link Eeprom}) with the MAC address, through EECD bit-banging and EERD; the
 * M88E1011 PHY ({@link Phy}) through MDIC, whose autonegotiation restart takes the link down and brings it up
 * {@value #AUTONEGOTIATION_MILLIS} ms later with an LSC interrupt; interrupts ({@link Interrupts}) with ITR
 * throttling and the RDTR/RADV/TIDV/TADV delays; the transmit ({@link Transmitter}) and receive
 * ({@link Receiver}) units with their offloads; statistics that clear when read. CTRL.RST resets the MAC (every
 * register, receive address 0 reloaded from the EEPROM) but not the PHY, so the link stays as it was. STATUS.LU
 * is the PHY's link while CTRL.SLU is set. Registers the 82540EM does not have (CTRL_DUP, FLA, RFCTL, MANC2H,
 * SWSM and the other PCIe-era ones) read 0 and ignore writes, as do reserved offsets.
 *
 * <p>The machine plugs it on the PCI bus, maps nothing itself (the BARs follow config space), and passes the
 * {@code mac=} address and the network backend; everything runs on the device loop.
 */
public final class E1000 extends PciFunction {
    public static final int VENDOR_ID = 0x8086;
    public static final int DEVICE_ID = 0x100e;
    public static final int REVISION = 0x03;
    /** The subsystem QEMU gives every device that names none (hw/pci/pci.c, pci_set_default_subsystem_id). */
    public static final int SUBSYSTEM_VENDOR_ID = 0x1af4;
    public static final int SUBSYSTEM_ID = 0x1100;
    public static final int CLASS_ETHERNET = 0x020000;
    public static final int MMIO_SIZE = 0x20000;
    public static final int IO_SIZE = 0x40;
    /** The option ROM QEMU's e1000 loads; {@code OptionRomFinder} finds it in Debian's ipxe-qemu. */
    public static final String ROM_FILE = "efi-e1000.rom";
    /** How long autonegotiation takes after software restarts it (QEMU's autoneg_timer). */
    public static final long AUTONEGOTIATION_MILLIS = 500;

    private static final System.Logger LOG = System.getLogger(E1000.class.getName());
    private static final int CACHE_LINE_SIZE = 0x10;
    private static final int IOADDR = 0x0;
    private static final int IODATA = 0x4;
    private static final int IOADDR_MASK = MMIO_SIZE - 4;
    /** QEMU's power-on CTRL and MANC (mac_reg_init). */
    private static final int CTRL_POWER_ON = CTRL_SWDPIN2 | CTRL_SWDPIN0 | CTRL_SPD_1000 | CTRL_SLU;
    private static final int MANC_POWER_ON = 0x00222300;
    private static final int PBA_POWER_ON = 0x00100030;
    private static final int LEDCTL_POWER_ON = 0x0602;
    private static final int VLAN_TPID = 0x8100;

    /**
     * Per register (by dword), the bits software can write to the plain registers; non-zero also marks every
     * register the 82540EM has, so reads of the rest return 0. Registers with side effects are handled before.
     */
    private static final int[] WRITABLE = new int[MMIO_SIZE / 4];

    static {
        for (int reg : new int[] {CTRL, CTRL_EXT, FCAL, TXCW, RCTL, TCTL, LEDCTL, RDBAH, RXDCTL, TDBAH, TXDCTL,
                WUC, WUFC, WUS, MANC, IPAV, EERD, MDIC}) {
            writable(reg, 1, 0, -1);
        }
        for (int reg : new int[] {FCAH, FCT, VET, FCTTV, ITR, AIT, PBA, RDH, RDT, RDTR, RADV, TDH, TDT, TIDV, TADV}) {
            writable(reg, 1, 0, 0xffff);
        }
        writable(TIPG, 1, 0, 0x3fff_ffff);
        writable(FCRTL, 1, 0, 0x8000_fff8);
        writable(FCRTH, 1, 0, 0xfff8);
        for (int reg : new int[] {RDFH, RDFT, RDFHS, RDFTS, RDFPC, TDFHS, TDFTS, TDFPC}) {
            writable(reg, 1, 0, 0x1fff);
        }
        writable(TDFH, 1, 0, 0x7ff);
        writable(TDFT, 1, 0, 0x7ff);
        writable(RDBAL, 1, 0, 0xffff_fff0);
        writable(TDBAL, 1, 0, 0xffff_fff0);
        writable(RDLEN, 1, 0, 0xfff80);
        writable(TDLEN, 1, 0, 0xfff80);
        writable(RSRPD, 1, 0, 0xfff);
        writable(RXCSUM, 1, 0, 0x3ff);
        writable(MTA, MTA_COUNT, 4, -1);
        writable(VFTA, VFTA_COUNT, 4, -1);
        writable(RA, RA_COUNT, 8, -1);
        writable(RA + 4, RA_COUNT, 8, RAH_AV | RAH_AS_MASK | 0xffff);
        writable(IP4AT, 4, 8, -1);
        writable(IP6AT, 4, 4, -1);
        writable(WUPL, 1, 0, 0xfff);
        writable(WUPM, 32, 4, -1);
        writable(FFLT, 4, 8, 0x7ff);
        writable(FFMT, 128, 8, 0xf);
        writable(FFVT, 128, 8, 0xff);
        writable(PBM, (MMIO_SIZE - PBM) / 4, 4, -1);
    }

    private static void writable(int first, int count, int stride, int mask) {
        for (int i = 0; i < count; i++) {
            WRITABLE[(first + i * stride) >> 2] = mask;
        }
    }

    private final int[] regs = new int[MMIO_SIZE / 4];
    private final byte[] mac;
    private final DeviceClock clock;
    private final long autonegotiationNanos;
    private final Runnable autonegotiationDone = this::autonegotiationDone;
    private final Eeprom eeprom;
    private final Phy phy;
    private final Statistics stats = new Statistics(regs);
    private final Interrupts interrupts;
    private final Transmitter transmitter;
    private final Receiver receiver;

    private boolean carrier = true;
    private boolean macLinkUp;
    private DeviceClock.Timer autonegotiation;
    private int ioAddress;
    private long dmaErrors;

    /**
     * An 82540EM with MAC address {@code mac} (six bytes, unicast, not zero) whose frames go through
     * {@code backend}, connected here with {@code loop} as its executor; {@code rom}, if present, is served
     * through the ROM BAR. DMA goes to {@code memory}. Call on the device loop, or before it runs.
     */
    public <L extends DeviceClock & Executor> E1000(L loop, GuestMemory memory, NetBackend backend, byte[] mac,
            Optional<OptionRom> rom) {
        this(loop, memory, backend, mac, rom, AUTONEGOTIATION_MILLIS * 1_000_000);
    }

    /** As above, with autonegotiation taking {@code autonegotiationNanos}: tests need not wait half a second. */
    <L extends DeviceClock & Executor> E1000(L loop, GuestMemory memory, NetBackend backend, byte[] mac,
            Optional<OptionRom> rom, long autonegotiationNanos) {
        super("e1000", VENDOR_ID, DEVICE_ID, CLASS_ETHERNET, REVISION);
        if (mac.length != 6 || (mac[0] & 1) != 0 || Arrays.equals(mac, new byte[6])) {
            throw new IllegalArgumentException("e1000: the MAC address must be six bytes, unicast and not zero");
        }
        this.mac = mac.clone();
        this.clock = loop;
        this.autonegotiationNanos = autonegotiationNanos;
        setSubsystem(SUBSYSTEM_VENDOR_ID, SUBSYSTEM_ID);
        config[PciRegs.CACHE_LINE_SIZE] = CACHE_LINE_SIZE;
        setInterruptPin(1);
        defineBar(0, PciBar.memory32(MMIO_SIZE, false, new MemoryWindow(), "mmio"));
        defineBar(1, PciBar.io(IO_SIZE, new IoWindow(), "io"));
        rom.ifPresent(this::defineRom);
        eeprom = new Eeprom(this.mac, DEVICE_ID);
        phy = new Phy(this::autonegotiationRestarted);
        interrupts = new Interrupts(regs, loop, this::setInterruptRequest);
        transmitter = new Transmitter(this, regs, memory, backend, interrupts, stats);
        receiver = new Receiver(this, regs, memory, backend, interrupts, stats);
        resetMac();
        backend.connect(loop, new Port());
    }

    public byte[] macAddress() {
        return mac.clone();
    }

    /** STATUS.LU: the PHY has link and CTRL.SLU lets the MAC use it. */
    public boolean linkUp() {
        return macLinkUp;
    }

    /**
     * The cable, as QMP's {@code set_link} or a backend's carrier sets it. Down drops the link at once; up runs
     * autonegotiation again (if enabled) and the link follows when it completes. Each change of STATUS.LU
     * raises LSC.
     */
    public void setLinkUp(boolean up) {
        carrier = up;
        if (!up) {
            cancelAutonegotiation();
            phy.linkDown();
            updateLink();
        } else if (!phy.autonegotiationEnabled()) {
            phy.linkUp(false);
            updateLink();
        } else if (!phy.autonegotiationComplete()) {
            autonegotiationRestarted();
        }
    }

    /** DMA the guest pointed outside its RAM (descriptor rings or buffers): counted, never thrown. */
    public long dmaErrors() {
        return dmaErrors;
    }

    // ------------------------------------------------------------------ for the transmit and receive units

    boolean busMasterEnabled() {
        return (get16(PciRegs.COMMAND) & PciRegs.COMMAND_MASTER) != 0;
    }

    /** Frames can reach the MAC: the function is plugged in and has link. */
    boolean receiverConnected() {
        return macLinkUp && isPlugged();
    }

    void dmaFault(String what, GuestMemoryException e) {
        dmaErrors++;
        LOG.log(dmaErrors == 1 ? Level.WARNING : Level.DEBUG, name + ": " + what + ": " + e.getMessage());
    }

    // ------------------------------------------------------------------ PCI

    @Override
    protected void configWritten(int reg, int size, long value) {
        if (reg <= PciRegs.COMMAND && reg + size > PciRegs.COMMAND && busMasterEnabled()) {
            // What waited for bus mastering can go now.
            transmitter.transmit();
            receiver.resumeIfReady();
        }
    }

    /** Power-on: the PHY and EEPROM interface as well as the MAC. */
    @Override
    protected void resetDevice() {
        cancelAutonegotiation();
        phy.reset();
        if (!carrier) {
            phy.linkDown();
        }
        ioAddress = 0;
        resetMac();
    }

    /** CTRL.RST (13.4.1): every MAC register to its initial value, receive address 0 from the EEPROM. */
    private void resetMac() {
        interrupts.reset();
        transmitter.reset();
        receiver.reset();
        eeprom.reset();
        Arrays.fill(regs, 0);
        regs[CTRL >> 2] = CTRL_POWER_ON;
        regs[PBA >> 2] = PBA_POWER_ON;
        regs[LEDCTL >> 2] = LEDCTL_POWER_ON;
        regs[MANC >> 2] = MANC_POWER_ON;
        regs[VET >> 2] = VLAN_TPID;
        regs[RA >> 2] = eeprom.word(0) | eeprom.word(1) << 16;
        regs[(RA >> 2) + 1] = eeprom.word(2) | RAH_AV;
        macLinkUp = macLink();
    }

    // ------------------------------------------------------------------ link

    private void autonegotiationRestarted() {
        phy.linkDown();
        updateLink();
        cancelAutonegotiation();
        autonegotiation = clock.schedule(autonegotiationNanos, autonegotiationDone);
    }

    private void autonegotiationDone() {
        autonegotiation = null;
        if (carrier) {
            phy.linkUp(true);
            updateLink();
        }
    }

    private void cancelAutonegotiation() {
        if (autonegotiation != null) {
            autonegotiation.cancel();
            autonegotiation = null;
        }
    }

    private boolean macLink() {
        return phy.linkUp() && (regs[CTRL >> 2] & CTRL_SLU) != 0;
    }

    private void updateLink() {
        boolean up = macLink();
        if (up != macLinkUp) {
            macLinkUp = up;
            interrupts.raise(ICR_LSC);
            receiver.resumeIfReady();
        }
    }

    // ------------------------------------------------------------------ registers

    private int readRegister(int offset) {
        switch (offset) {
            case STATUS:
                return STATUS_FD | STATUS_SPEED_1000 | STATUS_ASDV_1000 | (macLinkUp ? STATUS_LU : 0);
            case EECD:
                return eeprom.readEecd();
            case ICR:
                return interrupts.readAndClear();
            case ICS:
                // Write-only in the SDM, but reads as ICR on real parts (QEMU: the VxWorks driver relies on it).
                return interrupts.cause();
            case IMS:
                return interrupts.mask();
            default:
                if (Statistics.isStatistic(offset)) {
                    return stats.read(offset);
                }
                return WRITABLE[offset >> 2] != 0 ? regs[offset >> 2] : 0;
        }
    }

    /** What the bytes a narrow write leaves alone hold: commands (ICR, ICS, IMS, IMC) have none. */
    private int storedRegister(int offset) {
        switch (offset) {
            case ICR, ICS, IMS, IMC:
                return 0;
            case EECD:
                return eeprom.readEecd();
            default:
                return WRITABLE[offset >> 2] != 0 ? regs[offset >> 2] : 0;
        }
    }

    private void writeRegister(int offset, int value) {
        switch (offset) {
            case CTRL:
                if ((value & CTRL_RST) != 0) {
                    resetMac();
                } else {
                    regs[CTRL >> 2] = value;
                    updateLink();
                }
                return;
            case EECD:
                eeprom.writeEecd(value);
                return;
            case EERD:
                regs[EERD >> 2] = eeprom.eerd(value);
                return;
            case MDIC:
                regs[MDIC >> 2] = phy.mdic(value);
                if ((value & MDIC_INT_EN) != 0) {
                    interrupts.raise(ICR_MDAC);
                }
                return;
            case ICR:
                interrupts.acknowledge(value);
                return;
            case ICS:
                interrupts.raise(value);
                return;
            case IMS:
                interrupts.enable(value);
                return;
            case IMC:
                interrupts.disable(value);
                return;
            case RDTR:
                regs[RDTR >> 2] = value & 0xffff;
                if ((value & RDTR_FPD) != 0) {
                    interrupts.flushReceiveDelay();
                }
                return;
            default:
                break;
        }
        int mask = WRITABLE[offset >> 2];
        if (mask == 0) {
            return;
        }
        regs[offset >> 2] = (regs[offset >> 2] & ~mask) | (value & mask);
        switch (offset) {
            case TCTL:
                if ((value & TCTL_EN) == 0) {
                    transmitter.abandon();
                }
                transmitter.transmit();
                break;
            case TDT:
                transmitter.transmit();
                break;
            case TDBAL, TDBAH, TDLEN, TDH:
                transmitter.abandon();
                break;
            case RCTL, RDBAL, RDBAH, RDLEN, RDH, RDT:
                receiver.resumeIfReady();
                break;
            default:
                break;
        }
    }

    // ------------------------------------------------------------------ the BARs

    /**
     * A window of 32-bit registers: aligned dword accesses go straight through; narrower or unaligned ones (and
     * 64-bit ones) become accesses to each dword they touch, a narrow write keeping the other bytes.
     */
    private abstract static class DwordWindow implements BusDevice {
        abstract int read(int offset);

        abstract int stored(int offset);

        abstract void write(int offset, int value);

        @Override
        public long read(long offset, int size) {
            int at = (int) offset;
            if (size == 4 && (at & 3) == 0) {
                return read(at) & 0xffff_ffffL;
            }
            long result = 0;
            for (int done = 0; done < size; ) {
                int shift = (at + done) & 3;
                int n = Math.min(4 - shift, size - done);
                long dword = read((at + done) & ~3) & 0xffff_ffffL;
                result |= (dword >>> (8 * shift) & ByteValues.mask(n)) << (8 * done);
                done += n;
            }
            return result;
        }

        @Override
        public void write(long offset, int size, long value) {
            int at = (int) offset;
            if (size == 4 && (at & 3) == 0) {
                write(at, (int) value);
                return;
            }
            for (int done = 0; done < size; ) {
                int aligned = (at + done) & ~3;
                int shift = (at + done) & 3;
                int n = Math.min(4 - shift, size - done);
                long lanes = ByteValues.mask(n) << (8 * shift);
                long part = (value >>> (8 * done) & ByteValues.mask(n)) << (8 * shift);
                write(aligned, (int) ((stored(aligned) & ~lanes) | part));
                done += n;
            }
        }
    }

    /** BAR0: the register file. */
    private final class MemoryWindow extends DwordWindow {
        @Override
        int read(int offset) {
            return readRegister(offset);
        }

        @Override
        int stored(int offset) {
            return storedRegister(offset);
        }

        @Override
        void write(int offset, int value) {
            writeRegister(offset, value);
        }
    }

    /** BAR1: IOADDR selects a register, IODATA reads or writes it; the rest of the 64 bytes is reserved. */
    private final class IoWindow extends DwordWindow {
        @Override
        int read(int offset) {
            switch (offset) {
                case IOADDR:
                    return ioAddress;
                case IODATA:
                    return readRegister(ioAddress);
                default:
                    return 0;
            }
        }

        @Override
        int stored(int offset) {
            switch (offset) {
                case IOADDR:
                    return ioAddress;
                case IODATA:
                    return storedRegister(ioAddress);
                default:
                    return 0;
            }
        }

        @Override
        void write(int offset, int value) {
            switch (offset) {
                case IOADDR:
                    ioAddress = value & IOADDR_MASK;
                    break;
                case IODATA:
                    writeRegister(ioAddress, value);
                    break;
                default:
                    break;
            }
        }
    }

    /** The backend's side of the NIC. */
    private final class Port implements NetBackend.Frontend {
        @Override
        public boolean receive(ByteBuffer frame) {
            return receiver.receive(frame);
        }

        @Override
        public void writable() {
            transmitter.resume();
        }
    }
}
