package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.rtl8139.Packets.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.backends.net.UdpSocketBackend;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two simulated guests, each with its own engine, simulated Xen and RTL8139C+, linked by UDP backends on
 * 127.0.0.1 as {@code -netdev socket,udp=...} links two QEMUs: a FreeBSD guest (re(4), C+ mode, checksum
 * offload) and a Linux guest (8139too, C mode) exchange frames both ways.
 */
class TwoGuestsTest {
    private static final byte[] FREEBSD_MAC = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01};
    private static final byte[] LINUX_MAC = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x02};

    private static int freePort() throws Exception {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress("127.0.0.1", 0));
            return ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
    }

    @Test
    void aFreeBsdGuestAndALinuxGuestTalk() throws Exception {
        int portA = freePort();
        int portB = freePort();
        UdpSocketBackend linkA = new UdpSocketBackend(new InetSocketAddress("127.0.0.1", portA),
                new InetSocketAddress("127.0.0.1", portB));
        UdpSocketBackend linkB = new UdpSocketBackend(new InetSocketAddress("127.0.0.1", portB),
                new InetSocketAddress("127.0.0.1", portA));
        try (Rtl8139Rig freebsd = new Rtl8139Rig(true, linkA, FREEBSD_MAC);
                Rtl8139Rig linux = new Rtl8139Rig(false, linkB, LINUX_MAC);
                linkA;
                linkB) {
            FreeBsdRe re = new FreeBsdRe(freebsd);
            re.probe();
            re.init(re.attach(), true, true);
            Linux8139too too = new Linux8139too(linux);
            too.hwStart(too.readMac(), 2, true);

            List<byte[]> toLinux = new ArrayList<>();
            List<byte[]> toFreeBsd = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                toLinux.add(ipv4(LINUX_MAC, FREEBSD_MAC, i % 2 == 0 ? TCP : UDP, payload(50 + i * 70, i), TCP_ACK, false));
                toFreeBsd.add(raw(FREEBSD_MAC, LINUX_MAC, 60 + i * 71, i));
            }
            for (byte[] f : toLinux) {
                re.transmit(f, 1, TXD_IPCS | TXD_TCPCS | TXD_UDPCS, 0);
                if (re.txFree < 8) {
                    re.reclaim();
                }
            }
            int queued = 0;
            List<Linux8139too.Received> atLinux = new ArrayList<>();
            List<FreeBsdRe.Received> atFreeBsd = new ArrayList<>();
            long deadline = System.nanoTime() + Rtl8139Rig.WAIT_NANOS;
            while (atLinux.size() < toLinux.size() || atFreeBsd.size() < toFreeBsd.size()) {
                assertTrue(System.nanoTime() < deadline,
                        "Linux has " + atLinux.size() + ", FreeBSD " + atFreeBsd.size() + " of 20");
                while (queued < toFreeBsd.size() && too.curTx - too.dirtyTx < Linux8139too.NUM_TX_DESC) {
                    too.xmit(toFreeBsd.get(queued++));
                }
                if (linux.irq.get()) {
                    atLinux.addAll(too.interrupt());
                }
                if (freebsd.irq.get()) {
                    atFreeBsd.addAll(re.interrupt());
                } else {
                    // re_rxeof takes at most 16 frames per interrupt and leaves the rest for the next one; with
                    // no more traffic coming, FreeBSD's next look is its poll.
                    atFreeBsd.addAll(re.poll());
                }
            }
            for (int i = 0; i < 20; i++) {
                byte[] got = atLinux.get(i).frame();
                assertEquals(toLinux.get(i).length, got.length, "frame " + i + " to Linux");
                assertChecksumsValid(got, 14, "frame " + i + " to Linux, checksummed by FreeBSD's NIC");
                assertArrayEquals(toFreeBsd.get(i), atFreeBsd.get(i).frame(), "frame " + i + " to FreeBSD");
            }
            assertEquals(Map.of(), linkA.stats().dropsByCause());
            assertEquals(Map.of(), linkB.stats().dropsByCause());
            assertEquals(0, freebsd.engine.loop().failures());
            assertEquals(0, linux.engine.loop().failures());
        }
    }
}
