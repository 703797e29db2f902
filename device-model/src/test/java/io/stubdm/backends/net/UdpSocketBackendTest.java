package io.stubdm.backends.net;

import static io.stubdm.backends.net.Frames.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Two UDP backends on 127.0.0.1, each with a NIC on its own loop, exchanging Ethernet frames. */
class UdpSocketBackendTest {

    private static void sendAll(TestNic nic, NetBackend backend, List<byte[]> frames) throws Exception {
        nic.onLoop(() -> {
            for (byte[] f : frames) {
                assertTrue(backend.send(ByteBuffer.wrap(f)), "a UDP socket's buffer takes a few frames");
            }
            return null;
        });
    }

    @Test
    void framesGoBothWaysWholeAndInOrder() throws Exception {
        int pa = freePort();
        int pb = freePort();
        try (UdpSocketBackend a = new UdpSocketBackend(loopback(pa), loopback(pb));
                UdpSocketBackend b = new UdpSocketBackend(loopback(pb), loopback(pa));
                TestNic nicA = new TestNic();
                TestNic nicB = new TestNic()) {
            assertEquals("udp:127.0.0.1:" + pa + "->127.0.0.1:" + pb, a.describe());
            a.connect(nicA.loop, nicA);
            b.connect(nicB.loop, nicB);
            List<byte[]> toB = new ArrayList<>();
            List<byte[]> toA = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                toB.add(numbered(MAC_B, MAC_A, i, 60 + i * 37));
                toA.add(numbered(MAC_A, MAC_B, 1000 + i, 1514 - i * 11));
            }
            toB.add(numbered(MAC_B, MAC_A, 40, 9018)); // a jumbo frame grows its receive slot
            sendAll(nicA, a, toB);
            sendAll(nicB, b, toA);

            List<byte[]> gotB = nicB.awaitReceived(toB.size());
            List<byte[]> gotA = nicA.awaitReceived(toA.size());
            for (int i = 0; i < toB.size(); i++) {
                assertArrayEquals(toB.get(i), gotB.get(i), "frame " + i + " to B");
            }
            for (int i = 0; i < toA.size(); i++) {
                assertArrayEquals(toA.get(i), gotA.get(i), "frame " + i + " to A");
            }
            assertTrue(nicB.receivingThread().getName().startsWith("test-nic-loop"), "frames arrive on the loop");
            assertEquals(toB.size(), a.stats().txFrames.get());
            assertEquals(toB.size(), b.stats().rxFrames.get());
            assertEquals(toB.stream().mapToLong(f -> f.length).sum(), b.stats().rxBytes.get());
            assertEquals(Map.of(), a.stats().dropsByCause());
            assertEquals(Map.of(), b.stats().dropsByCause());
        }
    }

    @Test
    void aNicWithoutRoomHoldsTheBackendUntilItResumes() throws Exception {
        int pa = freePort();
        int pb = freePort();
        try (UdpSocketBackend a = new UdpSocketBackend(loopback(pa), loopback(pb));
                UdpSocketBackend b = new UdpSocketBackend(loopback(pb), loopback(pa));
                TestNic nicA = new TestNic();
                TestNic nicB = new TestNic()) {
            a.connect(nicA.loop, nicA);
            nicB.acceptOnly(3);
            b.connect(nicB.loop, nicB);
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                frames.add(numbered(MAC_B, MAC_A, i, 100 + i));
            }
            sendAll(nicA, a, frames);

            nicB.awaitRefusals(1);
            Thread.sleep(200);
            assertEquals(3, nicB.received().size(), "three taken");
            assertEquals(1, nicB.refusals(), "the refused frame is not offered again before resumeReceive");

            nicB.acceptOnly(Long.MAX_VALUE);
            nicB.onLoop(() -> {
                b.resumeReceive();
                return null;
            });
            List<byte[]> got = nicB.awaitReceived(frames.size());
            for (int i = 0; i < frames.size(); i++) {
                assertArrayEquals(frames.get(i), got.get(i), "frame " + i + " after the hold");
            }
            assertEquals(Map.of(), b.stats().dropsByCause(), "held, not dropped");
        }
    }

    @Test
    void oversizedFramesAndClosedBackendsAreCountedDrops() throws Exception {
        int pa = freePort();
        int pb = freePort();
        try (UdpSocketBackend a = new UdpSocketBackend(loopback(pa), loopback(pb));
                UdpSocketBackend b = new UdpSocketBackend(loopback(pb), loopback(pa));
                TestNic nicA = new TestNic();
                TestNic nicB = new TestNic()) {
            a.connect(nicA.loop, nicA);
            nicB.acceptOnly(0);
            b.connect(nicB.loop, nicB);
            nicA.onLoop(() -> a.send(ByteBuffer.wrap(new byte[UdpSocketBackend.MAX_DATAGRAM + 1])));
            assertEquals(1, a.stats().drops("tx-too-large"));

            sendAll(nicA, a, List.of(numbered(MAC_B, MAC_A, 1, 64), numbered(MAC_B, MAC_A, 2, 64)));
            nicB.awaitRefusals(1);
            // Give the second datagram time to be read into the queue behind the held one.
            Thread.sleep(200);
            closeNow(b);
            assertTrue(b.stats().drops("rx-closed") >= 1, "what the NIC never took is counted: " + b.stats().dropsByCause());
            assertTrue(b.send(ByteBuffer.wrap(numbered(MAC_A, MAC_B, 3, 64))));
            assertEquals(1, b.stats().drops("tx-closed"));
        }
    }

    /** Closes ahead of try-with-resources, which closes again: a second close must be harmless. */
    private static void closeNow(NetBackend backend) {
        backend.close();
    }

    @Test
    void aPeerThatIsNotListeningIsReportedAsUnreachable() throws Exception {
        int pa = freePort();
        int nobody = freePort();
        try (UdpSocketBackend a = new UdpSocketBackend(loopback(pa), loopback(nobody));
                TestNic nic = new TestNic()) {
            a.connect(nic.loop, nic);
            long deadline = System.currentTimeMillis() + 5000;
            while (a.stats().drops("tx-peer-unreachable") == 0 && System.currentTimeMillis() < deadline) {
                nic.onLoop(() -> a.send(ByteBuffer.wrap(numbered(MAC_B, MAC_A, 0, 64))));
                Thread.sleep(20);
            }
            assertTrue(a.stats().drops("tx-peer-unreachable") > 0, "the kernel's ICMP error becomes a counted drop");
        }
    }

    @Test
    void anEphemeralLocalPortIsReported() throws Exception {
        try (UdpSocketBackend a = new UdpSocketBackend(loopback(0), loopback(freePort()))) {
            assertNotEquals(0, a.localAddress().getPort());
            assertTrue(a.describe().startsWith("udp:127.0.0.1:" + a.localAddress().getPort() + "->"));
        }
    }
}
