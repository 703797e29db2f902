package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.pci.PciRegs.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Linux's 8139too driving the chip in C mode through the I/O BAR, as drivers/net/ethernet/realtek/8139too.c does:
 * the chip table lookup by TxConfig, read_eeprom() with its address-length probe, rtl8139_hw_start,
 * __set_rx_mode, rtl8139_rx with the ring read linearly past its end (RxNoWrap, the WRAP bit) or wrapped by
 * hand, rtl8139_start_xmit and rtl8139_tx_interrupt. (8139too leaves revision 0x20 to 8139cp; its C-mode
 * sequence is still what every older 8139 driver, and a guest that ignores C+ mode, does.)
 */
final class Linux8139too {
    static final long RX_RING = 0x400000;
    static final long TX_BUFS = 0x420000;
    static final int TX_BUF_SIZE = 1536;
    static final int NUM_TX_DESC = 4;
    /** RxNoWrap in 8139too's names: bit 7 of RxConfig, the datasheet's WRAP. */
    static final int RX_NO_WRAP = 0x80;
    /** RX_FIFO_THRESH 7 and RX_DMA_BURST 7. */
    static final int RX_CONFIG_BASE = 7 << 13 | 7 << 8;
    /** TxIFG96 | TX_DMA_BURST 6 << TxDMAShift | TX_RETRY 8 << TxRetryShift. */
    static final int TX_CONFIG = 0x03000000 | 6 << 8 | 8 << 4;
    /** (TX_FIFO_THRESH 256 << 11) & 0x003f0000: the early transmit threshold in TSD. */
    static final int TX_FLAG = 256 << 11 & 0x003f0000;
    static final int RX_ACK_BITS = INT_FOVW | INT_RXOVW | INT_ROK;
    static final int INTR_MASK = INT_SERR | INT_TIMEOUT | INT_PUN_LINKCHG | INT_RXOVW | INT_FOVW | INT_TER | INT_TOK
            | INT_RER | INT_ROK;
    static final int EE_CS = 0x08;
    static final int EE_ENB = 0x80 | EE_CS;
    static final int EE_SHIFT_CLK = 0x04;
    static final int EE_DATA_WRITE = 0x02;
    static final int EE_DATA_READ = 0x01;
    static final int EE_READ_CMD = 6;

    /** A frame as rtl8139_rx found it: status word, data, the CRC after it, and whether it crossed the ring's end. */
    record Received(int status, byte[] frame, byte[] fcs, boolean crossedEnd) {
    }

    final Rtl8139Rig rig;
    int rxBufLen;
    boolean wrapBit;
    int rxConfig;
    long curRx;
    int curTx;
    int dirtyTx;

    Linux8139too(Rtl8139Rig rig) {
        this.rig = rig;
    }

    /** rtl8139_init_board: the chip is identified by TxConfig's version bits. */
    String chipName() {
        long version = rig.r32(TCR) & 0x7cc00000L;
        assertEquals(0x74800000L, version, "HW_REVID(1, 1, 1, 0, 1, 1, 0)");
        return "RTL-8139C+";
    }

    /** read_eeprom(): 8139too's bit-bang, CS raised by moving from EE_ENB & ~EE_CS to EE_ENB. */
    int readEeprom(int location, int addrLen) {
        int readCmd = location | EE_READ_CMD << addrLen;
        rig.w8(CR9346, EE_ENB & ~EE_CS);
        rig.w8(CR9346, EE_ENB);
        for (int i = 4 + addrLen; i >= 0; i--) {
            int dataval = (readCmd & 1 << i) != 0 ? EE_DATA_WRITE : 0;
            rig.w8(CR9346, EE_ENB | dataval);
            rig.w8(CR9346, EE_ENB | dataval | EE_SHIFT_CLK);
        }
        rig.w8(CR9346, EE_ENB);
        int retval = 0;
        for (int i = 16; i > 0; i--) {
            rig.w8(CR9346, EE_ENB | EE_SHIFT_CLK);
            retval = retval << 1 | ((rig.r8(CR9346) & EE_DATA_READ) != 0 ? 1 : 0);
            rig.w8(CR9346, EE_ENB);
        }
        rig.w8(CR9346, 0);
        return retval;
    }

    /** The station address as rtl8139_init_one reads it: the address length probe, then words 7-9. */
    byte[] readMac() {
        int addrLen = readEeprom(0, 8) == 0x8129 ? 8 : 6;
        assertEquals(6, addrLen, "a 93C46");
        byte[] mac = new byte[6];
        for (int i = 0; i < 3; i++) {
            int w = readEeprom(7 + i, addrLen);
            mac[2 * i] = (byte) w;
            mac[2 * i + 1] = (byte) (w >> 8);
        }
        return mac;
    }

    /**
     * rtl8139_hw_start with a ring of {@code 8 KiB << rxBufIdx}; {@code wrap} is 8139too's RxNoWrap (it sets it
     * except for the 64 KiB ring, and copies wrapped frames by hand then).
     */
    void hwStart(byte[] mac, int rxBufIdx, boolean wrap) {
        rig.cfgw(COMMAND, 2, rig.cfg(COMMAND, 2) | COMMAND_MASTER);
        rxBufLen = 8192 << rxBufIdx;
        wrapBit = wrap;
        rxConfig = rxBufIdx << RCR_RBLEN_SHIFT | (wrap ? RX_NO_WRAP : 0) | RX_CONFIG_BASE;
        rig.w8(CR, CR_RST);
        int i = 0;
        while ((rig.r8(CR) & CR_RST) != 0) {
            assertTrue(++i < 1000, "chip reset");
        }
        rig.w8(CR9346, CR9346_CONFIG_WRITE);
        rig.w32(IDR0, FreeBsdRe.le32(mac, 0));
        rig.w32(IDR0 + 4, (mac[4] & 0xff) | (mac[5] & 0xff) << 8);
        curRx = 0;
        rig.w32(RBSTART, RX_RING);
        rig.w8(CR, CR_RE | CR_TE);
        rig.w32(RCR, rxConfig | RCR_AB | RCR_APM);
        rig.w32(TCR, TX_CONFIG);
        rig.w8(CONFIG3, rig.r8(CONFIG3) & ~0x20);
        rig.w8(CR9346, 0);
        for (int d = 0; d < NUM_TX_DESC; d++) {
            rig.w32(TSAD0 + 4 * d, TX_BUFS + (long) TX_BUF_SIZE * d);
        }
        rig.w32(MPC, 0);
        setRxMode(List.of(), false);
        rig.w16(MULINT, rig.r16(MULINT) & 0xf000);
        int cmd = rig.r8(CR);
        if ((cmd & CR_RE) == 0 || (cmd & CR_TE) == 0) {
            rig.w8(CR, CR_RE | CR_TE);
        }
        rig.w16(IMR, INTR_MASK);
        curTx = 0;
        dirtyTx = 0;
    }

    /** __set_rx_mode: the hash of each group address, or everything when promiscuous. */
    void setRxMode(List<byte[]> groups, boolean promiscuous) {
        int rxMode = RCR_AB | RCR_APM;
        int[] filter = new int[2];
        if (promiscuous) {
            rxMode |= RCR_AAP | RCR_AM;
            filter[0] = filter[1] = 0xffffffff;
        } else if (!groups.isEmpty()) {
            rxMode |= RCR_AM;
            for (byte[] g : groups) {
                int bit = Packets.etherCrc(g) >>> 26;
                filter[bit >> 5] |= 1 << (bit & 31);
            }
        }
        rig.w32(RCR, rxConfig | rxMode);
        rig.w32(MAR0, filter[0] & 0xffffffffL);
        rig.w32(MAR0 + 4, filter[1] & 0xffffffffL);
    }

    /** rtl8139_rx: frames until BUFE, each acknowledged through CAPR; then the RxAckBits in ISR. */
    List<Received> rx() {
        List<Received> up = new ArrayList<>();
        while ((rig.r8(CR) & CR_BUFE) == 0) {
            int offset = (int) (curRx % rxBufLen);
            int status = (int) rig.ram.readValue(RX_RING + offset, 4);
            int size = status >>> 16;
            assertNotEquals(0xfff0, size, "early receive is off");
            assertTrue(size >= 8 && size <= 1792 + 4 && (status & RSR_ROK) != 0, "a good frame: " + Integer.toHexString(status));
            int pktSize = size - 4;
            byte[] frame = new byte[pktSize];
            byte[] fcs = new byte[4];
            boolean crossed = offset + 4 + size > rxBufLen;
            if (wrapBit) {
                rig.ram.read(RX_RING + offset + 4, frame, 0, pktSize);
                rig.ram.read(RX_RING + offset + 4 + pktSize, fcs, 0, 4);
            } else {
                byte[] both = new byte[size];
                for (int i = 0; i < size; i++) {
                    both[i] = (byte) rig.ram.readValue(RX_RING + (offset + 4 + i) % rxBufLen, 1);
                }
                System.arraycopy(both, 0, frame, 0, pktSize);
                System.arraycopy(both, pktSize, fcs, 0, 4);
            }
            up.add(new Received(status & 0xffff, frame, fcs, crossed));
            curRx = curRx + size + 4 + 3 & ~3;
            rig.w16(CAPR, (int) (curRx - 16) & 0xffff);
        }
        int status = rig.r16(ISR);
        if (status != 0) {
            rig.w16(ISR, RX_ACK_BITS);
        }
        return up;
    }

    /** rtl8139_start_xmit: copy into the entry's buffer, pad to ETH_ZLEN, write TSD. */
    void xmit(byte[] frame) {
        assertTrue(curTx - dirtyTx < NUM_TX_DESC, "the queue is stopped when all four are in flight");
        int entry = curTx % NUM_TX_DESC;
        byte[] buf = Arrays.copyOf(frame, Math.max(frame.length, 60));
        rig.ram.write(TX_BUFS + (long) TX_BUF_SIZE * entry, buf, 0, buf.length);
        rig.w32(TSD0 + 4 * entry, TX_FLAG | buf.length);
        curTx++;
    }

    /** rtl8139_tx_interrupt: reclaims entries whose TSD shows OK, underrun or abort. */
    int txInterrupt() {
        int done = 0;
        while (dirtyTx != curTx) {
            long status = rig.r32(TSD0 + 4 * (dirtyTx % NUM_TX_DESC));
            if ((status & (TSD_TOK | TSD_TUN | TSD_TABT)) == 0) {
                break;
            }
            assertEquals(TSD_TOK, status & (TSD_TOK | TSD_TUN | TSD_TABT), "sent OK");
            assertEquals(TSD_OWN, status & TSD_OWN, "the buffer is the host's again");
            dirtyTx++;
            done++;
        }
        return done;
    }

    /** rtl8139_interrupt plus the NAPI poll: acknowledge, receive, reclaim. */
    List<Received> interrupt() {
        int status = rig.r16(ISR);
        int ackstat = status & ~(RX_ACK_BITS | INT_TER);
        if (ackstat != 0) {
            rig.w16(ISR, ackstat);
        }
        List<Received> up = new ArrayList<>();
        if ((status & RX_ACK_BITS) != 0) {
            up.addAll(rx());
        }
        if ((status & (INT_TOK | INT_TER)) != 0) {
            txInterrupt();
            if ((status & INT_TER) != 0) {
                rig.w16(ISR, INT_TER);
            }
        }
        return up;
    }
}
