package io.stubdm.backends.net;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real TAP interface on this machine: created by name as libxl asks for it, moved into a network namespace the
 * test creates, given an address there, and then the namespace's kernel is the other end of the cable. Frames go
 * both ways: an ARP request from the NIC that the kernel answers (and learns from), an ICMP echo it replies to.
 *
 * <p>Needs root, /dev/net/tun and iproute2's {@code ip}; skipped without them, except under CI ({@code CI=true}),
 * where their absence fails the test.
 */
class TapBackendTest {
    private static final byte[] NIC_MAC = {0x02, 0x54, 0x41, 0x50, 0x00, 0x02};
    private static final byte[] NIC_IP = {10, (byte) 199, 0, 2};
    private static final byte[] HOST_IP = {10, (byte) 199, 0, 1};
    private static final int ETHERTYPE_ARP = 0x0806;
    private static final int ETHERTYPE_IPV4 = 0x0800;

    private final String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
    private final String ifname = "stubdmt" + suffix;
    private final String netns = "stubdm-test-" + suffix;
    private boolean namespaceCreated;

    @BeforeEach
    void requireRootAndIproute() {
        String missing = null;
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            missing = "/dev/net/tun";
        } else if (!"0".equals(output("id", "-u").trim())) {
            missing = "root";
        } else if (run("ip", "-V") != 0) {
            missing = "iproute2's ip";
        }
        if (missing != null) {
            assertNotEquals("true", System.getenv("CI"), "CI must run this test as root with iproute2: no " + missing);
            assumeTrue(false, "the TAP test needs " + missing);
        }
    }

    @AfterEach
    void removeNamespace() {
        if (namespaceCreated) {
            run("ip", "netns", "del", netns);
        }
    }

    @Test
    void aTapCreatedByNameCarriesFramesBothWays() throws Exception {
        try (TapBackend tap = new TapBackend(ifname); TestNic nic = new TestNic()) {
            assertEquals(ifname, tap.interfaceName());
            assertEquals("tap:" + ifname, tap.describe());
            assertEquals(0, run("ip", "link", "show", "dev", ifname), "the interface exists as soon as the backend does");

            tap.connect(nic.loop, nic);
            nic.onLoop(() -> tap.send(ByteBuffer.wrap(arpRequest())));
            assertEquals(1, tap.stats().drops("tx-link-down"), "a tap that is down refuses frames; counted");

            must("ip", "netns", "add", netns);
            namespaceCreated = true;
            must("ip", "link", "set", "dev", ifname, "netns", netns);
            must("ip", "-n", netns, "addr", "add", "10.199.0.1/24", "dev", ifname);
            must("ip", "-n", netns, "link", "set", "dev", ifname, "up");
            byte[] hostMac = macOf(output("ip", "-n", netns, "-o", "link", "show", "dev", ifname));

            // NIC -> host: an ARP request; host -> NIC: its reply.
            nic.onLoop(() -> tap.send(ByteBuffer.wrap(arpRequest())));
            byte[] reply = nic.awaitFrame("ARP reply", f -> be16(f, 12) == ETHERTYPE_ARP && be16(f, 20) == 2);
            assertArrayEquals(NIC_MAC, Arrays.copyOfRange(reply, 0, 6), "addressed to the NIC");
            assertArrayEquals(hostMac, Arrays.copyOfRange(reply, 22, 28), "the namespace's interface answers");
            assertArrayEquals(HOST_IP, Arrays.copyOfRange(reply, 28, 32));
            String neighbour = output("ip", "-n", netns, "neigh", "show", "10.199.0.2");
            assertTrue(neighbour.contains("02:54:41:50:00:02"), "the kernel learned the NIC's address: " + neighbour);

            // An ICMP echo the kernel answers, payload and all.
            byte[] request = icmpEcho(hostMac, 0x5354, 7, "stubdm tap test".getBytes(StandardCharsets.US_ASCII));
            nic.onLoop(() -> tap.send(ByteBuffer.wrap(request)));
            byte[] echo = nic.awaitFrame("ICMP echo reply", f -> be16(f, 12) == ETHERTYPE_IPV4 && f[23] == 1
                    && f[34] == 0 && be16(f, 38) == 0x5354);
            assertEquals(7, be16(echo, 40), "sequence number");
            assertArrayEquals(Arrays.copyOfRange(request, 42, request.length),
                    Arrays.copyOfRange(echo, 42, 42 + request.length - 42), "payload echoed");
            assertArrayEquals(HOST_IP, Arrays.copyOfRange(echo, 26, 30));

            assertTrue(tap.stats().txFrames.get() >= 2);
            assertTrue(tap.stats().rxFrames.get() >= 2);
        }
        assertNotEquals(0, run("ip", "-n", netns, "link", "show", "dev", ifname), "closing the backend removes it");
    }

    @Test
    void aNameInUseIsRefused() throws Exception {
        try (TapBackend first = new TapBackend(ifname)) {
            IOException e = assertThrows(IOException.class, () -> new TapBackend(ifname).close());
            assertTrue(e.getMessage().contains("TUNSETIFF " + ifname), e.getMessage());
            assertEquals(ifname, first.interfaceName());
        }
    }

    @Test
    void theNetdevLibxlWritesCreatesTheTap() {
        NetBackends.Netdev n = NetBackends.parse("type=tap,id=net0,ifname=" + ifname + ",br=xenbr0,script=no,downscript=no");
        try (NetBackend b = n.backend()) {
            assertEquals("net0", n.id());
            assertEquals("tap:" + ifname, b.describe());
            assertEquals(0, run("ip", "link", "show", "dev", ifname));
        }
    }

    // ---------------------------------------------------------------- frames

    private static byte[] arpRequest() {
        ByteBuffer f = ByteBuffer.allocate(42);
        f.put(new byte[] {-1, -1, -1, -1, -1, -1}).put(NIC_MAC).putShort((short) ETHERTYPE_ARP);
        f.putShort((short) 1).putShort((short) ETHERTYPE_IPV4).put((byte) 6).put((byte) 4).putShort((short) 1);
        f.put(NIC_MAC).put(NIC_IP).put(new byte[6]).put(HOST_IP);
        return f.array();
    }

    private static byte[] icmpEcho(byte[] dstMac, int id, int seq, byte[] payload) {
        int ipLength = 20 + 8 + payload.length;
        ByteBuffer f = ByteBuffer.allocate(14 + ipLength);
        f.put(dstMac).put(NIC_MAC).putShort((short) ETHERTYPE_IPV4);
        f.put((byte) 0x45).put((byte) 0).putShort((short) ipLength).putShort((short) 0x1234).putShort((short) 0x4000);
        f.put((byte) 64).put((byte) 1).putShort((short) 0).put(NIC_IP).put(HOST_IP);
        f.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) id).putShort((short) seq).put(payload);
        byte[] b = f.array();
        putBe16(b, 24, checksum(b, 14, 20));
        putBe16(b, 36, checksum(b, 34, 8 + payload.length));
        return b;
    }

    private static int checksum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i < len; i += 2) {
            sum += (b[off + i] & 0xff) << 8 | (i + 1 < len ? b[off + i + 1] & 0xff : 0);
        }
        while (sum > 0xffff) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) ~sum & 0xffff;
    }

    private static int be16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    private static void putBe16(byte[] b, int off, int v) {
        b[off] = (byte) (v >> 8);
        b[off + 1] = (byte) v;
    }

    private static byte[] macOf(String ipLinkLine) {
        String[] words = ipLinkLine.split("\\s+");
        for (int i = 0; i < words.length - 1; i++) {
            if (words[i].equals("link/ether")) {
                String[] hex = words[i + 1].split(":");
                byte[] mac = new byte[6];
                for (int j = 0; j < 6; j++) {
                    mac[j] = (byte) Integer.parseInt(hex[j], 16);
                }
                return mac;
            }
        }
        throw new AssertionError("no link/ether in: " + ipLinkLine);
    }

    // ---------------------------------------------------------------- commands

    private static int run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String output(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static void must(String... command) {
        int rc = run(command);
        assertEquals(0, rc, String.join(" ", List.of(command)) + " failed");
    }
}
