package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.rtl8139.Packets.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.rtl8139.Linux8139too.Received;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Linux's 8139too in C mode through the I/O BAR: the receive ring buffer (frames running past its end with WRAP
 * set, wrapping to its start without), a full ring holding frames until CAPR moves, transmission through the
 * four TSD/TSAD pairs, and RCR's address filter with the multicast hash.
 */
class Linux8139tooTest {
    private final Rtl8139Rig rig = new Rtl8139Rig(false);
    private final FakeBackend host = rig.fake();
    private final Linux8139too linux = new Linux8139too(rig);

    @AfterEach
    void nothingEscaped() {
        assertEquals(0, rig.engine.loop().failures(), "nothing escaped from the device into the loop");
        assertEquals(0, rig.engine.stats().deviceErrors());
        rig.close();
    }

    private void start(int rxBufIdx, boolean wrap) {
        assertEquals("RTL-8139C+", linux.chipName());
        byte[] mac = linux.readMac();
        assertArrayEquals(Rtl8139Rig.MAC, mac);
        linux.hwStart(mac, rxBufIdx, wrap);
    }

    /** Services interrupts until {@code n} frames have come up. */
    private List<Received> receive(int n) {
        List<Received> up = new ArrayList<>();
        long deadline = System.nanoTime() + Rtl8139Rig.WAIT_NANOS;
        while (up.size() < n) {
            assertTrue(System.nanoTime() < deadline, "received " + up.size() + " of " + n);
            if (rig.irq.get()) {
                up.addAll(linux.interrupt());
            } else {
                Thread.onSpinWait();
            }
        }
        return up;
    }

    private void assertDelivered(List<byte[]> sent, List<Received> up) {
        assertEquals(sent.size(), up.size());
        for (int i = 0; i < sent.size(); i++) {
            byte[] expected = padded(sent.get(i));
            assertArrayEquals(expected, up.get(i).frame(), "frame " + i);
            assertArrayEquals(fcs(expected, expected.length), up.get(i).fcs(), "frame " + i + "'s CRC");
            assertEquals(RSR_ROK, up.get(i).status() & RSR_ROK);
        }
    }

    @Test
    void framesRunPastTheRingsEndWhenWrapIsSet() {
        start(2, true);
        assertEquals(0xfff0, rig.r16(CAPR), "CAPR starts 16 below the ring start");
        assertEquals(CR_BUFE, rig.r8(CR) & CR_BUFE, "empty");
        List<byte[]> sent = new ArrayList<>();
        List<Received> up = new ArrayList<>();
        for (int batch = 0; batch < 16; batch++) {
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                int n = batch * 10 + i;
                frames.add(raw(Rtl8139Rig.MAC, PEER_MAC, new int[] {1514, 907, 42, 1333, 64}[n % 5], n));
            }
            sent.addAll(frames);
            host.inject(frames.toArray(new byte[0][]));
            up.addAll(receive(frames.size()));
        }
        assertDelivered(sent, up);
        assertTrue(up.stream().filter(Received::crossedEnd).count() >= 2, "some frames ran past the 32 KiB end");
        assertEquals(Map.of(), host.stats().dropsByCause());
        assertFalse(rig.irq.get());
    }

    @Test
    void framesWrapToTheRingsStartWithoutWrap() {
        start(0, false);
        List<byte[]> sent = new ArrayList<>();
        List<Received> up = new ArrayList<>();
        for (int n = 0; n < 40; n++) {
            byte[] f = raw(Rtl8139Rig.MAC, PEER_MAC, 600 + n * 23, n);
            sent.add(f);
            host.inject(f);
            up.addAll(receive(1));
        }
        assertDelivered(sent, up);
        assertTrue(up.stream().anyMatch(Received::crossedEnd), "some frames wrapped round the 8 KiB ring");
    }

    @Test
    void aFullRingHoldsFramesUntilTheDriverMovesCapr() {
        start(2, true);
        List<byte[]> sent = new ArrayList<>();
        for (int n = 0; n < 40; n++) {
            sent.add(raw(Rtl8139Rig.MAC, PEER_MAC, 1514, n));
        }
        host.inject(sent.toArray(new byte[0][]));
        Rtl8139Rig.await("the ring to fill", () -> rig.engine.onLoop(host::waiting) > 0
                && rig.engine.onLoop(host::refusedOffers) > 0);
        int waiting = rig.engine.onLoop(host::waiting);
        assertEquals(40 - 21, waiting, "21 full-size frames fit in 32 KiB, the rest wait");
        assertDelivered(sent, receive(40));
        assertTrue(rig.engine.onLoop(rig.nic::receiveHolds) >= 1);
        assertEquals(Map.of(), host.stats().dropsByCause(), "nothing lost");
    }

    @Test
    void framesLeaveThroughTheFourTransmitDescriptors() {
        start(2, true);
        List<byte[]> frames = new ArrayList<>();
        for (int n = 0; n < 11; n++) {
            frames.add(raw(PEER_MAC, Rtl8139Rig.MAC, n == 3 ? 42 : 100 + n * 100, n));
        }
        int queued = 0;
        long deadline = System.nanoTime() + Rtl8139Rig.WAIT_NANOS;
        while (linux.dirtyTx < frames.size()) {
            assertTrue(System.nanoTime() < deadline, "transmitted " + linux.dirtyTx);
            while (queued < frames.size() && linux.curTx - linux.dirtyTx < Linux8139too.NUM_TX_DESC) {
                linux.xmit(frames.get(queued++));
            }
            if (rig.irq.get()) {
                linux.interrupt();
            }
        }
        List<byte[]> out = rig.engine.onLoop(host::sent);
        assertEquals(frames.size(), out.size());
        for (int n = 0; n < frames.size(); n++) {
            assertArrayEquals(padded(frames.get(n)), out.get(n), "frame " + n);
        }
        assertEquals(0xf00f, rig.r16(TSAD) & 0xf00f, "TSAD: TOK and OWN for all four");
    }

    @Test
    void theTransmitterWaitsWhileTheBackendPushesBack() {
        start(2, true);
        host.setFull(true);
        rig.settle();
        linux.xmit(raw(PEER_MAC, Rtl8139Rig.MAC, 200, 1));
        linux.xmit(raw(PEER_MAC, Rtl8139Rig.MAC, 300, 2));
        rig.settle();
        assertEquals(0, rig.r32(TSD0) & TSD_OWN, "the refused frame's buffer still belongs to the NIC");
        assertEquals(0, linux.txInterrupt());
        host.setFull(false);
        Rtl8139Rig.await("both frames", () -> rig.engine.onLoop(host::sent).size() == 2);
        assertEquals(2, linux.txInterrupt());
        assertEquals(Map.of(), host.stats().dropsByCause());
    }

    @Test
    void theMulticastFilterTakesOnlyHashedGroups() {
        start(2, true);
        byte[] mdns = {0x01, 0x00, 0x5e, 0x00, 0x00, (byte) 0xfb};
        byte[] allNodes = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
        byte[] other = otherGroup(List.of(mdns, allNodes));
        linux.setRxMode(List.of(mdns, allNodes), false);
        int mdnsBit = etherCrc(mdns) >>> 26;
        assertNotEquals(0, rig.r8(MAR0 + (mdnsBit >> 3)) & 1 << (mdnsBit & 7), "the hash bit, as Linux sets it");

        byte[] stranger = {2, 9, 9, 9, 9, 9};
        host.inject(raw(mdns, PEER_MAC, 80, 1), raw(other, PEER_MAC, 80, 2), raw(allNodes, PEER_MAC, 80, 3),
                raw(BROADCAST, PEER_MAC, 80, 4), raw(stranger, PEER_MAC, 80, 5), raw(Rtl8139Rig.MAC, PEER_MAC, 80, 6));
        List<Received> up = receive(4);
        rig.settle();
        assertArrayEquals(raw(mdns, PEER_MAC, 80, 1), up.get(0).frame());
        assertEquals(RSR_MAR, up.get(0).status() & (RSR_MAR | RSR_BAR | RSR_PAM));
        assertArrayEquals(raw(allNodes, PEER_MAC, 80, 3), up.get(1).frame(), "the group not hashed was skipped");
        assertEquals(RSR_MAR, up.get(1).status() & (RSR_MAR | RSR_BAR | RSR_PAM));
        assertEquals(RSR_BAR, up.get(2).status() & (RSR_MAR | RSR_BAR | RSR_PAM));
        assertArrayEquals(raw(Rtl8139Rig.MAC, PEER_MAC, 80, 6), up.get(3).frame());
        assertEquals(RSR_PAM, up.get(3).status() & (RSR_MAR | RSR_BAR | RSR_PAM));
        assertEquals(2, host.stats().drops("rx-filtered"), "the other group and the stranger's unicast");

        linux.setRxMode(List.of(), true);
        host.inject(raw(other, PEER_MAC, 80, 7), raw(stranger, PEER_MAC, 80, 8));
        up = receive(2);
        assertArrayEquals(raw(stranger, PEER_MAC, 80, 8), up.get(1).frame());
        assertEquals(0, up.get(1).status() & (RSR_MAR | RSR_BAR | RSR_PAM), "promiscuous: someone else's frame");

        linux.setRxMode(List.of(), false);
        rig.w32(RCR, linux.rxConfig | RCR_APM);
        host.inject(raw(mdns, PEER_MAC, 80, 9), raw(BROADCAST, PEER_MAC, 80, 10), raw(Rtl8139Rig.MAC, PEER_MAC, 80, 11));
        up = receive(1);
        assertEquals(RSR_PAM, up.get(0).status() & (RSR_MAR | RSR_BAR | RSR_PAM), "only unicast without AM and AB");
        assertEquals(4, host.stats().drops("rx-filtered"));
    }

    /** A group address whose hash bit none of {@code groups} sets. */
    private static byte[] otherGroup(List<byte[]> groups) {
        for (int last = 0; last < 256; last++) {
            byte[] g = {0x01, 0x00, 0x5e, 0x7f, 0x00, (byte) last};
            int bit = etherCrc(g) >>> 26;
            if (groups.stream().noneMatch(x -> etherCrc(x) >>> 26 == bit)) {
                return g;
            }
        }
        throw new AssertionError("no group with a free hash bit");
    }
}
