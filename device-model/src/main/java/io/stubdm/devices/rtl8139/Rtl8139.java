package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.rtl8139.Checksums.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.backends.net.NetStats;
import io.stubdm.devices.pci.PciBar;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.firmware.OptionRom;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.GuestMemoryException;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.DeviceClock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.zip.CRC32;

/**
 * Realtek RTL8139C+ (10EC:8139 rev 0x20), libxl's default emulated NIC, as QEMU presents it: BAR0 (I/O, 256
 * bytes) and BAR1 (memory, 256 bytes) decode the same registers. Two ways to drive it:
 * <ul>
 * <li>C mode, the original 8139's, as Linux's 8139too and FreeBSD's rl(4) drive the older chips: a receive ring
 * buffer at RBSTART into which each frame goes with a 4-byte header and its CRC, read up to CAPR; four transmit
 * buffers (TSAD0-3) started by writing their sizes to TSD0-3.</li>
 * <li>C+ mode, as FreeBSD's re(4) (and Linux's 8139cp) use this revision: 16-byte descriptors in rings at
 * TNPDS/THPDS (transmit, started through TPPoll) and RDSAR (receive), with checksum offload, VLAN tag insertion
 * and stripping and large send.</li>
 * </ul>
 * The station address comes from a 93C46 EEPROM the driver bit-bangs through 9346CR; the PHY is always linked at
 * 100 Mb/s full duplex after autonegotiation. The interrupt line is high while ISR & IMR is non-zero.
 *
 * <p>A received frame the guest has no room for (ring full, no descriptor owned by the NIC) is not dropped: the
 * NIC refuses it and the backend holds it until the guest makes room, which the NIC notices on
 * the guest's next register write (C+ mode also looks every millisecond, as a driver may refill descriptors
 * without one). Frames the NIC does drop (receiver off, address filter, oversize, DMA to non-RAM) are counted
 * in the backend's {@link NetStats} by cause. Everything runs on the device loop.
 */
public final class Rtl8139 extends PciFunction {
    public static final int VENDOR_REALTEK = 0x10ec;
    public static final int DEVICE_8139 = 0x8139;
    /** QEMU's "≥ 0x20 is for 8139C+": FreeBSD gives revision 0x20 to re(4), anything else to rl(4). */
    public static final int REVISION_8139CPLUS = 0x20;
    /** QEMU gives every device without subsystem IDs of its own Red Hat's QEMU subsystem. */
    public static final int SUBSYSTEM_VENDOR = 0x1af4;
    public static final int SUBSYSTEM = 0x1100;
    private static final int CLASS_ETHERNET = 0x020000;
    private static final int WINDOW_BYTES = 256;
    private static final int CRC_BYTES = 4;
    private static final int MIN_FRAME = 60;
    /** Longer frames (with CRC) are giants the 8139C+ does not receive (RL_RDESC_STAT_GIANT). */
    private static final int MAX_RX_FRAME = 4096;
    private static final int RX_HEADER = 4;
    private static final int RING_8K = 8192;
    /** The C-mode ring that cannot overflow past its end, whatever RCR.WRAP says. */
    private static final int RING_64K = 65536;
    /** Offset between CAPR and the read pointer, a hardware quirk every driver compensates for. */
    private static final int CAPR_BIAS = 16;
    /** TCTR counts the PCI clock. */
    private static final long PCI_CLOCK_HZ = 33_000_000L;
    /** How often a frame held for want of C+ descriptors looks again, for drivers that refill silently. */
    private static final long RX_RETRY_NANOS = 1_000_000L;
    private static final int CSCR_VALUE = 0x0340;
    private static final int TALLY_BYTES = 64;
    private static final int NORMAL = 0;
    private static final int HIGH = 1;
    /** HLTCLK values. */
    private static final int CLOCK_RUN = 'R';
    private static final int CLOCK_HALT = 'H';
    /** Config register bits the driver may change (the rest are read-only or reserved). */
    private static final int CONFIG0_WRITABLE = 0x07;
    private static final int CONFIG1_WRITABLE = 0xf3;
    private static final int CONFIG3_WRITABLE = 0x70;
    private static final int CONFIG4_WRITABLE = 0xf5;
    private static final int CONFIG5_WRITABLE = 0x7f;
    /** Config1: I/O and memory mapping available. */
    private static final int CONFIG1_DEFAULT = 0x0c;
    /** Config3: fast back-to-back capable. */
    private static final int CONFIG3_DEFAULT = 0x01;
    /** TSD bits only the NIC sets: TOK, TUN and the collision/abort status byte. */
    private static final int TSD_NIC_BITS = 0xff00c000;
    /** TSD bits 22-23 are reserved and keep their value. */
    private static final int TSD_RESERVED = 0x00c00000;
    /** 9346CR bits the driver cannot write: EEDO and two reserved bits. */
    private static final int CR9346_READ_ONLY = 0x31;
    private static final int ETHER_CRC32_POLY = 0x04c11db7;

    /** Outcomes of putting a frame into guest memory. */
    private static final int DELIVERED = 0;
    private static final int NO_ROOM = 1;
    private static final int DROPPED = 2;

    private final GuestMemory dma;
    private final DeviceClock clock;
    private final NetBackend backend;
    private final NetStats stats;
    private final Eeprom93c46 eeprom;
    private final TxOffload offload = new TxOffload(this::emit);
    private final CRC32 crc = new CRC32();
    private final ByteBuffer descriptor = ByteBuffer.allocate(DESC_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer tallyDump = ByteBuffer.allocate(TALLY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    // Frames are staged in arrays allocated once; the buffers over them carry them to and from guest memory.
    private final byte[] rxFrame = new byte[MAX_RX_FRAME];
    private final ByteBuffer rxFrameBuffer = ByteBuffer.wrap(rxFrame);
    private final ByteBuffer rxHeader = ByteBuffer.allocate(RX_HEADER).order(ByteOrder.LITTLE_ENDIAN);
    private final byte[] txFrame = new byte[TxOffload.MAX_FRAME];
    private final ByteBuffer txFrameBuffer = ByteBuffer.wrap(txFrame);
    private final Runnable retryHeldFrame = this::retryHeldFrame;
    private final Runnable timerExpired = this::timerExpired;
    private final long[] fragmentDescriptor = new long[RING_MAX];
    private final long[] fragmentBuffer = new long[RING_MAX];
    private final int[] fragmentCommand = new int[RING_MAX];
    private final int[] fragmentFill = new int[RING_MAX];

    // ---------------------------------------------------------------- registers
    private final byte[] idr = new byte[6];
    private final byte[] mar = new byte[8];
    /** TSD0-3; in C+ mode TSD0/TSD1 are DTCCR. */
    private final int[] tsd = new int[4];
    /** TSAD0-3; in C+ mode TNPDS (0, 1) and THPDS (2, 3). */
    private final int[] tsad = new int[4];
    private int rbstart;
    private int cr;
    private int imr;
    private int isr;
    private int tcr;
    private int rcr;
    private int cr9346;
    private int config0;
    private int config1;
    private int config3;
    private int config4;
    private int config5;
    private boolean clockRunning;
    private int mulint;
    private int anar;
    private int cpcr;
    private int rdsarLow;
    private int rdsarHigh;
    private int etthr;
    private int timerInt;
    private long tctrBase;
    private DeviceClock.Timer tctrTimer;

    // ---------------------------------------------------------------- engines
    private int rxRingSize;
    /** Where the driver has read up to (CAPR + 16), and where the next frame goes (CBR). */
    private int rxRead;
    private int rxWrite;
    private int txClassicIndex;
    private int rxIndex;
    private final int[] txIndex = new int[2];
    /** TPPoll requests (HPQ, NPQ) not yet served because the backend pushed back. */
    private int txPoll;
    private int txFrameLength;
    private boolean txFrameTooLong;
    /** The backend refused a frame; nothing more is sent until it calls writable(). */
    private boolean txBlocked;
    /** The backend holds a frame this NIC had no room for. */
    private boolean rxHeld;
    /** Ring bytes the held frame needs (C mode). */
    private int rxHeldNeed;
    private DeviceClock.Timer rxRetry;
    private long rxHolds;

    // ---------------------------------------------------------------- tally counters (§9.2.4)
    private long tallyTxOk;
    private long tallyRxOk;
    private long tallyTxErr;
    private int tallyRxErr;
    private long tallyRxPhysical;
    private long tallyRxBroadcast;
    private int tallyRxMulticast;
    private int tallyTxAbort;

    /**
     * An RTL8139C+ with station address {@code mac} (six bytes, unicast) whose frames go through {@code backend},
     * connected here with {@code loop} as its executor; {@code rom}, if present (QEMU's efi-rtl8139.rom), is served
     * through the ROM BAR. DMA goes to {@code memory}, timers run on {@code loop}. Call on the device loop, or
     * before it runs.
     */
    public <L extends DeviceClock & Executor> Rtl8139(L loop, GuestMemory memory, NetBackend backend, byte[] mac,
            Optional<OptionRom> rom) {
        super("rtl8139", VENDOR_REALTEK, DEVICE_8139, CLASS_ETHERNET, REVISION_8139CPLUS);
        if (mac.length != 6 || (mac[0] & 1) != 0) {
            throw new IllegalArgumentException("rtl8139: the MAC address must be six bytes and unicast");
        }
        this.dma = memory;
        this.clock = loop;
        this.backend = backend;
        this.stats = backend.stats();
        this.eeprom = new Eeprom93c46(VENDOR_REALTEK, DEVICE_8139, SUBSYSTEM_VENDOR, SUBSYSTEM, mac);
        setSubsystem(SUBSYSTEM_VENDOR, SUBSYSTEM);
        setInterruptPin(1);
        BusDevice window = new Window();
        defineBar(0, PciBar.io(WINDOW_BYTES, window, "registers (I/O)"));
        defineBar(1, PciBar.memory32(WINDOW_BYTES, false, window, "registers (memory)"));
        rom.ifPresent(this::defineRom);
        powerOn();
        backend.connect(loop, new Port());
    }

    /** The station address the driver has programmed into IDR0-5. */
    public byte[] stationAddress() {
        return idr.clone();
    }

    /** How many times a received frame had to wait because the guest had no room for it. */
    public long receiveHolds() {
        return rxHolds;
    }

    @Override
    protected void resetDevice() {
        powerOn();
        resumeHeldFrame();
    }

    // ---------------------------------------------------------------- reset

    /** Power-on and auto-load (§6.14): the EEPROM's contents and every register's default. */
    private void powerOn() {
        eeprom.reset();
        System.arraycopy(eeprom.mac(), 0, idr, 0, idr.length);
        Arrays.fill(mar, (byte) 0);
        cr9346 = 0;
        config0 = 0;
        config1 = CONFIG1_DEFAULT;
        config3 = CONFIG3_DEFAULT;
        config4 = 0;
        config5 = 0;
        clockRunning = true;
        mulint = 0;
        anar = ANAR_ALL;
        etthr = 0;
        Arrays.fill(tsad, 0);
        softwareReset();
    }

    /**
     * CR.RST (§6.9): transmitter and receiver off, buffer pointers back to the start, every TSD owned by the
     * host, C+ mode off. IDR and MAR keep their values, as the datasheet says (QEMU resets IDR, which re(4) and
     * 8139too rewrite anyway).
     */
    private void softwareReset() {
        cr = 0;
        imr = 0;
        isr = 0;
        Arrays.fill(tsd, TSD_OWN);
        txClassicIndex = 0;
        rbstart = 0;
        rcr = 0;
        rxRingSize = RING_8K;
        rxRead = 0;
        rxWrite = 0;
        tcr = TCR_HWVERID_8139CPLUS;
        cpcr = 0;
        rdsarLow = 0;
        rdsarHigh = 0;
        rxIndex = 0;
        txIndex[NORMAL] = 0;
        txIndex[HIGH] = 0;
        txPoll = 0;
        txFrameLength = 0;
        txFrameTooLong = false;
        txBlocked = false;
        if (offload.discard()) {
            stats.drop("tx-reset");
        }
        timerInt = 0;
        tctrBase = clock.nanoTime();
        if (tctrTimer != null) {
            tctrTimer.cancel();
            tctrTimer = null;
        }
        tallyTxOk = 0;
        tallyRxOk = 0;
        tallyTxErr = 0;
        tallyRxErr = 0;
        tallyRxPhysical = 0;
        tallyRxBroadcast = 0;
        tallyRxMulticast = 0;
        tallyTxAbort = 0;
        updateInterrupt();
    }

    // ---------------------------------------------------------------- interrupts

    private void updateInterrupt() {
        setInterruptRequest((isr & imr) != 0);
    }

    private void raise(int bits) {
        isr |= bits;
        updateInterrupt();
    }

    /** A DMA hit something that is not RAM: on PCI, a master abort, which the 8139 reports as SERR. */
    private void systemError() {
        raise(INT_SERR);
    }

    private boolean busMaster() {
        return (get16(PciRegs.COMMAND) & PciRegs.COMMAND_MASTER) != 0;
    }

    private boolean cPlusMode() {
        return (cpcr & (CPCR_TX_ENB | CPCR_RX_ENB)) != 0;
    }

    // ---------------------------------------------------------------- register window

    /** Both BARs: offsets are register addresses; sizes 1, 2, 4 (and 8, as two dwords). */
    private final class Window implements BusDevice {
        @Override
        public long read(long offset, int size) {
            int a = (int) offset & 0xff;
            switch (size) {
                case 1:
                    return readByte(a);
                case 2:
                    return readWord(a);
                case 4:
                    return readDword(a) & 0xffffffffL;
                default:
                    return (readDword(a) & 0xffffffffL) | (long) readDword((a + 4) & 0xff) << 32;
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            writeRegister((int) offset & 0xff, size, value);
            resumeHeldFrame();
        }
    }

    private int readByte(int a) {
        if (a < 6) {
            return idr[a] & 0xff;
        }
        if (a >= MAR0 && a < MAR0 + 8) {
            return mar[a - MAR0] & 0xff;
        }
        switch (a) {
            case CR:
                return cr | (rxRead == rxWrite ? CR_BUFE : 0);
            case CR9346:
                return (cr9346 & ~CR9346_EEDO)
                        | ((cr9346 & CR9346_EEM) == CR9346_PROGRAM && eeprom.dataOut() ? CR9346_EEDO : 0);
            case CONFIG0:
                return config0;
            case CONFIG1:
                return config1;
            case CONFIG3:
                return config3;
            case CONFIG4:
                return config4;
            case CONFIG5:
                return config5;
            case MSR:
                return MSR_LINKED;
            case HLTCLK:
                return clockRunning ? 1 : 0;
            case RERID:
                return REVISION_8139CPLUS;
            case ETTHR:
                return etthr;
            case ERSR:
                return 0;
            default:
                break;
        }
        int word = readWordRegister(a & ~1);
        if (word >= 0) {
            return word >> (a & 1) * 8 & 0xff;
        }
        long dword = readDwordRegister(a & ~3);
        if (dword >= 0) {
            return (int) (dword >> (a & 3) * 8) & 0xff;
        }
        return 0;
    }

    private int readWord(int a) {
        int word = (a & 1) == 0 ? readWordRegister(a) : -1;
        return word >= 0 ? word : readByte(a) | readByte((a + 1) & 0xff) << 8;
    }

    private int readDword(int a) {
        long dword = (a & 3) == 0 ? readDwordRegister(a) : -1;
        return dword >= 0 ? (int) dword : readWord(a) | readWord((a + 2) & 0xff) << 16;
    }

    /** The 16-bit register at {@code a}, or -1 if there is none. */
    private int readWordRegister(int a) {
        switch (a) {
            case CAPR:
                return (rxRead - CAPR_BIAS) & 0xffff;
            case CBR:
                return rxWrite & 0xffff;
            case IMR:
                return imr;
            case ISR:
                return isr;
            case MULINT:
                return mulint;
            case TSAD:
                return transmitSummary();
            case BMCR:
                return BMCR_ANE;
            case BMSR:
                return BMSR_LINKED;
            case ANAR:
                return anar;
            case ANLPAR:
                return ANAR_ALL;
            case ANER:
                return ANER_NWAY;
            case CSCR:
                return CSCR_VALUE;
            case CPCR:
                return cpcr;
            case ERBCR:
            case DIS:
            case FCSC:
            case NWAYTR:
            case REC:
                // Early receive is never used; the PHY never sees a disconnect, false carrier or symbol error.
                return 0;
            default:
                return -1;
        }
    }

    /** The 32-bit register at {@code a}, or -1 if there is none. */
    private long readDwordRegister(int a) {
        if (a >= TSD0 && a < TSD0 + 16) {
            return tsd[(a - TSD0) / 4] & 0xffffffffL;
        }
        if (a >= TSAD0 && a < TSAD0 + 16) {
            return tsad[(a - TSAD0) / 4] & 0xffffffffL;
        }
        switch (a) {
            case RBSTART:
                return rbstart & 0xffffffffL;
            case TCR:
                return tcr & 0xffffffffL;
            case RCR:
                return rcr & 0xffffffffL;
            case TCTR:
                return timerTicks() & 0xffffffffL;
            case TIMER_INT:
                return timerInt & 0xffffffffL;
            case RDSAR:
                return rdsarLow & 0xffffffffL;
            case RDSAR + 4:
                return rdsarHigh & 0xffffffffL;
            default:
                return -1;
        }
    }

    /** TSAD (§6.18): TOK, TUN, TABT and OWN of the four C-mode descriptors side by side. */
    private int transmitSummary() {
        int s = 0;
        for (int i = 0; i < 4; i++) {
            int t = tsd[i];
            s |= ((t & TSD_TOK) != 0 ? 1 << 12 + i : 0) | ((t & TSD_TUN) != 0 ? 1 << 8 + i : 0)
                    | ((t & TSD_TABT) != 0 ? 1 << 4 + i : 0) | ((t & TSD_OWN) != 0 ? 1 << i : 0);
        }
        return s;
    }

    /**
     * Writes go to the register of their width at their address; a write that matches none is split into
     * halves (as byte enables would split it) down to bytes, and a byte no register takes is ignored.
     */
    private void writeRegister(int a, int size, long value) {
        switch (size) {
            case 1:
                writeByte(a, (int) value & 0xff);
                break;
            case 2:
                if ((a & 1) != 0 || !writeWordRegister(a, (int) value & 0xffff)) {
                    writeByte(a, (int) value & 0xff);
                    writeByte((a + 1) & 0xff, (int) value >> 8 & 0xff);
                }
                break;
            case 4:
                if ((a & 3) != 0 || !writeDwordRegister(a, (int) value)) {
                    writeRegister(a, 2, value & 0xffff);
                    writeRegister((a + 2) & 0xff, 2, value >>> 16 & 0xffff);
                }
                break;
            default:
                writeRegister(a, 4, value & 0xffffffffL);
                writeRegister((a + 4) & 0xff, 4, value >>> 32);
                break;
        }
    }

    private void writeByte(int a, int v) {
        if (a < 6) {
            // The datasheet wants 9346CR in config-write mode first; QEMU does not, and neither does this.
            idr[a] = (byte) v;
            return;
        }
        if (a >= MAR0 && a < MAR0 + 8) {
            mar[a - MAR0] = (byte) v;
            return;
        }
        switch (a) {
            case CR:
                writeCommand(v);
                break;
            case CR9346:
                write9346(v);
                break;
            case CONFIG0:
                config0 = writeConfig(config0, v, CONFIG0_WRITABLE);
                break;
            case CONFIG1:
                config1 = writeConfig(config1, v, CONFIG1_WRITABLE);
                break;
            case CONFIG3:
                config3 = writeConfig(config3, v, CONFIG3_WRITABLE);
                break;
            case CONFIG4:
                config4 = writeConfig(config4, v, CONFIG4_WRITABLE);
                break;
            case CONFIG5:
                // Config5 is not behind the 9346CR lock (QEMU).
                config5 = (config5 & ~CONFIG5_WRITABLE) | (v & CONFIG5_WRITABLE);
                break;
            case HLTCLK:
                if (v == CLOCK_RUN) {
                    clockRunning = true;
                } else if (v == CLOCK_HALT) {
                    clockRunning = false;
                }
                break;
            case TPPOLL:
                writeTxPoll(v);
                break;
            case ETTHR:
                etthr = v;
                break;
            case TCR:
                // Windows' driver writes TCR's low byte alone (QEMU).
                writeTransmitConfig((tcr & ~0xff) | v);
                break;
            default:
                break;
        }
    }

    private boolean writeWordRegister(int a, int v) {
        switch (a) {
            case IMR:
                imr = v & ~INT_RESERVED;
                updateInterrupt();
                return true;
            case ISR:
                isr &= ~v;
                updateInterrupt();
                return true;
            case CAPR:
                rxRead = (v + CAPR_BIAS) & (rxRingSize - 1);
                return true;
            case MULINT:
                mulint = v & 0x0fff;
                return true;
            case BMCR:
                // Speed, duplex and autonegotiation are fixed; reset and restart complete at once.
                if ((v & BMCR_RESET) != 0) {
                    anar = ANAR_ALL;
                }
                return true;
            case ANAR:
                anar = v;
                return true;
            case CPCR:
                cpcr = v & CPCR_WRITABLE;
                return true;
            case CBR:
            case TSAD:
            case BMSR:
            case ANLPAR:
            case ANER:
            case CSCR:
                return true;
            default:
                return false;
        }
    }

    private boolean writeDwordRegister(int a, int v) {
        if (a >= TSD0 && a < TSD0 + 16) {
            writeTransmitStatus((a - TSD0) / 4, v);
            return true;
        }
        if (a >= TSAD0 && a < TSAD0 + 16) {
            tsad[(a - TSAD0) / 4] = v;
            return true;
        }
        switch (a) {
            case RBSTART:
                rbstart = v;
                return true;
            case TCR:
                writeTransmitConfig(v);
                return true;
            case RCR:
                writeReceiveConfig(v);
                return true;
            case TCTR:
                tctrBase = clock.nanoTime();
                scheduleTimer();
                return true;
            case MPC:
                // Frames are held, never missed, so the counter stays 0; the write that clears it is harmless.
                return true;
            case TIMER_INT:
                timerInt = v;
                scheduleTimer();
                return true;
            case RDSAR:
                rdsarLow = v;
                return true;
            case RDSAR + 4:
                rdsarHigh = v;
                return true;
            default:
                return false;
        }
    }

    private void writeCommand(int v) {
        if ((v & CR_RST) != 0) {
            softwareReset();
        }
        int enabling = v & ~cr;
        cr = v & (CR_RE | CR_TE);
        // The C+ engines start at the first descriptor of their rings whenever they are switched on (QEMU).
        if ((enabling & CR_RE) != 0) {
            rxIndex = 0;
        }
        if ((enabling & CR_TE) != 0) {
            txIndex[NORMAL] = 0;
            txIndex[HIGH] = 0;
        }
    }

    private void write9346(int value) {
        int v = (value & ~CR9346_READ_ONLY) | (cr9346 & CR9346_READ_ONLY);
        int mode = v & CR9346_EEM;
        if (mode == CR9346_AUTOLOAD) {
            // Auto-load reloads the EEPROM's contents like a power-on, then drops back to normal mode.
            powerOn();
            return;
        }
        cr9346 = v;
        if (mode == CR9346_PROGRAM) {
            eeprom.setWires((v & CR9346_EECS) != 0, (v & CR9346_EESK) != 0, (v & CR9346_EEDI) != 0);
        } else {
            // Outside programming mode the NIC, not the driver, drives the pins: the EEPROM is deselected.
            eeprom.setWires(false, false, false);
        }
    }

    /** Config0-4 change only while 9346CR is in config-write mode (§6.14). */
    private int writeConfig(int current, int v, int writable) {
        if ((cr9346 & CR9346_EEM) != CR9346_CONFIG_WRITE) {
            return current;
        }
        return (current & ~writable) | (v & writable);
    }

    /** TCR takes writes only while the transmitter is on (QEMU; 8139too and re(4) enable TE first). */
    private void writeTransmitConfig(int v) {
        if ((cr & CR_TE) != 0) {
            tcr = (tcr & ~TCR_WRITABLE) | (v & TCR_WRITABLE);
        }
    }

    /**
     * RCR. A new ring length starts the ring over; the same length does not, because 8139too rewrites RCR on every
     * multicast change while receiving (QEMU restarts the ring on every write).
     */
    private void writeReceiveConfig(int v) {
        rcr = v & RCR_WRITABLE;
        int size = RING_8K << (rcr >> RCR_RBLEN_SHIFT & 3);
        if (size != rxRingSize) {
            rxRingSize = size;
            rxRead = 0;
            rxWrite = 0;
        }
    }

    private void writeTransmitStatus(int index, int v) {
        if (cPlusMode()) {
            tsd[index] = v;
            if (index == 0 && (v & DTCCR_CMD) != 0) {
                dumpTallyCounters();
            }
            return;
        }
        tsd[index] = (v & ~TSD_NIC_BITS & ~TSD_RESERVED) | (tsd[index] & TSD_RESERVED);
        transmitClassic();
    }

    private void writeTxPoll(int v) {
        if ((v & TPPOLL_FSWINT) != 0) {
            raise(INT_SWINT);
        }
        txPoll |= v & (TPPOLL_HPQ | TPPOLL_NPQ);
        transmitCplus();
    }

    // ---------------------------------------------------------------- timer (§6.13 TCTR, TimerInt)

    private long timerTicks() {
        return (clock.nanoTime() - tctrBase) * (PCI_CLOCK_HZ / 1_000_000) / 1000;
    }

    /** Arms a timer for the moment the 32-bit TCTR next equals a non-zero TimerInt. */
    private void scheduleTimer() {
        if (tctrTimer != null) {
            tctrTimer.cancel();
            tctrTimer = null;
        }
        if (timerInt == 0) {
            return;
        }
        long ticks = timerTicks();
        long target = (ticks & ~0xffffffffL) | (timerInt & 0xffffffffL);
        if (target <= ticks) {
            target += 1L << 32;
        }
        long ticksPerMicro = PCI_CLOCK_HZ / 1_000_000;
        long due = tctrBase + (target * 1000 + ticksPerMicro - 1) / ticksPerMicro;
        tctrTimer = clock.schedule(due - clock.nanoTime(), timerExpired);
    }

    private void timerExpired() {
        tctrTimer = null;
        if (clockRunning) {
            raise(INT_TIMEOUT);
        }
        scheduleTimer();
    }

    // ---------------------------------------------------------------- receive

    /** The NIC's side of the backend. */
    private final class Port implements NetBackend.Frontend {
        @Override
        public boolean receive(ByteBuffer frame) {
            return Rtl8139.this.receive(frame);
        }

        @Override
        public void writable() {
            resumeTransmit();
        }
    }

    private boolean receive(ByteBuffer frame) {
        if (deliver(frame) != NO_ROOM) {
            return true;
        }
        rxHeld = true;
        rxHolds++;
        if ((cpcr & CPCR_RX_ENB) != 0 && rxRetry == null) {
            rxRetry = clock.schedule(RX_RETRY_NANOS, retryHeldFrame);
        }
        return false;
    }

    private void retryHeldFrame() {
        rxRetry = null;
        resumeHeldFrame();
        if (rxHeld && rxRetry == null) {
            rxRetry = clock.schedule(RX_RETRY_NANOS, retryHeldFrame);
        }
    }

    /** Lets the backend offer its held frame again, once there may be room for it or it will be dropped. */
    private void resumeHeldFrame() {
        if (!rxHeld || stillNoRoom()) {
            return;
        }
        rxHeld = false;
        if (rxRetry != null) {
            rxRetry.cancel();
            rxRetry = null;
        }
        backend.resumeReceive();
    }

    /**
     * Whether the held frame plainly still has nowhere to go: in C mode the ring's free space is still below what
     * it needed, in C+ mode the current descriptor still belongs to the driver. Anything that would make the
     * frame be dropped instead (receiver off, no ring) lets it go.
     */
    private boolean stillNoRoom() {
        if (!isPlugged() || !clockRunning || (cr & CR_RE) == 0 || !busMaster()) {
            return false;
        }
        if ((cpcr & CPCR_RX_ENB) == 0) {
            int free = (rxRead - rxWrite) & (rxRingSize - 1);
            return free != 0 && rxHeldNeed >= free;
        }
        if (rdsarLow == 0 && rdsarHigh == 0) {
            return false;
        }
        try {
            return (dma.readValue(descriptorAddress(rdsarLow, rdsarHigh, rxIndex), 4) & DESC_OWN) == 0;
        } catch (GuestMemoryException e) {
            return false;
        }
    }

    /** Puts a frame where the driver reads it: DELIVERED, NO_ROOM (try again later) or DROPPED (counted). */
    private int deliver(ByteBuffer frame) {
        int p = frame.position();
        int length = frame.remaining();
        if (!isPlugged()) {
            // The Xen platform device unplugged the NIC for the PV one: the guest may reuse its rings already.
            stats.drop("rx-unplugged");
            return DROPPED;
        }
        if (!clockRunning || (cr & CR_RE) == 0) {
            stats.drop("rx-disabled");
            return DROPPED;
        }
        if (!busMaster()) {
            stats.drop("rx-no-bus-master");
            return DROPPED;
        }
        if (length < ETH_HEADER) {
            stats.drop("rx-runt");
            return DROPPED;
        }
        int status = addressFilter(frame, p);
        if (status < 0) {
            stats.drop("rx-filtered");
            return DROPPED;
        }
        boolean cPlus = (cpcr & CPCR_RX_ENB) != 0;
        boolean strip = cPlus && (cpcr & CPCR_RX_VLAN) != 0 && length >= ETH_HEADER + VLAN_TAG
                && ((frame.get(p + 12) & 0xff) << 8 | (frame.get(p + 13) & 0xff)) == ETHERTYPE_VLAN;
        int n = length - (strip ? VLAN_TAG : 0);
        if (Math.max(n, MIN_FRAME) + CRC_BYTES > MAX_RX_FRAME) {
            tallyRxErr++;
            stats.drop("rx-oversize");
            return DROPPED;
        }
        frame.get(p, rxFrame, 0, 12);
        frame.get(p + 12 + (strip ? VLAN_TAG : 0), rxFrame, 12, n - 12);
        if (n < MIN_FRAME) {
            Arrays.fill(rxFrame, n, MIN_FRAME, (byte) 0);
            n = MIN_FRAME;
        }
        // Real hardware hands the driver the frame check sequence too; 8139too and re(4) strip 4 bytes.
        crc.reset();
        crc.update(rxFrame, 0, n);
        int fcs = (int) crc.getValue();
        for (int i = 0; i < CRC_BYTES; i++) {
            rxFrame[n + i] = (byte) (fcs >>> 8 * i);
        }
        int tci = strip ? (frame.get(p + 14) & 0xff) | (frame.get(p + 15) & 0xff) << 8 : -1;
        int outcome;
        try {
            outcome = cPlus ? deliverToDescriptors(n + CRC_BYTES, status, tci) : deliverToRing(n + CRC_BYTES, status);
        } catch (GuestMemoryException e) {
            tallyRxErr++;
            stats.drop("rx-dma-error");
            systemError();
            return DROPPED;
        }
        if (outcome == DELIVERED) {
            tallyRxOk++;
            if ((status & RSR_PAM) != 0) {
                tallyRxPhysical++;
            } else if ((status & RSR_BAR) != 0) {
                tallyRxBroadcast++;
            } else if ((status & RSR_MAR) != 0) {
                tallyRxMulticast++;
            }
            raise(INT_ROK);
        }
        return outcome;
    }

    /**
     * RCR's address filter (§6.12): the RSR_BAR/PAM/MAR bits for an accepted frame (0 for someone else's unicast
     * taken in promiscuous mode), -1 for a rejected one. Multicast passes through the 64-bit hash of the
     * destination's big-endian CRC-32, top six bits.
     */
    private int addressFilter(ByteBuffer f, int p) {
        boolean promiscuous = (rcr & RCR_AAP) != 0;
        if ((f.get(p) & 1) != 0) {
            boolean broadcast = true;
            for (int i = 0; i < 6; i++) {
                broadcast &= f.get(p + i) == (byte) 0xff;
            }
            if (broadcast) {
                return promiscuous || (rcr & RCR_AB) != 0 ? RSR_BAR : -1;
            }
            return promiscuous || (rcr & RCR_AM) != 0 && multicastHashHit(f, p) ? RSR_MAR : -1;
        }
        boolean mine = true;
        for (int i = 0; i < 6; i++) {
            mine &= f.get(p + i) == idr[i];
        }
        if (mine && (promiscuous || (rcr & RCR_APM) != 0)) {
            return RSR_PAM;
        }
        return promiscuous ? 0 : -1;
    }

    private boolean multicastHashHit(ByteBuffer f, int p) {
        int c = 0xffffffff;
        for (int i = 0; i < 6; i++) {
            int b = f.get(p + i);
            for (int bit = 0; bit < 8; bit++, b >>= 1) {
                boolean carry = (c >>> 31 ^ b & 1) != 0;
                c <<= 1;
                if (carry) {
                    c ^= ETHER_CRC32_POLY;
                }
            }
        }
        int h = c >>> 26;
        return (mar[h >> 3] & 1 << (h & 7)) != 0;
    }

    /**
     * C mode (§6.12, datasheet "Receive Buffer"): a 4-byte header (status, then length with CRC), the frame and
     * its CRC, the next frame at the following dword. The frame waits while the free space up to CAPR would not
     * hold it; a frame that does not fit an empty ring is dropped.
     */
    private int deliverToRing(int total, int status) {
        int need = (RX_HEADER + total + 3) & ~3;
        int free = (rxRead - rxWrite) & (rxRingSize - 1);
        if (free == 0 ? need >= rxRingSize : need >= free) {
            if (free != 0 && need < rxRingSize) {
                rxHeldNeed = need;
                return NO_ROOM;
            }
            stats.drop("rx-oversize");
            return DROPPED;
        }
        rxHeader.putInt(0, status | RSR_ROK | total << 16);
        int start = rxWrite;
        try {
            writeRing(rxHeader, RX_HEADER);
            writeRing(rxFrameBuffer, total);
        } catch (GuestMemoryException e) {
            rxWrite = start;
            throw e;
        }
        rxWrite = (rxWrite + 3 & ~3) & (rxRingSize - 1);
        return DELIVERED;
    }

    /**
     * Writes at CBR. With RCR.WRAP (and a ring under 64 KiB) a frame runs on past the ring's end into the 1.5 KiB
     * the driver allocated after it, as 8139too expects; otherwise it continues at RBSTART.
     */
    private void writeRing(ByteBuffer src, int length) {
        long base = rbstart & 0xffffffffL;
        boolean overflow = rxRingSize < RING_64K && (rcr & RCR_WRAP) != 0;
        if (!overflow) {
            rxWrite &= rxRingSize - 1;
        }
        int first = overflow ? length : Math.min(length, rxRingSize - rxWrite);
        dmaWrite(base + rxWrite, src, 0, first);
        if (first < length) {
            dmaWrite(base, src, first, length - first);
            rxWrite = length - first;
        } else {
            rxWrite += first;
        }
    }

    /**
     * C+ mode (§9.2.2): the frame and its CRC fill the buffers of as many descriptors from the current one as it
     * needs, all of which must be owned by the NIC; the first gets FS, the last LS with the status and the total
     * length. The descriptors are handed back last to first, so the driver never sees the first one done before
     * the rest.
     */
    private int deliverToDescriptors(int total, int status, int tci) {
        if (rdsarLow == 0 && rdsarHigh == 0) {
            // Linux's 8139cp enables the receiver before it sets up the ring (QEMU): nothing to write to yet.
            stats.drop("rx-no-ring");
            return DROPPED;
        }
        int index = rxIndex;
        int room = 0;
        int fragments = 0;
        while (room < total) {
            if (fragments == RING_MAX) {
                tallyRxErr++;
                stats.drop("rx-buffers-too-small");
                return DROPPED;
            }
            long d = descriptorAddress(rdsarLow, rdsarHigh, index);
            readDescriptor(d);
            int command = descriptor.getInt(0);
            if ((command & DESC_OWN) == 0) {
                return NO_ROOM;
            }
            fragmentDescriptor[fragments] = d;
            fragmentCommand[fragments] = command;
            fragmentBuffer[fragments] = descriptor.getLong(8);
            room += command & RXD_BUFFER_SIZE;
            fragments++;
            index = (command & DESC_EOR) != 0 ? 0 : (index + 1) % RING_MAX;
        }
        int done = 0;
        for (int i = 0; i < fragments; i++) {
            int chunk = Math.min(fragmentCommand[i] & RXD_BUFFER_SIZE, total - done);
            dmaWrite(fragmentBuffer[i], rxFrameBuffer, done, chunk);
            fragmentFill[i] = chunk;
            done += chunk;
        }
        int flags = ((status & RSR_MAR) != 0 ? RXD_MAR : 0) | ((status & RSR_PAM) != 0 ? RXD_PAM : 0)
                | ((status & RSR_BAR) != 0 ? RXD_BAR : 0)
                | ((cpcr & CPCR_RX_CHKSUM) != 0 ? protocolStatus(total - CRC_BYTES) : 0);
        long vlanWord = tci >= 0 ? RXD_TAVA | tci : 0;
        for (int i = fragments - 1; i >= 0; i--) {
            int command = fragmentCommand[i] & DESC_EOR | (i == 0 ? DESC_FS : 0)
                    | (i == fragments - 1 ? DESC_LS | flags | total : fragmentFill[i]);
            dma.writeValue(fragmentDescriptor[i], 8, command & 0xffffffffL | vlanWord << 32);
        }
        rxIndex = index;
        return DELIVERED;
    }

    /**
     * Receive checksum offload (CPCR.RxChkSum): the protocol ID and the IP, TCP and UDP checksum-failed bits for
     * the frame in {@link #rxFrame}. A fragment is reported as plain IP: its transport checksum covers data it lacks.
     */
    private int protocolStatus(int length) {
        int ip = ipv4Offset(rxFrame, length);
        if (ip < 0) {
            return 0;
        }
        int headerLength = ipHeaderLength(rxFrame, ip);
        int s = fold(sum(rxFrame, ip, headerLength, 0)) == 0xffff ? 0 : RXD_IPF;
        int proto = ipProtocol(rxFrame, ip);
        if (isFragment(rxFrame, ip) || proto != PROTO_TCP && proto != PROTO_UDP) {
            return s | RXD_PID_IP;
        }
        int l4 = ip + headerLength;
        int l4Length = ipTotalLength(rxFrame, ip) - headerLength;
        boolean good = fold(sum(rxFrame, l4, l4Length, pseudoHeader(rxFrame, ip, proto, l4Length))) == 0xffff;
        if (proto == PROTO_TCP) {
            return s | RXD_PID_TCP | (l4Length >= TCP_MIN_HEADER && good ? 0 : RXD_TCPF);
        }
        boolean unchecked = l4Length >= UDP_HEADER && be16(rxFrame, l4 + UDP_CHECKSUM) == 0;
        return s | RXD_PID_UDP | (l4Length >= UDP_HEADER && (good || unchecked) ? 0 : RXD_UDPF);
    }

    private static long descriptorAddress(int low, int high, int index) {
        return ((low & 0xffffffffL) | (long) high << 32) + (long) index * DESC_BYTES;
    }

    private void readDescriptor(long address) {
        descriptor.clear();
        dma.read(address, descriptor);
    }

    /** Guest memory at {@code gpa} from {@code buffer[offset, offset + length)}. */
    private void dmaWrite(long gpa, ByteBuffer buffer, int offset, int length) {
        buffer.clear().position(offset).limit(offset + length);
        dma.write(gpa, buffer);
    }

    /** {@code buffer[offset, offset + length)} from guest memory at {@code gpa}. */
    private void dmaRead(long gpa, ByteBuffer buffer, int offset, int length) {
        buffer.clear().position(offset).limit(offset + length);
        dma.read(gpa, buffer);
    }

    // ---------------------------------------------------------------- transmit

    private void resumeTransmit() {
        if (!txBlocked) {
            return;
        }
        txBlocked = false;
        transmitCplus();
        transmitClassic();
    }

    /** Where frames leave: the backend, or this NIC's own receiver in loopback mode (TCR.LBK = 11). */
    private boolean emit(ByteBuffer frame) {
        if ((tcr & TCR_LBK) == TCR_LBK) {
            if (rxHeld || deliver(frame) == NO_ROOM) {
                stats.drop("loopback-no-room");
            }
            return true;
        }
        return backend.send(frame);
    }

    /**
     * C mode (§6.2): from the current descriptor on, each whose TSD has OWN clear is sent, then gets OWN and TOK
     * and raises ISR.TOK. A frame the backend refuses stays owned by the NIC until writable().
     */
    private void transmitClassic() {
        while (!txBlocked && !cPlusMode() && (cr & CR_TE) != 0 && busMaster()) {
            int d = txClassicIndex;
            if ((tsd[d] & TSD_OWN) != 0) {
                return;
            }
            int size = tsd[d] & TSD_SIZE;
            try {
                dmaRead(tsad[d] & 0xffffffffL, txFrameBuffer, 0, size);
            } catch (GuestMemoryException e) {
                tallyTxErr++;
                tallyTxAbort++;
                stats.drop("tx-dma-error");
                finishClassic(d, TSD_TABT, INT_TER | INT_SERR);
                continue;
            }
            if (size < ETH_HEADER) {
                stats.drop("tx-runt");
            } else {
                txFrameBuffer.clear().limit(size);
                if (!emit(txFrameBuffer)) {
                    txBlocked = true;
                    return;
                }
                tallyTxOk++;
            }
            finishClassic(d, TSD_TOK, INT_TOK);
        }
    }

    private void finishClassic(int d, int status, int interrupt) {
        tsd[d] |= TSD_OWN | status;
        txClassicIndex = (d + 1) & 3;
        raise(interrupt);
    }

    /** C+ mode (§9.2.1): serves the rings TPPoll asked for, the high-priority one first. */
    private void transmitCplus() {
        if (txBlocked) {
            return;
        }
        if (offload.pending()) {
            if (!offload.resume()) {
                txBlocked = true;
                return;
            }
            raise(INT_TOK);
        }
        while (txPoll != 0 && !txBlocked) {
            int ring = (txPoll & TPPOLL_HPQ) != 0 ? HIGH : NORMAL;
            if (!transmitRing(ring)) {
                return;
            }
            txPoll &= ~(ring == HIGH ? TPPOLL_HPQ : TPPOLL_NPQ);
        }
    }

    /**
     * Gathers fragments from the ring's descriptors owned by the NIC into one frame, handing each descriptor
     * back as it is read (OWN clear, status bits 16-27 clear: no collisions, no errors) and sending the frame at
     * its LS descriptor. Returns false if the backend pushed back.
     */
    private boolean transmitRing(int ring) {
        if ((cr & CR_TE) == 0 || (cpcr & CPCR_TX_ENB) == 0 || !busMaster()) {
            return true;
        }
        int low = tsad[2 * ring];
        int high = tsad[2 * ring + 1];
        int frames = 0;
        try {
            for (int n = 0; n < RING_MAX; n++) {
                int index = txIndex[ring];
                long d = descriptorAddress(low, high, index);
                readDescriptor(d);
                int command = descriptor.getInt(0);
                if ((command & DESC_OWN) == 0) {
                    break;
                }
                if ((command & DESC_FS) != 0) {
                    txFrameLength = 0;
                    txFrameTooLong = false;
                }
                int length = command & TXD_LENGTH;
                if (txFrameLength + length > txFrame.length) {
                    txFrameTooLong = true;
                    length = txFrame.length - txFrameLength;
                }
                dmaRead(descriptor.getLong(8), txFrameBuffer, txFrameLength, length);
                txFrameLength += length;
                txIndex[ring] = (command & DESC_EOR) != 0 ? 0 : (index + 1) % RING_MAX;
                dma.writeValue(d, 4, command & (DESC_EOR | DESC_FS | DESC_LS | TXD_LENGTH));
                if ((command & DESC_LS) == 0) {
                    continue;
                }
                int vlanWord = descriptor.getInt(4);
                int frameLength = txFrameLength;
                txFrameLength = 0;
                if (txFrameTooLong) {
                    tallyTxErr++;
                    stats.drop("tx-oversize");
                } else if (frameLength == 0) {
                    stats.drop("tx-empty");
                } else {
                    tallyTxOk++;
                    if (!offload.send(txFrame, frameLength, command, vlanWord)) {
                        txBlocked = true;
                        if (frames > 0) {
                            raise(INT_TOK);
                        }
                        return false;
                    }
                    frames++;
                }
            }
        } catch (GuestMemoryException e) {
            tallyTxErr++;
            stats.drop("tx-dma-error");
            raise(INT_TER | INT_SERR);
        }
        if (frames > 0) {
            raise(INT_TOK);
        }
        return true;
    }

    /** DTCCR.Cmd (§9.2.4): the 64-byte tally counter block, written to DTCCR's address (64-byte aligned). */
    private void dumpTallyCounters() {
        tallyDump.clear();
        tallyDump.putLong(tallyTxOk).putLong(tallyRxOk).putLong(tallyTxErr).putInt(tallyRxErr)
                .putShort((short) 0) // missed: frames wait instead
                .putShort((short) 0) // frame alignment errors
                .putInt(0).putInt(0) // single and multiple collisions
                .putLong(tallyRxPhysical).putLong(tallyRxBroadcast).putInt(tallyRxMulticast)
                .putShort((short) tallyTxAbort)
                .putShort((short) 0) // underruns
                .flip();
        try {
            dma.write((tsd[0] & ~0x3fL & 0xffffffffL) | (long) tsd[1] << 32, tallyDump);
        } catch (GuestMemoryException e) {
            systemError();
        }
        tsd[0] &= ~DTCCR_CMD;
    }
}
