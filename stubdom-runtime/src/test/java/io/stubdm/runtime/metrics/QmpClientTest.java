package io.stubdm.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stubdm.runtime.qmp.QmpError;
import io.stubdm.runtime.qmp.QmpServer;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QmpClientTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    @TempDir
    Path dir;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    /** A {@link RawPeer} on {@code name} in the test's directory, closed after the test; its socket's path. */
    private Path peer(String name, String script, boolean hangUp) throws IOException {
        closing.add(new RawPeer(dir.resolve(name), script, hangUp));
        return dir.resolve(name);
    }

    private Path peer(String name, String script) throws IOException {
        return peer(name, script, false);
    }

    @Test
    void returnsTheCommandsAnswerSkippingEvents() throws Exception {
        AtomicReference<QmpServer> server = new AtomicReference<>();
        // The event goes out on the same connection just before the answer, as QEMU's may.
        server.set(FakeDeviceModels.serving(dir.resolve("qmp"), args -> {
            server.get().emitEvent("RESUME", null);
            return JsonNodeFactory.instance.objectNode().put("content-type", PrometheusText.CONTENT_TYPE)
                    .put("text", "up 1\n");
        }));
        closing.add(server.get());
        JsonNode answer = QmpClient.execute(dir.resolve("qmp"), "x-query-metrics", TIMEOUT);
        assertEquals("up 1\n", answer.get("text").asText());
        // Each call is a connection of its own: the monitor serves the next one from its greeting.
        assertEquals("up 1\n", QmpClient.execute(dir.resolve("qmp"), "x-query-metrics", TIMEOUT)
                .get("text").asText());
    }

    /** The exception asking {@code socket} for x-query-metrics ends in. */
    private static QmpException failure(Path socket, Duration timeout) {
        return assertThrows(QmpException.class, () -> QmpClient.execute(socket, "x-query-metrics", timeout));
    }

    @Test
    void aQmpErrorIsAnIOExceptionNamingTheSocket() throws Exception {
        closing.add(FakeDeviceModels.serving(dir.resolve("qmp"), args -> {
            throw QmpError.generic("metrics are off");
        }));
        QmpException e = failure(dir.resolve("qmp"), TIMEOUT);
        assertEquals(QmpException.Kind.ERROR_REPLY, e.kind());
        assertTrue(e.getMessage().contains(dir.resolve("qmp").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("GenericError: metrics are off"), e.getMessage());

        QmpException unknown = assertThrows(QmpException.class,
                () -> QmpClient.execute(dir.resolve("qmp"), "query-nothing", TIMEOUT));
        assertEquals(QmpException.Kind.ERROR_REPLY, unknown.kind());
        assertTrue(unknown.getMessage().contains("CommandNotFound"), unknown.getMessage());
    }

    @Test
    void aPeerThatAcceptsAndNeverSpeaksCostsTheDeadline() throws Exception {
        RawPeer peer = new RawPeer(dir.resolve("silent"), "");
        closing.add(peer);
        long start = System.nanoTime();
        QmpException e = failure(dir.resolve("silent"), Duration.ofMillis(300));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(QmpException.Kind.TIMEOUT, e.kind());
        assertTrue(peer.accepted.await(1, TimeUnit.SECONDS), "the peer took the connection");
        assertTrue(millis >= 250 && millis < 3000, "took " + millis + " ms");
        assertTrue(e.getMessage().contains(dir.resolve("silent").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("greeting"), e.getMessage());
    }

    @Test
    void aPeerThatStopsMidAnswerCostsTheDeadline() throws Exception {
        // A greeting, the capabilities' answer, then half a message and nothing more.
        Path socket = peer("stalls", "{\"QMP\":{}}\r\n{\"return\":{},\"id\":0}\r\n{\"return\":{\"text\":\"up 1");
        QmpException e = failure(socket, Duration.ofMillis(300));
        assertEquals(QmpException.Kind.TIMEOUT, e.kind());
        assertTrue(e.getMessage().contains("the answer to x-query-metrics"), e.getMessage());
    }

    @Test
    void garbageIsAnIOExceptionNamingTheSocket() throws Exception {
        Path garbage = peer("garbage", "this is not QMP\r\n");
        QmpException e = failure(garbage, TIMEOUT);
        assertEquals(QmpException.Kind.PROTOCOL, e.kind());
        assertTrue(e.getMessage().startsWith(garbage + ": malformed JSON"), e.getMessage());

        e = failure(peer("no-greeting", "{\"hello\":1}\r\n"), TIMEOUT);
        assertEquals(QmpException.Kind.PROTOCOL, e.kind());
        assertTrue(e.getMessage().contains("expected a QMP greeting"), e.getMessage());

        e = failure(peer("trailing", "{\"QMP\":{}} {\"QMP\":{}}\r\n"), TIMEOUT);
        assertEquals(QmpException.Kind.PROTOCOL, e.kind());

        // An answer to another request than ours is not ours to return.
        e = failure(peer("wrong-id", "{\"QMP\":{}}\r\n{\"return\":{},\"id\":0}\r\n"
                + "{\"return\":{\"text\":\"\"},\"id\":7}\r\n"), TIMEOUT);
        assertEquals(QmpException.Kind.PROTOCOL, e.kind());
        assertTrue(e.getMessage().contains("id 7"), e.getMessage());
    }

    @Test
    void aPeerThatHangsUpOrIsNotThereIsAConnectFailure() throws Exception {
        QmpException missing = failure(dir.resolve("nobody"), TIMEOUT);
        assertEquals(QmpException.Kind.CONNECT, missing.kind());
        assertTrue(missing.getMessage().contains(dir.resolve("nobody").toString()), missing.getMessage());

        Path hangsUp = peer("hangs-up", "{\"QMP\":{}}\r\n", true);
        QmpException e = failure(hangsUp, TIMEOUT);
        assertEquals(QmpException.Kind.CONNECT, e.kind());
        // Closed while we send qmp_capabilities (a broken pipe) or before its answer (end of stream).
        assertTrue(e.getMessage().startsWith(hangsUp.toString()), e.getMessage());
    }

    @Test
    void anOversizedMessageEndsTheConversation() throws Exception {
        String huge = "{\"QMP\":{\"pad\":\"" + "x".repeat(QmpClient.MAX_MESSAGE + 10) + "\"}}\r\n";
        QmpException e = failure(peer("huge", huge), TIMEOUT);
        assertEquals(QmpException.Kind.PROTOCOL, e.kind());
        assertTrue(e.getMessage().contains("over " + QmpClient.MAX_MESSAGE + " bytes"), e.getMessage());
    }

    /** A UNIX socket peer that accepts one connection, writes {@code script}, then stays silent (or hangs up). */
    static final class RawPeer implements AutoCloseable {
        final CountDownLatch accepted = new CountDownLatch(1);
        private final ServerSocketChannel listener;
        private final Thread thread;
        private volatile SocketChannel connection;

        RawPeer(Path path, String script) throws IOException {
            this(path, script, false);
        }

        RawPeer(Path path, String script, boolean hangUp) throws IOException {
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(path));
            thread = new Thread(() -> {
                try {
                    connection = listener.accept();
                    accepted.countDown();
                    ByteBuffer out = ByteBuffer.wrap(script.getBytes(StandardCharsets.UTF_8));
                    while (out.hasRemaining()) {
                        connection.write(out);
                    }
                    if (hangUp) {
                        connection.close();
                    }
                } catch (IOException e) {
                    // the client gave up first: what some tests want
                }
            }, "raw-peer");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            SocketChannel c = connection;
            if (c != null) {
                c.close();
            }
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
