package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.pci.PciRegs.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;

/**
 * FreeBSD's re(4) driving an RTL8139C+ the way sys/dev/re/if_re.c does (register names from sys/dev/rl/if_rlreg.h
 * in the comments): re_probe, re_attach (hardware revision from TXCFG, re_reset, the PME dance, the 93C46 address
 * width probe and station address), the rlphy attach, re_init_locked with its C+ rings, re_encap/re_start_tx,
 * re_intr/re_int_task, re_rxeof and re_txeof. Memory: rings at {@link #TX_RING}/{@link #RX_RING}, 2 KiB receive
 * clusters, transmit buffers from {@link #TX_BUFFERS}.
 */
final class FreeBsdRe {
    static final int DESCRIPTORS = 64;
    static final int CLUSTER = 2048;
    static final long TX_RING = 0x100000;
    static final long RX_RING = 0x101000;
    static final long STATS = 0x102000;
    static final long RX_CLUSTERS = 0x200000;
    static final long TX_BUFFERS = 0x300000;
    /** RL_INTRS_CPLUS without RE_TX_MODERATION. */
    static final int INTRS_CPLUS = INT_ROK | INT_RER | INT_TER | INT_TOK | INT_RXOVW | INT_PUN_LINKCHG | INT_FOVW
            | INT_TIMEOUT | INT_SERR;
    /** RL_RXCFG_CONFIG: no FIFO threshold, unlimited DMA, 64 KiB buffer bits (meaningless in C+ mode). */
    static final int RXCFG_CONFIG = 0xe000 | 0x0700 | 0x1800;
    /** RL_TXCFG_CONFIG: IFG 96 bit times, 2048-byte DMA bursts. */
    static final int TXCFG_CONFIG = 0x03000000 | 0x0700;
    static final int RL_9346_READ = 6;

    /** A received frame as re_rxeof hands it up: without CRC, with the checksum and VLAN results. */
    record Received(byte[] frame, byte[] fcs, int status, int vlanTag, boolean tagged) {
    }

    final Rtl8139Rig rig;
    int rxProducer;
    int txProducer;
    int txConsumer;
    int txFree = DESCRIPTORS;
    int eepromWidth;
    boolean rxeofAgain;
    long collisions;
    long outputErrors;

    FreeBsdRe(Rtl8139Rig rig) {
        this.rig = rig;
    }

    // ---------------------------------------------------------------- probe and attach

    /** re_probe: 10EC:8139 goes to re(4) only at revision 0x20. */
    void probe() {
        assertEquals(0x10ec, rig.cfg(VENDOR_ID, 2));
        assertEquals(0x8139, rig.cfg(DEVICE_ID, 2));
        assertEquals(0x20, rig.cfg(REVISION_ID, 1), "revision 0x20 makes it re(4)'s, not rl(4)'s");
        assertEquals(0x020000, rig.cfg(REVISION_ID, 4) >>> 8, "Ethernet controller");
        assertEquals(0x1af4, rig.cfg(SUBSYSTEM_VENDOR_ID, 2));
        assertEquals(0x1100, rig.cfg(SUBSYSTEM_ID, 2));
        assertEquals(1, rig.cfg(INTERRUPT_PIN, 1), "INTA");
    }

    /** re_attach up to ether_ifattach; returns the station address it found. */
    byte[] attach() {
        rig.cfgw(COMMAND, 2, rig.cfg(COMMAND, 2) | COMMAND_MASTER); // pci_enable_busmaster
        // No MSI: the RL_FLAG_MSI == 0 branch turns Config2's MSI bit off under the config-write lock.
        rig.w8(CR9346, CR9346_CONFIG_WRITE);
        rig.r8(0x53);
        rig.w8(CR9346, 0);

        long hwrev = rig.r32(TCR);
        assertEquals(0x70000000L, hwrev & 0x70000000L, "not an 8169-style revision");
        assertEquals(0x74800000L, hwrev & 0x7cc00000L, "RL_HWREV_8139CPLUS");
        assertEquals(0, hwrev & 0x00700000L, "MAC revision 0");

        reset();
        // Enable PME: Config1 |= PME, Config5 &= PME_STS, under the config-write lock.
        rig.w8(CR9346, CR9346_CONFIG_WRITE);
        rig.w8(CONFIG1, rig.r8(CONFIG1) | 0x01);
        rig.w8(CONFIG5, rig.r8(CONFIG5) & 0x01);
        rig.w8(CR9346, 0);

        // The address width probe: a 93C56 answers 0x8129 at word 0 with 8 address bits; a 93C46 does not.
        eepromWidth = 8;
        int id = readEeprom(0);
        if (id != 0x8129) {
            eepromWidth = 6;
        }
        byte[] mac = new byte[6];
        for (int i = 0; i < 3; i++) {
            int word = readEeprom(7 + i);
            mac[2 * i] = (byte) word;
            mac[2 * i + 1] = (byte) (word >> 8);
        }
        attachPhy();
        return mac;
    }

    /** re_reset: CR.RST, then poll until the chip clears it. */
    void reset() {
        rig.w8(CR, CR_RST);
        int i = 0;
        while ((rig.r8(CR) & CR_RST) != 0) {
            assertTrue(++i < 1000, "reset never completed!");
        }
    }

    /** re_read_eeprom for one word: programming mode, EE_SEL, re_eeprom_getword, EE_SEL off, normal mode. */
    int readEeprom(int address) {
        rig.w8(CR9346, rig.r8(CR9346) | CR9346_PROGRAM);
        rig.w8(CR9346, rig.r8(CR9346) | CR9346_EECS);
        int d = address | RL_9346_READ << eepromWidth;
        for (int i = 1 << eepromWidth + 3; i != 0; i >>= 1) {
            if ((d & i) != 0) {
                set(CR9346_EEDI);
            } else {
                clear(CR9346_EEDI);
            }
            set(CR9346_EESK);
            clear(CR9346_EESK);
        }
        int word = 0;
        for (int i = 0x8000; i != 0; i >>= 1) {
            set(CR9346_EESK);
            if ((rig.r8(CR9346) & CR9346_EEDO) != 0) {
                word |= i;
            }
            clear(CR9346_EESK);
        }
        rig.w8(CR9346, rig.r8(CR9346) & ~CR9346_EECS);
        rig.w8(CR9346, rig.r8(CR9346) & ~CR9346_PROGRAM);
        return word;
    }

    private void set(int bit) {
        rig.w8(CR9346, rig.r8(CR9346) | bit);
    }

    private void clear(int bit) {
        rig.w8(CR9346, rig.r8(CR9346) & ~bit);
    }

    /**
     * mii_attach with rlphy: re_miibus_readreg maps MII registers onto the 8139's, reports 0 for the PHY IDs;
     * mii_phy_reset writes BMCR reset and polls it clear; rlphy then reads status and abilities.
     */
    void attachPhy() {
        int bmsr = rig.r16(BMSR);
        assertNotEquals(0, bmsr, "a PHY is present");
        assertNotEquals(0xffff, bmsr);
        rig.w16(BMCR, BMCR_RESET & ~(0x4000 | 0x0400));
        int i = 0;
        while ((rig.r16(BMCR) & BMCR_RESET) != 0) {
            assertTrue(++i < 100, "PHY reset never completed");
        }
        assertEquals(0x01e0, rig.r16(ANAR) & 0x01e0, "10/100 half and full advertised");
    }

    // ---------------------------------------------------------------- init

    /** re_init_locked: re_stop, re_reset, the rings, C+ command, station address, lists, enables, filter, IMR. */
    void init(byte[] mac, boolean rxChecksum, boolean vlanStrip) {
        stop();
        reset();
        for (int i = 0; i < DESCRIPTORS; i++) {
            newBuffer(i);
        }
        rxProducer = 0;
        for (int i = 0; i < DESCRIPTORS; i++) {
            rig.ram.write(TX_RING + 16L * i, new byte[16], 0, 16);
        }
        rig.ram.writeValue(TX_RING + 16L * (DESCRIPTORS - 1), 4, DESC_EOR & 0xffffffffL);
        txProducer = 0;
        txConsumer = 0;
        txFree = DESCRIPTORS;

        // "We must configure the C+ register before all others."
        rig.w16(CPCR, CPCR_MULRW | (rxChecksum ? CPCR_RX_CHKSUM : 0) | (vlanStrip ? CPCR_RX_VLAN : 0)
                | CPCR_RX_ENB | CPCR_TX_ENB);
        rig.w8(CR9346, CR9346_CONFIG_WRITE);
        rig.w32(IDR0, le32(mac, 0));
        rig.w32(IDR0 + 4, (mac[4] & 0xff) | (mac[5] & 0xff) << 8);
        rig.w8(CR9346, 0);
        rig.w32(RDSAR + 4, RX_RING >>> 32);
        rig.w32(RDSAR, RX_RING & 0xffffffffL);
        rig.w32(TNPDS + 4, TX_RING >>> 32);
        rig.w32(TNPDS, TX_RING & 0xffffffffL);
        rig.w8(CR, CR_TE | CR_RE);
        rig.w32(TCR, TXCFG_CONFIG);
        rig.w8(ETTHR, 16);
        setRxMode(0, 0, false);
        rig.w16(IMR, INTRS_CPLUS);
        rig.w16(ISR, INTRS_CPLUS);
        rig.w32(MPC, 0);
        rig.w8(CONFIG1, rig.r8(CONFIG1) | 0x20); // RL_CFG1_DRVLOAD, under no lock
    }

    /** re_set_rxmode. */
    void setRxMode(long mar0, long mar4, boolean promiscuous) {
        int rxfilt = RXCFG_CONFIG | RCR_APM | RCR_AB;
        if (promiscuous) {
            rxfilt |= RCR_AAP | RCR_AM;
            mar0 = 0xffffffffL;
            mar4 = 0xffffffffL;
        } else if (mar0 != 0 || mar4 != 0) {
            rxfilt |= RCR_AM;
        }
        rig.w32(MAR0, mar0);
        rig.w32(MAR0 + 4, mar4);
        rig.w32(RCR, rxfilt);
    }

    /** re_stop for the 8139C+: receiver filter off, CR 0, interrupts masked and acknowledged. */
    void stop() {
        rig.w32(RCR, rig.r32(RCR) & ~(RCR_AAP | RCR_APM | RCR_AM | RCR_AB));
        rig.w8(CR, 0);
        rig.w16(IMR, 0);
        rig.w16(ISR, 0xffff);
    }

    /** re_newbuf: a 2 KiB cluster, OWN, EOR on the last descriptor. */
    void newBuffer(int index) {
        long d = RX_RING + 16L * index;
        long cluster = RX_CLUSTERS + (long) CLUSTER * index;
        rig.ram.writeValue(d + 4, 4, 0);
        rig.ram.writeValue(d + 8, 4, cluster & 0xffffffffL);
        rig.ram.writeValue(d + 12, 4, cluster >>> 32);
        int cmd = CLUSTER | (index == DESCRIPTORS - 1 ? DESC_EOR : 0);
        rig.ram.writeValue(d, 4, (cmd | DESC_OWN) & 0xffffffffL);
    }

    // ---------------------------------------------------------------- transmit

    /**
     * re_encap + re_start_tx: the frame in {@code segments} pieces, each descriptor with the checksum or large-send
     * bits and the VLAN word, OWN on all but the first, EOF on the last, then SOF|OWN on the first; TXSTART.
     */
    void transmit(byte[] frame, int segments, int csumFlags, int vlanctl) {
        assertTrue(txFree - segments > 1, "re_encap: ring full");
        int per = (frame.length + segments - 1) / segments;
        int first = txProducer;
        int last = first;
        for (int s = 0, off = 0; s < segments; s++, off += per) {
            int len = Math.min(per, frame.length - off);
            long buffer = TX_BUFFERS + 0x10000L * txProducer;
            rig.ram.write(buffer, frame, off, len);
            long d = TX_RING + 16L * txProducer;
            rig.ram.writeValue(d + 4, 4, vlanctl & 0xffffffffL);
            rig.ram.writeValue(d + 8, 4, buffer & 0xffffffffL);
            rig.ram.writeValue(d + 12, 4, buffer >>> 32);
            int cmd = len | csumFlags | (s != 0 ? DESC_OWN : 0) | (txProducer == DESCRIPTORS - 1 ? DESC_EOR : 0);
            rig.ram.writeValue(d, 4, cmd & 0xffffffffL);
            last = txProducer;
            txProducer = (txProducer + 1) % DESCRIPTORS;
            txFree--;
        }
        long lastDesc = TX_RING + 16L * last;
        rig.ram.writeValue(lastDesc, 4, rig.ram.readValue(lastDesc, 4) | (DESC_LS & 0xffffffffL));
        long firstDesc = TX_RING + 16L * first;
        rig.ram.writeValue(firstDesc, 4, rig.ram.readValue(firstDesc, 4) | ((DESC_OWN | DESC_FS) & 0xffffffffL));
        rig.w8(TPPOLL, TPPOLL_NPQ);
    }

    /** re_txeof: reclaims descriptors the chip handed back; status bits are valid on the EOF descriptor only. */
    int reclaim() {
        int reclaimed = 0;
        while (txConsumer != txProducer) {
            long cmd = rig.ram.readValue(TX_RING + 16L * txConsumer, 4);
            if ((cmd & (DESC_OWN & 0xffffffffL)) != 0) {
                break;
            }
            if ((cmd & DESC_LS) != 0) {
                if ((cmd & 0x001f0000L) != 0) { // RL_TDESC_STAT_EXCESSCOL | RL_TDESC_STAT_COLCNT
                    collisions++;
                }
                if ((cmd & 0x00800000L) != 0) { // RL_TDESC_STAT_TXERRSUM
                    outputErrors++;
                }
                reclaimed++;
            }
            txFree++;
            txConsumer = (txConsumer + 1) % DESCRIPTORS;
        }
        return reclaimed;
    }

    // ---------------------------------------------------------------- interrupts and receive

    /**
     * re_intr then re_int_task, run once: read ISR, mask everything, acknowledge, receive and reclaim, and
     * unmask (the task re-runs itself while ISR still shows work). Returns what re_rxeof passed up.
     */
    List<Received> interrupt() {
        List<Received> up = new ArrayList<>();
        int status = rig.r16(ISR);
        if ((status & INTRS_CPLUS) == 0) {
            return up;
        }
        rig.w16(IMR, 0);
        while (true) {
            status = rig.r16(ISR);
            rig.w16(ISR, status);
            boolean again = false;
            if ((status & (INT_ROK | INT_RER | INT_FOVW)) != 0) {
                up.addAll(receive());
                again = rxeofAgain;
            }
            if ((status & (INT_TOK | INT_TER | INT_TDU)) != 0) {
                reclaim();
            }
            if ((rig.r16(ISR) & INTRS_CPLUS) == 0 && !again) {
                break;
            }
        }
        rig.w16(IMR, INTRS_CPLUS);
        return up;
    }

    /** DEVICE_POLLING's re_poll_locked: re_rxeof and re_txeof with interrupts masked, no register access. */
    List<Received> poll() {
        List<Received> up = receive();
        reclaim();
        return up;
    }

    /**
     * re_rxeof, up to 16 frames a call, multi-fragment frames chained, every descriptor re-armed. Like re_rxeof it
     * says EAGAIN ({@link #rxeofAgain}) when it did not use up its budget, and re_int_task runs again then.
     */
    List<Received> receive() {
        List<Received> up = new ArrayList<>();
        java.io.ByteArrayOutputStream chain = null;
        int budget = 16;
        for (; budget > 0; rxProducer = (rxProducer + 1) % DESCRIPTORS) {
            long d = RX_RING + 16L * rxProducer;
            int rxstat = (int) rig.ram.readValue(d, 4);
            if ((rxstat & DESC_OWN) != 0) {
                break;
            }
            int totalLength = rxstat & 0x1fff; // RL_RDESC_STAT_FRAGLEN
            int rxvlan = (int) rig.ram.readValue(d + 4, 4);
            byte[] cluster = new byte[CLUSTER];
            rig.ram.read(RX_CLUSTERS + (long) CLUSTER * rxProducer, cluster, 0, CLUSTER);
            if ((rxstat & DESC_LS) == 0) {
                if (chain == null) {
                    chain = new java.io.ByteArrayOutputStream();
                }
                chain.write(cluster, 0, CLUSTER);
                newBuffer(rxProducer);
                continue;
            }
            assertEquals(0, rxstat & 0x00100000, "RL_RDESC_STAT_RXERRSUM");
            newBuffer(rxProducer);
            byte[] all;
            if (chain != null) {
                int lastLength = totalLength % CLUSTER == 0 ? CLUSTER : totalLength % CLUSTER;
                chain.write(cluster, 0, lastLength);
                all = chain.toByteArray();
                chain = null;
            } else {
                all = cluster;
            }
            byte[] frame = java.util.Arrays.copyOf(all, totalLength - 4);
            byte[] fcs = java.util.Arrays.copyOfRange(all, totalLength - 4, totalLength);
            boolean tagged = (rxvlan & RXD_TAVA) != 0;
            int tag = tagged ? Integer.reverseBytes(rxvlan & 0xffff) >>> 16 : 0;
            up.add(new Received(frame, fcs, rxstat, tag, tagged));
            budget--;
        }
        rxeofAgain = budget > 0;
        return up;
    }

    /** The DTCCR dump as re_sysctl_stats requests it: address high, low, low | START, poll START clear. */
    byte[] dumpStatistics() {
        rig.w32(DTCCR + 4, STATS >>> 32);
        rig.w32(DTCCR, STATS & 0xffffffffL);
        rig.w32(DTCCR, (STATS | DTCCR_CMD) & 0xffffffffL);
        int i = 0;
        while ((rig.r32(DTCCR) & DTCCR_CMD) != 0) {
            assertTrue(++i < 1000, "DUMP statistics request timed out");
        }
        byte[] stats = new byte[64];
        rig.ram.read(STATS, stats, 0, 64);
        return stats;
    }

    static long le32(byte[] b, int off) {
        return (b[off] & 0xffL) | (b[off + 1] & 0xffL) << 8 | (b[off + 2] & 0xffL) << 16 | (b[off + 3] & 0xffL) << 24;
    }
}
