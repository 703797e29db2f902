package io.stubdm.backends.vnc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The server on real sockets, with the JDK-only test client. */
class VncServerTest {
    private static final long TIMEOUT = 10_000;

    private final FakeConsole console = new FakeConsole(320, 200, 0x000080);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    /** A display whose port is free just now; the server's own to= search covers a race with another process. */
    private static int freeDisplay() throws IOException {
        while (true) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int display = s.getLocalPort() - 5900;
                if (display >= 0 && display + 20 <= VncOptions.MAX_DISPLAY) {
                    return display;
                }
            }
        }
    }

    private VncServer start(String extra) throws IOException {
        int d = freeDisplay();
        VncServer server = VncServer.start(VncOptions.parse("127.0.0.1:" + d + ",to=" + (d + 20) + extra), console);
        toClose.add(server);
        return server;
    }

    private RfbClient connect(VncServer server, String password) throws IOException {
        RfbClient c = RfbClient.connect("127.0.0.1", server.address().getPort(), password);
        toClose.add(c);
        return c;
    }

    @Test
    void fullFrameThenIncrementalUpdateWithExactlyTheNewPixels() throws IOException {
        VncServer server = start("");
        assertEquals("127.0.0.1", server.address().getHostString());
        RfbClient c = connect(server, null);
        assertEquals(320, c.width());
        assertEquals(200, c.height());
        assertEquals("stubdm", c.name());
        c.setPixelFormat32();
        c.setEncodings(RfbClient.ZRLE, RfbClient.RAW, RfbClient.DESKTOP_SIZE);
        assertArrayEquals(console.pixels(), c.requestFullFrame());

        console.fillRect(100, 50, 30, 20, 0xFFFF00);
        int[] fb = c.awaitUpdate(true, TIMEOUT);
        assertArrayEquals(console.pixels(), fb);
        // The update covers the change and stays within the 16×16 tiles it touched.
        Rect changedTiles = new Rect(96, 48, 48, 32);
        for (RfbClient.Rectangle r : c.lastUpdate()) {
            assertTrue(changedTiles.contains(new Rect(r.x(), r.y(), r.width(), r.height())), r.toString());
        }
    }

    @Test
    void nothingChangedMeansNoUpdateAndTheConnectionStaysUsable() throws IOException {
        VncServer server = start("");
        RfbClient c = connect(server, null);
        c.requestFullFrame();
        assertNull(c.awaitUpdate(true, 300)); // the server sends nothing while nothing changes
        console.fillRect(0, 190, 320, 10, 0x00FF00);
        assertArrayEquals(console.pixels(), c.awaitUpdate(true, TIMEOUT));
        assertEquals(List.of(new RfbClient.Rectangle(0, 176, 320, 24, RfbClient.RAW)), c.lastUpdate());
    }

    @Test
    void typedTextArrivesAsSet2CodesInOrder() throws Exception {
        VncServer server = start("");
        RfbClient c = connect(server, null);
        c.type("Hi!\n");
        List<FakeConsole.Key> keys = console.awaitKeys(12, TIMEOUT);
        assertEquals(List.of(
                new FakeConsole.Key(0x12, true), new FakeConsole.Key(0x33, true), new FakeConsole.Key(0x33, false),
                new FakeConsole.Key(0x12, false),
                new FakeConsole.Key(0x43, true), new FakeConsole.Key(0x43, false),
                new FakeConsole.Key(0x12, true), new FakeConsole.Key(0x16, true), new FakeConsole.Key(0x16, false),
                new FakeConsole.Key(0x12, false),
                new FakeConsole.Key(0x5A, true), new FakeConsole.Key(0x5A, false)), keys);
    }

    @Test
    void twoClientsAtOnce() throws Exception {
        VncServer server = start("");
        RfbClient a = connect(server, null);
        RfbClient b = connect(server, null);
        a.setEncodings(RfbClient.ZRLE);
        assertArrayEquals(console.pixels(), a.requestFullFrame());
        assertArrayEquals(console.pixels(), b.requestFullFrame());
        console.fillRect(0, 0, 10, 10, 0xFFFFFF);
        assertArrayEquals(console.pixels(), a.awaitUpdate(true, TIMEOUT));
        assertArrayEquals(console.pixels(), b.awaitUpdate(true, TIMEOUT));
        List<VncServer.Client> clients = server.clients();
        assertEquals(2, clients.size());
        for (VncServer.Client client : clients) {
            assertEquals("127.0.0.1", client.host());
            assertEquals("ipv4", client.family());
            assertTrue(Integer.parseInt(client.service()) > 0);
        }
    }

    @Test
    void setPasswordTurnsOnVncAuthentication() throws Exception {
        VncServer server = start("");
        assertEquals("none", server.auth());
        server.setPassword("s3cret-and-ignored-tail");
        assertEquals("vnc", server.auth());
        assertThrows(RfbClient.AuthenticationException.class, () -> connect(server, null));
        RfbClient.AuthenticationException wrong = assertThrows(RfbClient.AuthenticationException.class,
                () -> connect(server, "s3cret-X"));
        assertTrue(wrong.getMessage().contains("authentication failed"), wrong.getMessage());
        RfbClient c = connect(server, "s3cret-a"); // only the first 8 characters count
        assertArrayEquals(console.pixels(), c.requestFullFrame());
    }

    @Test
    void passwordOnWithNoPasswordSetRefusesEveryone() throws Exception {
        VncServer server = start(",password=on");
        assertEquals("vnc", server.auth());
        assertThrows(RfbClient.AuthenticationException.class, () -> connect(server, ""));
    }

    @Test
    void toFallsBackToTheNextFreePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int d = taken.getLocalPort() - 5900;
            org.junit.jupiter.api.Assumptions.assumeTrue(d >= 0 && d + 20 <= VncOptions.MAX_DISPLAY);
            VncServer server = VncServer.start(VncOptions.parse("127.0.0.1:" + d + ",to=" + (d + 20)), console);
            toClose.add(server);
            int port = server.address().getPort();
            assertTrue(port > taken.getLocalPort() && port <= taken.getLocalPort() + 20, "bound " + port);
            assertArrayEquals(console.pixels(), connect(server, null).requestFullFrame());

            IOException e = assertThrows(IOException.class,
                    () -> VncServer.start(VncOptions.parse("127.0.0.1:" + d), console));
            assertTrue(e.getMessage().contains("127.0.0.1") && e.getMessage().contains(
                    String.valueOf(taken.getLocalPort())), e.getMessage());
        }
    }

    @Test
    void closeEndsClientsAndTheListener() throws Exception {
        VncServer server = start("");
        RfbClient c = connect(server, null);
        c.requestFullFrame();
        int port = server.address().getPort();
        server.close();
        server.close();
        assertTrue(c.awaitClosed(TIMEOUT));
        assertThrows(IOException.class, () -> new Socket("127.0.0.1", port).close());
    }

    @Test
    void aMisbehavingClientLeavesTheOthersAlone() throws Exception {
        VncServer server = start("");
        RfbClient good = connect(server, null);
        RfbClient bad = connect(server, null);
        bad.sendRaw(new byte[] {(byte) 255, 1, 2, 3});
        assertTrue(bad.awaitClosed(TIMEOUT));
        good.type("a");
        assertEquals(List.of(new FakeConsole.Key(0x1C, true), new FakeConsole.Key(0x1C, false)),
                console.awaitKeys(2, TIMEOUT));
        assertArrayEquals(console.pixels(), good.requestFullFrame());
    }

    @Test
    void guestModeSwitchResizesTheClient() throws Exception {
        VncServer server = start("");
        RfbClient c = connect(server, null);
        c.setEncodings(RfbClient.ZRLE, RfbClient.DESKTOP_SIZE);
        c.requestFullFrame();
        console.setFrame(640, 480, 0x202020);
        console.fillRect(600, 400, 40, 80, 0xFF8000);
        assertArrayEquals(console.pixels(), c.awaitUpdate(true, TIMEOUT));
        assertEquals(640, c.width());
        assertEquals(480, c.height());
    }

    @Test
    void heldKeysAreReleasedWhenTheClientGoesAway() throws Exception {
        VncServer server = start("");
        RfbClient c = connect(server, null);
        c.key(0xffe3, true); // Control_L, never released
        console.awaitKeys(1, TIMEOUT);
        c.close();
        assertEquals(new FakeConsole.Key(0x14, false), console.awaitKeys(2, TIMEOUT).get(1));
    }

    @Test
    void allInterfaces() throws Exception {
        int d = freeDisplay();
        VncServer server = VncServer.start(VncOptions.parse(":" + d + ",to=" + (d + 20)), console, "guest-7");
        toClose.add(server);
        assertTrue(server.address().getAddress().isAnyLocalAddress());
        RfbClient c = RfbClient.connect("127.0.0.1", server.address().getPort(), null);
        toClose.add(c);
        assertEquals("guest-7", c.name());
    }

    @Test
    void ipv6Loopback() throws Exception {
        InetAddress v6 = InetAddress.getByName("::1");
        boolean available;
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(v6, 0));
            available = true;
        } catch (IOException e) {
            available = false;
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(available, "no IPv6 loopback here");
        int d = freeDisplay();
        VncServer server = VncServer.start(VncOptions.parse("[::1]:" + d + ",to=" + (d + 20)), console);
        toClose.add(server);
        RfbClient c = RfbClient.connect("::1", server.address().getPort(), null);
        toClose.add(c);
        c.requestFullFrame();
        assertEquals("ipv6", server.clients().get(0).family());
        assertFalse(server.clients().get(0).host().isEmpty());
    }
}
