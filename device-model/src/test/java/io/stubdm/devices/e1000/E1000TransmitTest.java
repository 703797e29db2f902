package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;
import static io.stubdm.devices.e1000.Packets.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.e1000.FreeBsdEm.Offload;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Packets posted the way em(4) posts them (em_isc_txd_encap): legacy descriptors, a checksum context reused
 * across packets, TSO with the 4-byte sentinel descriptor, VLAN insertion. Every frame the backend gets is
 * checked field by field, with the checksums recomputed here word by word.
 */
class E1000TransmitTest {
    private final E1000Rig rig = new E1000Rig();
    private FreeBsdEm em;
    private long nextBuffer = FreeBsdEm.TX_BUFFERS;

    @AfterEach
    void close() {
        assertEquals(0, rig.engine.loop().failures(), "no exception escaped on the device loop");
        assertEquals(0, rig.engine.stats().deviceErrors());
        rig.close();
    }

    /** Puts {@code packet} in guest RAM as a {@code first}-byte segment followed by {@code chunk}-byte ones. */
    private long[][] place(byte[] packet, int first, int chunk) {
        long base = nextBuffer;
        nextBuffer += packet.length + 4096 & ~4095L;
        rig.put(base, packet);
        List<long[]> segments = new ArrayList<>();
        int offset = 0;
        while (offset < packet.length) {
            int length = Math.min(offset == 0 ? first : chunk, packet.length - offset);
            segments.add(new long[] {base + offset, length});
            offset += length;
        }
        return segments.toArray(new long[0][]);
    }

    private int txStatus(int index) {
        return rig.descriptor(FreeBsdEm.TX_RING, index).get(12) & 0xff;
    }

    @Test
    void legacyDescriptorsAndWriteBack() {
        em = FreeBsdEm.up(rig);
        byte[] frame = tcpFrame(PEER, 500, 1);
        int eop = em.encap(place(frame, 54, 2048), frame.length, Offload.NONE, 0, -1, true);
        assertEquals(1, eop, "header and payload in two descriptors");
        List<byte[]> sent = rig.sent();
        assertEquals(1, sent.size());
        assertArrayEquals(frame, sent.get(0));
        assertEquals(0, txStatus(0), "no RS, no write-back");
        assertEquals(TXD_STAT_DD, txStatus(1), "DD on the RS descriptor");
        assertEquals(2, rig.r(TDH));
        E1000Rig.pollUntil("TXDW after TIDV", () -> (rig.r(ICS) & ICR_TXDW) != 0);
        assertEquals(1, rig.r(GPTC));
        assertEquals(1, rig.r(TPT));
        assertEquals(frame.length + 4, rig.r(GOTCL));
        assertEquals(1, rig.r(PTC1023));
    }

    @Test
    void shortFramesArePadded() {
        em = FreeBsdEm.up(rig);
        byte[] arp = ethernet(BROADCAST, E1000Rig.MAC, 0x0806, payload(28, 3));
        em.encap(place(arp, 64, 64), arp.length, Offload.NONE, 0, -1, true);
        byte[] sent = rig.sent().get(0);
        assertEquals(60, sent.length, "TCTL.PSP pads to the minimum");
        assertArrayEquals(arp, Arrays.copyOf(sent, arp.length));
        assertEquals(1, rig.r(BPTC));
    }

    @Test
    void checksumOffloadWithReusedContext() {
        em = FreeBsdEm.up(rig);
        for (int n = 0; n < 3; n++) {
            // What FreeBSD's stack hands over: ip_sum 0, th_sum the pseudo-header sum with the length.
            byte[] packet = ethernet(PEER, E1000Rig.MAC, 0x0800, ipv4(6, 77 + n, tcp(5000 + n, TCP_ACK,
                    payload(700 + n, n)), false));
            put16(packet, 14 + 2, packet.length - 14);
            put16(packet, 34 + 16, pseudo4(packet, 14, 6, packet.length - 34));
            em.encap(place(packet, 66, 2048), packet.length, Offload.CSUM_IP_TCP, 0, -1, true);
        }
        assertEquals(1 + 2 + 2 + 2, rig.r(TDH), "one context descriptor for three packets");
        List<byte[]> sent = rig.sent();
        assertEquals(3, sent.size());
        for (int n = 0; n < 3; n++) {
            byte[] f = sent.get(n);
            assertTrue(ipv4HeaderValid(f, 14), "IP checksum of packet " + n);
            assertTrue(tcp4Valid(f, 14, 34, f.length), "TCP checksum of packet " + n);
            assertEquals(700 + n + 66, f.length);
        }
    }

    @Test
    void tso4SixtyFourKilobytes() {
        em = FreeBsdEm.up(rig);
        int mss = 1448;
        byte[] data = payload(65536, 5);
        long seq = 0xfffff000L;
        byte[] packet = ethernet(PEER, E1000Rig.MAC, 0x0800,
                ipv4(6, 0xfff0, tcp(seq, TCP_ACK | TCP_PSH | TCP_FIN, data), false));
        // iflib's IFLIB_TSO_INIT_IP: ip_len for one segment, ip_sum 0, th_sum the pseudo-header without length.
        put16(packet, 14 + 2, 20 + 32 + mss);
        put16(packet, 34 + 16, pseudo4(packet, 14, 6, 0));
        int eop = em.encap(place(packet, 66, 4096), packet.length, Offload.TSO4, mss, -1, true);
        assertEquals(1 + 1 + 16 + 1, eop + 1, "context, header, 16 clusters, the sentinel");

        List<byte[]> sent = rig.sent();
        int segments = (data.length + mss - 1) / mss;
        assertEquals(46, segments);
        assertEquals(segments, sent.size());
        for (int k = 0; k < segments; k++) {
            byte[] f = sent.get(k);
            int chunk = Math.min(mss, data.length - k * mss);
            String what = "segment " + k;
            assertEquals(66 + chunk, f.length, what);
            assertArrayEquals(Arrays.copyOf(packet, 14), Arrays.copyOf(f, 14), what);
            assertEquals(20 + 32 + chunk, u16(f, 16), what + " IP total length");
            assertEquals((0xfff0 + k) & 0xffff, u16(f, 18), what + " IP identification");
            assertEquals(0x4000, u16(f, 20), what + " DF, no fragment");
            assertTrue(ipv4HeaderValid(f, 14), what + " IP checksum");
            assertEquals((seq + (long) k * mss) & 0xffffffffL, u32(f, 38), what + " sequence number");
            assertEquals(0x12345678L, u32(f, 42), what + " ack");
            int flags = k == segments - 1 ? TCP_ACK | TCP_PSH | TCP_FIN : TCP_ACK;
            assertEquals(flags, f[47] & 0xff, what + " flags");
            assertEquals(u16(packet, 48), u16(f, 48), what + " window");
            assertArrayEquals(Arrays.copyOfRange(packet, 52, 66), Arrays.copyOfRange(f, 52, 66), what + " options");
            assertTrue(tcp4Valid(f, 14, 34, f.length), what + " TCP checksum");
            assertArrayEquals(Arrays.copyOfRange(data, k * mss, k * mss + chunk), Arrays.copyOfRange(f, 66, f.length),
                    what + " payload");
        }
        assertEquals(TXD_STAT_DD, txStatus(eop));
        assertEquals(eop + 1, rig.r(TDH));
        assertEquals(1, rig.r(TSCTC));
        assertEquals(segments, rig.r(GPTC));

        // The next plain one-segment packet after a TSO burst gets a sentinel too.
        byte[] small = tcpFrame(PEER, 100, 9);
        int next = em.encap(place(small, 4096, 4096), small.length, Offload.NONE, 0, -1, true);
        assertEquals(eop + 2, next, "split into two descriptors");
        assertArrayEquals(small, rig.sent().get(segments));
    }

    @Test
    void tso6() {
        em = FreeBsdEm.up(rig);
        int mss = 1428;
        byte[] data = payload(20000, 6);
        byte[] packet = ethernet(PEER, E1000Rig.MAC, 0x86dd, ipv6(6, tcp(1, TCP_ACK | TCP_PSH, data), false));
        // in6_cksum_pseudo(ip6, 0, IPPROTO_TCP, 0), not complemented.
        put16(packet, 54 + 16, pseudo6(packet, 14, 6, 0));
        em.encap(place(packet, 86, 4096), packet.length, Offload.TSO6, mss, -1, true);
        List<byte[]> sent = rig.sent();
        int segments = (data.length + mss - 1) / mss;
        assertEquals(segments, sent.size());
        for (int k = 0; k < segments; k++) {
            byte[] f = sent.get(k);
            int chunk = Math.min(mss, data.length - k * mss);
            String what = "segment " + k;
            assertEquals(86 + chunk, f.length, what);
            assertEquals(32 + chunk, u16(f, 18), what + " IPv6 payload length");
            assertArrayEquals(Arrays.copyOfRange(packet, 14, 18), Arrays.copyOfRange(f, 14, 18), what + " version, flow");
            assertArrayEquals(Arrays.copyOfRange(packet, 20, 54), Arrays.copyOfRange(f, 20, 54), what + " addresses");
            assertEquals(1 + (long) k * mss, u32(f, 58), what + " sequence number");
            assertEquals(k == segments - 1 ? TCP_ACK | TCP_PSH : TCP_ACK, f[67] & 0xff, what + " flags");
            assertTrue(tcp6Valid(f, 14, 54, f.length), what + " TCP checksum");
            assertArrayEquals(Arrays.copyOfRange(data, k * mss, k * mss + chunk), Arrays.copyOfRange(f, 86, f.length));
        }
    }

    @Test
    void vlanInsertion() {
        em = FreeBsdEm.up(rig);
        byte[] frame = tcpFrame(PEER, 300, 2);
        em.encap(place(frame, 2048, 2048), frame.length, Offload.NONE, 0, 0x2064, true);
        byte[] sent = rig.sent().get(0);
        assertArrayEquals(tagged(frame, 0x2064), sent, "VET and the tag after the addresses");

        int mss = 500;
        byte[] data = payload(1200, 4);
        byte[] packet = ethernet(PEER, E1000Rig.MAC, 0x0800, ipv4(6, 1, tcp(7, TCP_ACK, data), false));
        put16(packet, 34 + 16, pseudo4(packet, 14, 6, 0));
        em.encap(place(packet, 66, 4096), packet.length, Offload.TSO4, mss, 100, true);
        List<byte[]> segments = rig.sent().subList(1, 4);
        for (byte[] f : segments) {
            assertEquals(0x8100, u16(f, 12));
            assertEquals(100, u16(f, 14));
            byte[] untagged = new byte[f.length - 4];
            System.arraycopy(f, 0, untagged, 0, 12);
            System.arraycopy(f, 16, untagged, 12, untagged.length - 12);
            assertTrue(ipv4HeaderValid(untagged, 14));
            assertTrue(tcp4Valid(untagged, 14, 34, untagged.length), "checksums computed on the untagged frame");
        }

        rig.w(CTRL, rig.r(CTRL) & ~CTRL_VME);
        em.encap(place(frame, 2048, 2048), frame.length, Offload.NONE, 0, 0x2064, true);
        assertArrayEquals(frame, rig.sent().get(4), "no insertion without CTRL.VME");
    }

    @Test
    void fullBackendQueueKeepsDescriptors() {
        em = FreeBsdEm.up(rig);
        rig.onLoop(() -> rig.backend.limitSends(1));
        byte[][] frames = {tcpFrame(PEER, 100, 1), tcpFrame(PEER, 200, 2), tcpFrame(PEER, 300, 3)};
        for (byte[] f : frames) {
            em.encap(place(f, 4096, 4096), f.length, Offload.NONE, 0, -1, true);
        }
        assertEquals(1, rig.sent().size());
        assertEquals(1, rig.r(TDH), "the refused packet's descriptor stays the device's");
        assertEquals(0, txStatus(1));
        rig.onLoop(rig.backend::unlimitSends);
        List<byte[]> sent = rig.sent();
        assertEquals(3, sent.size());
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(frames[i], sent.get(i));
            assertEquals(TXD_STAT_DD, txStatus(i));
        }
        assertEquals(3, rig.r(TDH));
    }

    @Test
    void tsoRefusedMidwayResumesAtTheRefusedSegment() {
        em = FreeBsdEm.up(rig);
        byte[] data = payload(5000, 8);
        byte[] packet = ethernet(PEER, E1000Rig.MAC, 0x0800, ipv4(6, 9, tcp(100, TCP_ACK, data), false));
        put16(packet, 34 + 16, pseudo4(packet, 14, 6, 0));
        rig.onLoop(() -> rig.backend.limitSends(2));
        em.encap(place(packet, 66, 4096), packet.length, Offload.TSO4, 1000, -1, true);
        assertEquals(2, rig.sent().size());
        assertEquals(1, rig.r(TDH), "the context descriptor is done, the packet's descriptors wait");
        rig.onLoop(rig.backend::unlimitSends);
        List<byte[]> sent = rig.sent();
        assertEquals(5, sent.size(), "no segment twice, none missing");
        for (int k = 0; k < 5; k++) {
            assertEquals(100 + 1000L * k, u32(sent.get(k), 38));
            assertTrue(tcp4Valid(sent.get(k), 14, 34, sent.get(k).length));
        }
    }

    @Test
    void linuxContextPerPacket() {
        LinuxE1000 linux = new LinuxE1000(rig);
        linux.probe();
        linux.open(FreeBsdEm.TX_RING, 256, 0x110000, 256, 0x200000);
        em = new FreeBsdEm(rig);
        em.txRing = FreeBsdEm.TX_RING;
        em.txCount = 256;
        for (int n = 0; n < 2; n++) {
            byte[] packet = ethernet(PEER, E1000Rig.MAC, 0x0800, ipv4(6, 5, tcp(1, TCP_ACK, payload(100, n)), true));
            put16(packet, 34 + 16, pseudo4(packet, 14, 6, packet.length - 34));
            // e1000_tx_csum: TUCSS/TUCSO only, no IP checksum (the stack computed it), IDE|RS on the last.
            rig.put(FreeBsdEm.TX_RING + 16L * em.txPidx, java.nio.ByteBuffer.allocate(16)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN).put((byte) 0).put((byte) 0).putShort((short) 0)
                    .put((byte) 34).put((byte) 50).putShort((short) 0)
                    .putInt(TXD_CMD_DEXT | TXD_CMD_TCP | TXD_CMD_IDE | TXD_CMD_RS).putInt(0).array());
            em.txPidx++;
            long[][] seg = place(packet, 4096, 4096);
            rig.putDescriptor(FreeBsdEm.TX_RING, em.txPidx, seg[0][0],
                    TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_IFCS | TXD_CMD_EOP | TXD_CMD_IDE | TXD_CMD_RS | packet.length,
                    TXD_POPTS_TXSM << 8);
            em.txPidx++;
            rig.w(TDT, em.txPidx);
        }
        List<byte[]> sent = rig.sent();
        assertEquals(2, sent.size());
        for (byte[] f : sent) {
            assertTrue(ipv4HeaderValid(f, 14));
            assertTrue(tcp4Valid(f, 14, 34, f.length));
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(TXD_STAT_DD, txStatus(i), "context descriptors with RS are written back too");
        }
    }
}
