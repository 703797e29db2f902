package io.stubdm.backends.chardev;

import static org.junit.jupiter.api.Assertions.*;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unix sockets on the loopback filesystem, as server (one client at a time) and as client. */
class UnixSocketBackendTest {
    @TempDir
    Path dir;

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static void send(SocketChannel c, byte[] bytes) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    @Test
    void serverServesOneClientAtATimeToTheGuest() throws Exception {
        Path path = dir.resolve("com1.sock");
        UnixSocketBackend backend = UnixSocketBackend.server(path, false);
        try (GuestPort guest = new GuestPort(backend)) {
            assertEquals("disconnected:unix:" + path + ",server=on", backend.describe());

            SocketChannel first = SocketChannel.open(UnixDomainSocketAddress.of(path));
            HostIo.await("the first client to be accepted", () -> !backend.describe().startsWith("disconnected:"));
            assertEquals("unix:" + path + ",server=on", backend.describe());
            // A second client waits in the backlog while the first is served.
            SocketChannel second = SocketChannel.open(UnixDomainSocketAddress.of(path));
            guest.print(ascii("hello"));
            assertArrayEquals(ascii("hello"), HostIo.readExactly(first, 5));
            send(first, ascii("world"));
            assertArrayEquals(ascii("world"), guest.read(5));

            first.close();
            // The backend reads the second client only once it has moved on to it.
            send(second, ascii("ok"));
            assertArrayEquals(ascii("ok"), guest.read(2));
            assertEquals("unix:" + path + ",server=on", backend.describe());
            guest.print(ascii("next"));
            assertArrayEquals(ascii("next"), HostIo.readExactly(second, 4));
            second.close();
        }
        assertFalse(Files.exists(path), "the socket is removed on close");
    }

    @Test
    void serverWithWaitOnReturnsOnceAClientConnected() throws Exception {
        Path path = dir.resolve("wait.sock");
        CompletableFuture<UnixSocketBackend> opening = CompletableFuture.supplyAsync(() -> {
            try {
                return UnixSocketBackend.server(path, true);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        HostIo.await("the listening socket", () -> Files.exists(path));
        assertFalse(opening.isDone());
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path));
             UnixSocketBackend backend = opening.get(HostIo.WAIT_MILLIS, TimeUnit.MILLISECONDS);
             TestFrontend frontend = new TestFrontend()) {
            assertEquals("unix:" + path + ",server=on", backend.describe());
            backend.connect(frontend.loop, frontend);
            send(client, ascii("early bird"));
            assertArrayEquals(ascii("early bird"), frontend.awaitReceived(10));
        }
    }

    @Test
    void clientModeExchangesBothWays() throws Exception {
        Path path = dir.resolve("listener.sock");
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(path));
            UnixSocketBackend backend = UnixSocketBackend.client(path);
            try (GuestPort guest = new GuestPort(backend); SocketChannel peer = listener.accept()) {
                assertEquals("unix:" + path, backend.describe());
                guest.print(ascii("ping"));
                assertArrayEquals(ascii("ping"), HostIo.readExactly(peer, 4));
                send(peer, ascii("pong"));
                assertArrayEquals(ascii("pong"), guest.read(4));
                peer.close();
                HostIo.await("the backend to see the peer leave", () -> backend.describe().startsWith("disconnected:"));
                guest.print(ascii("into the void"));
                HostIo.await("output to be discarded", () -> backend.discardedBytes() == 13);
            }
        }
    }
}
