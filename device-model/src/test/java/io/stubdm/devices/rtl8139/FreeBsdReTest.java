package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.rtl8139.Packets.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.rtl8139.FreeBsdRe.Received;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * FreeBSD's re(4) attaching to the RTL8139C+ and running it in C+ mode, through the memory BAR as re(4) prefers:
 * attach, init, traffic both ways with every descriptor checked, the offloads checked against checksums computed
 * independently, large send, a full receive ring, a backend that pushes back, the timer and the tally dump.
 */
class FreeBsdReTest {
    private final Rtl8139Rig rig = new Rtl8139Rig(true);
    private final FakeBackend host = rig.fake();
    private final FreeBsdRe re = new FreeBsdRe(rig);

    @AfterEach
    void nothingEscaped() {
        assertEquals(0, rig.engine.loop().failures(), "nothing escaped from the device into the loop");
        assertEquals(0, rig.engine.stats().deviceErrors());
        rig.close();
    }

    private void bringUp(boolean rxChecksum, boolean vlanStrip) {
        re.probe();
        byte[] mac = re.attach();
        re.init(mac, rxChecksum, vlanStrip);
    }

    /** Waits for the interrupt, then runs the handler until {@code n} frames have come up. */
    private List<Received> receive(int n) {
        List<Received> up = new ArrayList<>();
        long deadline = System.nanoTime() + Rtl8139Rig.WAIT_NANOS;
        while (up.size() < n) {
            assertTrue(System.nanoTime() < deadline, "received " + up.size() + " of " + n);
            if (rig.irq.get()) {
                up.addAll(re.interrupt());
            } else {
                Thread.onSpinWait();
            }
        }
        return up;
    }

    private List<byte[]> sent(int n) {
        Rtl8139Rig.await(n + " frames at the host", () -> rig.engine.onLoop(host::sent).size() >= n);
        return rig.engine.onLoop(host::sent);
    }

    @Test
    void attachFindsTheCplusChipItsAddressAndALinkedPhy() {
        re.probe();
        byte[] mac = re.attach();
        assertArrayEquals(Rtl8139Rig.MAC, mac, "the station address read from the 93C46");
        assertEquals(6, re.eepromWidth, "the 8-bit address probe fails on a 93C46, as on real hardware");
        assertEquals(0x8129, re.readEeprom(0));
        assertEquals(0x10ec, re.readEeprom(1));
        assertEquals(0x8139, re.readEeprom(2));

        int bmsr = rig.r16(BMSR);
        assertEquals(BMSR_LINK, bmsr & BMSR_LINK, "link up");
        assertEquals(0x0020, bmsr & 0x0020, "autonegotiation complete");
        assertEquals(0x7800, bmsr & 0x7800, "10/100, half and full duplex");
        assertEquals(BMCR_ANE, rig.r16(BMCR) & ~(0x4000 | 0x0400), "autonegotiating (re(4) masks LOOP and ISO)");
        int msr = rig.r8(MSR);
        assertEquals(0, msr & 0x04, "MEDIASTAT LINK (active low): link ok");
        assertEquals(0, msr & 0x08, "MEDIASTAT SPEED10 clear: 100 Mb/s");
        assertEquals(0x05e1, rig.r16(ANLPAR), "the partner autonegotiated 100 full duplex");
        assertFalse(rig.irq.get());
    }

    @Test
    void initPutsTheChipInCplusModeWithTheDriversRings() {
        bringUp(true, true);
        assertEquals(CPCR_MULRW | CPCR_RX_CHKSUM | CPCR_RX_VLAN | CPCR_RX_ENB | CPCR_TX_ENB, rig.r16(CPCR));
        assertEquals(FreeBsdRe.RX_RING, rig.r32(RDSAR) | rig.r32(RDSAR + 4) << 32);
        assertEquals(FreeBsdRe.TX_RING, rig.r32(TNPDS) | rig.r32(TNPDS + 4) << 32);
        assertEquals(CR_TE | CR_RE, rig.r8(CR) & (CR_TE | CR_RE | CR_RST));
        assertEquals(TCR_HWVERID_8139CPLUS | FreeBsdRe.TXCFG_CONFIG, rig.r32(TCR));
        assertEquals(FreeBsdRe.INTRS_CPLUS, rig.r16(IMR));
        assertEquals(0, rig.r16(ISR));
        assertEquals(FreeBsdRe.RXCFG_CONFIG | RCR_APM | RCR_AB, rig.r32(RCR));
        assertEquals(0x0c, rig.r8(CONFIG1) & 0x2c, "Config1 is locked outside config-write mode: no DRVLOAD");
        assertArrayEquals(Rtl8139Rig.MAC, rig.engine.onLoop(rig.nic::stationAddress));
        assertFalse(rig.irq.get());
    }

    @Test
    void framesFromTheWireArriveInDescriptorsWithStatusAndCrc() {
        bringUp(true, true);
        byte[] tcp = ipv4(Rtl8139Rig.MAC, PEER_MAC, TCP, payload(300, 1), TCP_ACK, true);
        byte[] badUdp = ipv4(Rtl8139Rig.MAC, PEER_MAC, UDP, payload(100, 2), 0, true);
        badUdp[badUdp.length - 1] ^= 0x55;
        byte[] badIp = ipv4(Rtl8139Rig.MAC, PEER_MAC, UDP, payload(20, 3), 0, true);
        badIp[14 + 10] ^= 0x01;
        byte[] arp = raw(BROADCAST, PEER_MAC, 42, 4);
        byte[] tagged = vlanTagged(ipv4(Rtl8139Rig.MAC, PEER_MAC, TCP, payload(64, 5), TCP_ACK, true), 0x2064);
        byte[] strangersUnicast = raw(new byte[] {0x02, 1, 2, 3, 4, 5}, PEER_MAC, 64, 6);
        byte[] unwantedGroup = raw(new byte[] {0x01, 0, 0x5e, 0, 0, 1}, PEER_MAC, 64, 7);
        byte[] big = raw(Rtl8139Rig.MAC, PEER_MAC, 3000, 8);
        byte[] giant = raw(Rtl8139Rig.MAC, PEER_MAC, 5000, 9);
        host.inject(tcp, badUdp, badIp, arp, tagged, strangersUnicast, unwantedGroup, big, giant);

        List<Received> up = receive(6);
        assertEquals(6, up.size());

        Received r = up.get(0);
        assertArrayEquals(tcp, r.frame());
        assertArrayEquals(fcs(tcp, tcp.length), r.fcs(), "the CRC follows the frame, as on real hardware");
        assertEquals(DESC_FS | DESC_LS, r.status() & (DESC_FS | DESC_LS | DESC_OWN));
        assertEquals(tcp.length + 4, r.status() & 0x1fff, "length includes the CRC");
        assertEquals(RXD_PAM, r.status() & (RXD_PAM | RXD_BAR | RXD_MAR));
        assertEquals(RXD_PID_TCP, r.status() & RXD_PID_IP, "TCP/IP");
        assertEquals(0, r.status() & (RXD_IPF | RXD_TCPF | RXD_UDPF), "checksums good");

        r = up.get(1);
        assertEquals(RXD_PID_UDP, r.status() & RXD_PID_IP);
        assertEquals(RXD_UDPF, r.status() & (RXD_IPF | RXD_TCPF | RXD_UDPF), "a bad UDP checksum is flagged");

        r = up.get(2);
        assertEquals(RXD_IPF, r.status() & RXD_IPF, "a bad IP header checksum is flagged");

        r = up.get(3);
        assertArrayEquals(padded(arp), r.frame(), "a short frame is padded to 60 bytes");
        assertArrayEquals(fcs(padded(arp), 60), r.fcs());
        assertEquals(RXD_BAR, r.status() & (RXD_PAM | RXD_BAR | RXD_MAR));
        assertEquals(0, r.status() & RXD_PID_IP, "not IP");

        r = up.get(4);
        assertTrue(r.tagged(), "the tag was stripped into the descriptor");
        assertEquals(0x2064, r.vlanTag());
        byte[] untagged = ipv4(Rtl8139Rig.MAC, PEER_MAC, TCP, payload(64, 5), TCP_ACK, true);
        assertArrayEquals(untagged, r.frame(), "without its tag");
        assertEquals(RXD_PID_TCP, r.status() & RXD_PID_IP, "the stripped frame is checked as TCP");
        assertEquals(0, r.status() & (RXD_IPF | RXD_TCPF));

        r = up.get(5);
        assertArrayEquals(big, r.frame(), "a 3000-byte frame spans two 2 KiB clusters");
        assertArrayEquals(fcs(big, big.length), r.fcs());

        assertFalse(up.get(0).tagged());
        Map<String, Long> drops = host.stats().dropsByCause();
        assertEquals(Map.of("rx-filtered", 2L, "rx-oversize", 1L), drops);
    }

    @Test
    void framesFromTheGuestLeaveWithTheOffloadsTheDescriptorsAskFor() {
        bringUp(true, true);
        byte[] tcp = ipv4(PEER_MAC, Rtl8139Rig.MAC, TCP, payload(1000, 11), TCP_ACK | TCP_PSH, false);
        byte[] udp = ipv4(PEER_MAC, Rtl8139Rig.MAC, UDP, payload(333, 12), 0, false);
        byte[] plain = raw(PEER_MAC, Rtl8139Rig.MAC, 500, 13);
        byte[] runt = raw(PEER_MAC, Rtl8139Rig.MAC, 42, 14);
        re.transmit(tcp, 3, TXD_IPCS | TXD_TCPCS, 0);
        re.transmit(udp, 2, TXD_IPCS | TXD_UDPCS, 0);
        re.transmit(plain, 1, 0, Integer.reverseBytes(100) >>> 16 | TXD_TAGC);
        re.transmit(runt, 1, 0, 0);

        List<byte[]> out = sent(4);
        assertChecksumsValid(out.get(0), 14, "TCP with IP and TCP checksum offload");
        assertEquals(tcp.length, out.get(0).length);
        assertArrayEquals(Arrays.copyOfRange(tcp, 54, tcp.length), Arrays.copyOfRange(out.get(0), 54, tcp.length));
        assertChecksumsValid(out.get(1), 14, "UDP with IP and UDP checksum offload");

        byte[] vlan = out.get(2);
        assertEquals(plain.length + 4, vlan.length);
        assertArrayEquals(new byte[] {(byte) 0x81, 0, 0, 100}, Arrays.copyOfRange(vlan, 12, 16), "802.1Q tag 100");
        assertArrayEquals(Arrays.copyOfRange(plain, 12, plain.length), Arrays.copyOfRange(vlan, 16, vlan.length));
        assertArrayEquals(padded(runt), out.get(3), "the 8139C+ pads short frames itself");

        Rtl8139Rig.await("TOK", rig.irq::get);
        assertEquals(INT_TOK, rig.r16(ISR) & INT_TOK);
        re.interrupt();
        assertEquals(re.txProducer, re.txConsumer, "every descriptor came back");
        assertEquals(0, re.collisions, "no status bits left in handed-back descriptors");
        assertEquals(0, re.outputErrors);
        assertEquals(Map.of(), host.stats().dropsByCause());
    }

    @Test
    void largeSendSegmentsAtTheDescriptorsMss() {
        bringUp(true, true);
        byte[] payload = payload(4000, 21);
        byte[] tcp = ipv4(PEER_MAC, Rtl8139Rig.MAC, TCP, payload, TCP_ACK | TCP_PSH | TCP_FIN, false);
        int mss = 1448;
        int vlanWord = Integer.reverseBytes(7) >>> 16 | TXD_TAGC;
        re.transmit(tcp, 2, TXD_LGSEN | mss << TXD_MSS_SHIFT, vlanWord);

        List<byte[]> segments = sent(3);
        assertEquals(3, segments.size());
        ByteBuffer joined = ByteBuffer.allocate(payload.length);
        int[] sizes = {1448, 1448, 1104};
        for (int i = 0; i < 3; i++) {
            byte[] s = segments.get(i);
            assertArrayEquals(new byte[] {(byte) 0x81, 0, 0, 7}, Arrays.copyOfRange(s, 12, 16), "tagged, segment " + i);
            byte[] untagged = new byte[s.length - 4];
            System.arraycopy(s, 0, untagged, 0, 12);
            System.arraycopy(s, 16, untagged, 12, s.length - 16);
            assertEquals(14 + 40 + sizes[i], untagged.length, "segment " + i + " carries one MSS");
            assertEquals(40 + sizes[i], be16(untagged, 16), "IP total length");
            assertEquals(0x2a00 + i, be16(untagged, 18), "IP ID counts up");
            assertEquals(0x10203040 + i * 1448, be32(untagged, 38), "TCP sequence number");
            int flags = untagged[47] & 0xff;
            assertEquals(TCP_ACK, flags & TCP_ACK);
            assertEquals(i == 2 ? TCP_PSH | TCP_FIN : 0, flags & (TCP_PSH | TCP_FIN), "PSH and FIN on the last only");
            assertChecksumsValid(untagged, 14, "segment " + i);
            joined.put(untagged, 54, sizes[i]);
        }
        assertArrayEquals(payload, joined.array(), "the payload, in order, once");
    }

    @Test
    void aFullRingHoldsFramesUntilTheDriverRefillsIt() {
        bringUp(false, false);
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < 70; i++) {
            frames.add(raw(Rtl8139Rig.MAC, PEER_MAC, 100 + i, i));
        }
        host.inject(frames.toArray(new byte[0][]));
        Rtl8139Rig.await("the 65th frame to be held", () -> rig.engine.onLoop(host::waiting) == 6);
        assertEquals(1, rig.engine.onLoop(rig.nic::receiveHolds));

        // One interrupt: re_rxeof takes 16 frames and refills their descriptors; unmasking IMR is the register
        // write on which the NIC looks again and takes the held frames.
        Rtl8139Rig.await("the receive interrupt", rig.irq::get);
        List<Received> up = new ArrayList<>(re.interrupt());
        Rtl8139Rig.await("the held frames to go in", () -> rig.engine.onLoop(host::waiting) == 0);

        // The rest by polling (DEVICE_POLLING): no register writes, yet refilled descriptors are noticed.
        rig.w16(IMR, 0);
        host.inject(frames.subList(0, 60).toArray(new byte[0][]));
        Rtl8139Rig.await("the free descriptors to fill", () -> rig.engine.onLoop(rig.nic::receiveHolds) >= 2);
        long deadline = System.nanoTime() + Rtl8139Rig.WAIT_NANOS;
        while (up.size() < 130) {
            assertTrue(System.nanoTime() < deadline, "received " + up.size() + " of 130");
            up.addAll(re.poll());
        }
        for (int i = 0; i < 130; i++) {
            assertArrayEquals(frames.get(i % 70), up.get(i).frame(), "frame " + i + " in order");
        }
        assertEquals(Map.of(), host.stats().dropsByCause(), "held, never dropped");
    }

    @Test
    void theTransmitterWaitsForABackendThatPushesBack() {
        bringUp(false, false);
        host.setFull(true);
        rig.settle();
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            frames.add(ipv4(PEER_MAC, Rtl8139Rig.MAC, UDP, payload(200 + i, i), 0, false));
            re.transmit(frames.get(i), 1, TXD_IPCS | TXD_UDPCS, 0);
        }
        rig.settle();
        assertEquals(0, rig.engine.onLoop(host::sent).size());
        assertNotEquals(0, rig.ram.readValue(FreeBsdRe.TX_RING + 16, 4) & (DESC_OWN & 0xffffffffL),
                "the frames behind the refused one stay with the NIC");

        host.setFull(false);
        List<byte[]> out = sent(3);
        for (int i = 0; i < 3; i++) {
            assertEquals(frames.get(i).length, out.get(i).length);
            assertChecksumsValid(out.get(i), 14, "frame " + i);
            assertEquals(200 + i, out.get(i).length - 42, "frame " + i + " in order");
        }
        assertEquals(Map.of(), host.stats().dropsByCause());
    }

    @Test
    void loopbackModeReceivesWhatItSends() {
        bringUp(false, false);
        rig.w32(TCR, FreeBsdRe.TXCFG_CONFIG | TCR_LBK);
        byte[] frame = raw(Rtl8139Rig.MAC, Rtl8139Rig.MAC, 128, 1);
        re.transmit(frame, 1, 0, 0);
        List<Received> up = receive(1);
        assertArrayEquals(frame, up.get(0).frame());
        assertEquals(0, rig.engine.onLoop(host::sent).size(), "nothing reaches the wire");
    }

    @Test
    void theTimerInterruptsWhenTctrReachesTimerInt() {
        bringUp(false, false);
        long t0 = rig.r32(TCTR);
        long t1 = rig.r32(TCTR);
        assertTrue(t1 >= t0, "TCTR counts up");
        // RE_TX_MODERATION: TIMERINT 0x400, then TIMERCNT restarted by a write.
        rig.w32(TIMER_INT, 0x400);
        rig.w32(TCTR, 1);
        Rtl8139Rig.await("the timer interrupt", rig.irq::get);
        assertEquals(INT_TIMEOUT, rig.r16(ISR) & INT_TIMEOUT);
        rig.w32(TIMER_INT, 0);
        rig.w16(ISR, INT_TIMEOUT);
        assertFalse(rig.irq.get());

        rig.w8(TPPOLL, TPPOLL_FSWINT);
        assertEquals(INT_SWINT, rig.r16(ISR) & INT_SWINT, "a forced software interrupt");
    }

    @Test
    void theTallyCountersAreDumpedWhereTheDriverAsks() {
        bringUp(false, false);
        host.inject(raw(Rtl8139Rig.MAC, PEER_MAC, 80, 1), raw(BROADCAST, PEER_MAC, 80, 2));
        receive(2);
        re.transmit(raw(PEER_MAC, Rtl8139Rig.MAC, 80, 3), 1, 0, 0);
        sent(1);
        ByteBuffer stats = ByteBuffer.wrap(re.dumpStatistics()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, stats.getLong(0), "Tx frames");
        assertEquals(2, stats.getLong(8), "Rx frames");
        assertEquals(0, stats.getLong(16), "Tx errors");
        assertEquals(1, stats.getLong(40), "Rx unicast");
        assertEquals(1, stats.getLong(48), "Rx broadcast");
    }

    @Test
    void anUnpluggedNicWritesNothingMoreIntoTheGuest() {
        bringUp(false, false);
        rig.engine.onLoop(() -> rig.bus.unplug(Rtl8139Rig.SLOT << 3));
        byte[] before = new byte[FreeBsdRe.CLUSTER];
        rig.ram.read(FreeBsdRe.RX_CLUSTERS, before, 0, before.length);
        host.inject(raw(Rtl8139Rig.MAC, PEER_MAC, 100, 1));
        rig.settle();
        byte[] after = new byte[FreeBsdRe.CLUSTER];
        rig.ram.read(FreeBsdRe.RX_CLUSTERS, after, 0, after.length);
        assertArrayEquals(before, after, "the ring the guest may have reused is untouched");
        assertEquals(1, host.stats().drops("rx-unplugged"));
        assertFalse(rig.irq.get());
    }

    private static byte[] vlanTagged(byte[] frame, int tci) {
        byte[] t = new byte[frame.length + 4];
        System.arraycopy(frame, 0, t, 0, 12);
        t[12] = (byte) 0x81;
        t[13] = 0;
        t[14] = (byte) (tci >> 8);
        t[15] = (byte) tci;
        System.arraycopy(frame, 12, t, 16, frame.length - 12);
        return t;
    }
}
