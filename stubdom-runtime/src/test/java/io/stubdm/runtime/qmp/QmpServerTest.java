package io.stubdm.runtime.qmp;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server as libxl's QMP client meets it: greeting, \r\n framing, integer ids, one connection per operation. */
class QmpServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** libxl's async client numbers its messages from "xlq\0". */
    private static final long LIBXL_FIRST_ID = 0x786c7100L;

    @TempDir
    Path dir;
    private QmpServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private QmpServer start() throws IOException {
        QmpCommands commands = new QmpCommands()
                .register("cont", args -> JsonNodeFactory.instance.objectNode())
                .register("query-status", args -> JsonNodeFactory.instance.objectNode()
                        .put("status", "running").put("singlestep", false).put("running", true))
                .register("fail", args -> {
                    throw new QmpError(QmpError.DEVICE_NOT_FOUND, "no such device " + args.path("id").asText());
                });
        server = new QmpServer(dir.resolve("qmp-libxl-5"), commands, "stubdm-test");
        return server;
    }

    @Test
    void libxlSequenceOnSuccessiveConnections() throws Exception {
        start();
        long id = LIBXL_FIRST_ID;
        for (int connection = 0; connection < 3; connection++) {
            try (QmpTestClient c = new QmpTestClient(server.path())) {
                JsonNode greeting = c.read();
                assertEquals(7, greeting.at("/QMP/version/qemu/major").asInt());
                assertEquals(2, greeting.at("/QMP/version/qemu/minor").asInt());
                assertEquals(0, greeting.at("/QMP/version/qemu/micro").asInt());
                assertTrue(greeting.at("/QMP/capabilities").isArray());
                JsonNode r = c.call("{\"execute\":\"qmp_capabilities\",\"id\":" + id++ + "}");
                assertTrue(r.get("return").isObject());
                assertTrue(r.get("id").isIntegralNumber());
                assertEquals(id - 1, r.get("id").asLong());
                r = c.call("{\"execute\":\"cont\",\"id\":" + id++ + "}");
                assertEquals("{\"return\":{},\"id\":" + (id - 1) + "}", JSON.writeValueAsString(r));
            }
        }
    }

    @Test
    void errorsUseTheClassesLibxlMapsByName() throws Exception {
        start();
        try (QmpTestClient c = new QmpTestClient(server.path())) {
            c.read();
            JsonNode r = c.call("{\"execute\":\"query-status\",\"id\":1}");
            assertEquals("CommandNotFound", r.at("/error/class").asText(), "nothing before qmp_capabilities");
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":2}");
            r = c.call("{\"execute\":\"xen-save-devices-state\",\"id\":3,\"arguments\":{\"filename\":\"/dev/fdset/1\"}}");
            assertEquals("CommandNotFound", r.at("/error/class").asText());
            assertEquals(3, r.get("id").asInt());
            r = c.call("{\"execute\":\"fail\",\"id\":4,\"arguments\":{\"id\":\"nic9\"}}");
            assertEquals("DeviceNotFound", r.at("/error/class").asText());
            assertEquals("no such device nic9", r.at("/error/desc").asText());
            r = c.call("{\"execute\":\"query-status\",\"id\":5}");
            assertEquals("running", r.at("/return/status").asText());
            r = c.call("{\"execute\":\"query-commands\",\"id\":6}");
            assertTrue(r.get("return").toString().contains("\"query-status\""));
        }
    }

    @Test
    void garbageGetsAnErrorAndTheConnectionGoesOn() throws Exception {
        start();
        try (QmpTestClient c = new QmpTestClient(server.path())) {
            c.read();
            assertEquals("GenericError", c.call("[1,2,3]").at("/error/class").asText());
            assertEquals("GenericError", c.call("{\"execute\":42}").at("/error/class").asText());
            assertEquals("GenericError", c.call("{\"execute\":\"cont\",\"arguments\":[]}").at("/error/class").asText());
            assertEquals("GenericError", c.call("{\"execute\" \"cont\"}").at("/error/class").asText(), "broken JSON");
            // After a parse error the next whole message is read normally.
            assertTrue(c.call("{\"execute\":\"qmp_capabilities\",\"id\":7}").has("return"));
        }
        try (QmpTestClient c = new QmpTestClient(server.path())) {
            c.read();
            byte[] huge = new byte[(1 << 20) + 100];
            java.util.Arrays.fill(huge, (byte) ' ');
            huge[0] = '"';
            assertThrows(IOException.class, () -> {
                c.writeRaw(huge);
                assertNull(c.read(), "the server closes a connection that exceeds 1 MiB");
                throw new IOException("closed");
            });
        }
        try (QmpTestClient c = new QmpTestClient(server.path())) {
            assertNotNull(c.read(), "the next connection still gets its greeting");
        }
    }

    @Test
    void aStaleSocketIsReplacedButNotAnOrdinaryFile() throws Exception {
        start();
        server.close();
        // A crash leaves the socket file behind; closing removed it, so make a stale one by binding and dropping.
        try (var s = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(dir.resolve("qmp-libxl-5")));
        }
        assertTrue(Files.exists(dir.resolve("qmp-libxl-5")));
        start();
        try (QmpTestClient c = new QmpTestClient(server.path())) {
            assertNotNull(c.read());
        }
        Path file = Files.writeString(dir.resolve("not-a-socket"), "keep me");
        IOException e = assertThrows(IOException.class, () -> new QmpServer(file, new QmpCommands(), "x"));
        assertTrue(e.getMessage().contains("not a socket"));
        assertEquals("keep me", Files.readString(file));
    }

    @Test
    void eventsReachTheConnectedClient() throws Exception {
        start();
        try (QmpTestClient c = new QmpTestClient(server.path())) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            server.emitEvent("DEVICE_DELETED", JsonNodeFactory.instance.objectNode().put("device", "nic0"));
            JsonNode e = c.read();
            assertEquals("DEVICE_DELETED", e.get("event").asText());
            assertEquals("nic0", e.at("/data/device").asText());
            assertTrue(e.at("/timestamp/seconds").isIntegralNumber());
        }
    }
}
