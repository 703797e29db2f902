package io.stubdm.runtime.qmp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A QMP monitor on a UNIX socket, framed the way libxl's parser needs (xen-dm-protocol.md §2.2): a greeting as
 * QEMU 7.2.0 on every new connection, one JSON object per message followed by {@code \r\n}, the client's
 * {@code id} echoed unchanged, {@code CommandNotFound} for what is not implemented. libxl opens a fresh
 * connection per operation, so connections are served one after another, each from its greeting.
 *
 * <p>Malformed input gets a {@code GenericError} and the connection goes on, as QEMU's monitor does; a message
 * over 1 MiB (libxl's own limit) ends the connection.
 */
public final class QmpServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(QmpServer.class.getName());
    /** libxl reads QMP.version.qemu and adapts to it: 7.2.0 gets QEMU 7.2's protocol. */
    public static final int[] ADVERTISED_VERSION = {7, 2, 0};
    private static final int MAX_MESSAGE = 1 << 20;

    private final Path path;
    private final QmpCommands commands;
    private final String packageName;
    private final ServerSocketChannel listener;
    /** One mapper for every monitor: ObjectMapper is thread-safe once configured, and costly to build. */
    private static final ObjectMapper JSON_MAPPER = newMapper();
    private final ObjectMapper json = JSON_MAPPER;
    private final Thread acceptor;
    private volatile OutputStream current;
    private volatile boolean closed;

    /**
     * Binds {@code path} now (a stale socket file left by a previous run is replaced; any other file is not) so
     * that the socket exists before the device model reports {@code running}, and serves it on its own thread.
     */
    public QmpServer(Path path, QmpCommands commands, String packageName) throws IOException {
        this.path = path;
        this.commands = commands;
        this.packageName = packageName;
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (!attrs.isOther()) {
                throw new IOException(path + " exists and is not a socket; not replacing it");
            }
            Files.delete(path);
        }
        listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(path));
        acceptor = new Thread(this::serve, "qmp " + path.getFileName());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private static ObjectMapper newMapper() {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(MAX_MESSAGE).build())
                .build();
        factory.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE);
        return new ObjectMapper(factory);
    }

    /**
     * Loads and exercises the JSON machinery once: the device model calls this on a thread of its own at
     * start-up, so that it overlaps with building the machine instead of delaying {@code running} (a JVM in
     * a slow Dom0 spends seconds here, and libxl waits 60 s in all).
     */
    public static void warmUp() {
        try {
            JsonNode n = JSON_MAPPER.readTree("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"a\":[1,\"b\",true]},\"id\":1}");
            JSON_MAPPER.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("JSON warm-up", e);
        }
    }

    public Path path() {
        return path;
    }

    private void serve() {
        while (!closed) {
            try (SocketChannel client = listener.accept()) {
                // Not Channels.newInputStream/newOutputStream: on JDK 17 both take the channel's blocking lock,
                // so an event written while the connection thread waits for input would block forever.
                converse(new ChannelInput(client), new ChannelOutput(client));
            } catch (IOException | UncheckedIOException e) {
                if (!closed) {
                    LOG.log(Level.DEBUG, "QMP connection on " + path + " ended: " + e.getMessage());
                }
            }
        }
    }

    /** One connection: greeting, then command after command until the client leaves. */
    void converse(InputStream in, OutputStream out) throws IOException {
        current = out;
        try {
            send(out, greeting());
            boolean negotiated = false;
            JsonParser parser = json.getFactory().createParser(new LimitedInput(in));
            while (!closed) {
                JsonNode message;
                try {
                    message = json.readTree(parser);
                } catch (JsonProcessingException e) {
                    send(out, error(null, QmpError.GENERIC_ERROR, "JSON parse error, " + e.getOriginalMessage()));
                    parser = json.getFactory().createParser(new LimitedInput(in));
                    continue;
                }
                if (message == null) {
                    return; // the client closed its end
                }
                negotiated = handle(message, negotiated, out);
            }
        } finally {
            current = null;
        }
    }

    private boolean handle(JsonNode message, boolean negotiated, OutputStream out) throws IOException {
        JsonNode id = message.get("id");
        if (!message.isObject() || !message.path("execute").isTextual()) {
            send(out, error(id, QmpError.GENERIC_ERROR, "QMP input must be a JSON object with 'execute'"));
            return negotiated;
        }
        String name = message.get("execute").asText();
        JsonNode args = message.get("arguments");
        if (args != null && !args.isObject()) {
            send(out, error(id, QmpError.GENERIC_ERROR, "QMP input member 'arguments' must be an object"));
            return negotiated;
        }
        ObjectNode arguments = args == null ? JsonNodeFactory.instance.objectNode() : (ObjectNode) args;
        if (name.equals("qmp_capabilities")) {
            if (negotiated) {
                send(out, error(id, QmpError.COMMAND_NOT_FOUND, "Capabilities negotiation is already complete, command ignored"));
            } else {
                send(out, reply(id, JsonNodeFactory.instance.objectNode()));
            }
            return true;
        }
        if (!negotiated) {
            send(out, error(id, QmpError.COMMAND_NOT_FOUND, "Expecting capabilities negotiation with 'qmp_capabilities'"));
            return false;
        }
        QmpCommands.Handler handler = name.equals("query-commands") ? a -> queryCommands() : commands.handler(name);
        if (handler == null) {
            send(out, error(id, QmpError.COMMAND_NOT_FOUND, "The command " + name + " has not been found"));
            return true;
        }
        try {
            send(out, reply(id, handler.execute(arguments)));
        } catch (QmpError e) {
            send(out, error(id, e.errorClass(), e.getMessage()));
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "QMP " + name + " failed", e);
            send(out, error(id, QmpError.GENERIC_ERROR, name + " failed: " + e));
        }
        return true;
    }

    private JsonNode queryCommands() {
        ArrayNode list = JsonNodeFactory.instance.arrayNode();
        list.addObject().put("name", "qmp_capabilities");
        list.addObject().put("name", "query-commands");
        commands.names().forEach(n -> list.addObject().put("name", n));
        return list;
    }

    private ObjectNode greeting() {
        ObjectNode g = JsonNodeFactory.instance.objectNode();
        ObjectNode qmp = g.putObject("QMP");
        ObjectNode version = qmp.putObject("version");
        version.putObject("qemu").put("micro", ADVERTISED_VERSION[2]).put("minor", ADVERTISED_VERSION[1])
                .put("major", ADVERTISED_VERSION[0]);
        version.put("package", packageName);
        qmp.putArray("capabilities");
        return g;
    }

    private static ObjectNode reply(JsonNode id, JsonNode value) {
        ObjectNode r = JsonNodeFactory.instance.objectNode();
        r.set("return", value == null ? JsonNodeFactory.instance.objectNode() : value);
        if (id != null) {
            r.set("id", id);
        }
        return r;
    }

    private static ObjectNode error(JsonNode id, String errorClass, String description) {
        ObjectNode r = JsonNodeFactory.instance.objectNode();
        r.putObject("error").put("class", errorClass).put("desc", description);
        if (id != null) {
            r.set("id", id);
        }
        return r;
    }

    /**
     * Sends an asynchronous event to the connected client, if any ({@code {"event": ..., "data": ...,
     * "timestamp": ...}}); libxl ignores them, other clients (Qubes' init, operators) may not.
     */
    public void emitEvent(String event, JsonNode data) {
        OutputStream out = current;
        if (out == null) {
            return;
        }
        long micros = System.currentTimeMillis() * 1000;
        ObjectNode e = JsonNodeFactory.instance.objectNode();
        e.put("event", event);
        if (data != null) {
            e.set("data", data);
        }
        e.putObject("timestamp").put("seconds", micros / 1_000_000).put("microseconds", micros % 1_000_000);
        try {
            send(out, e);
        } catch (IOException ex) {
            LOG.log(Level.DEBUG, "event " + event + " not delivered: " + ex.getMessage());
        }
    }

    private void send(OutputStream out, JsonNode message) throws IOException {
        byte[] bytes = (json.writeValueAsString(message) + "\r\n").getBytes(StandardCharsets.UTF_8);
        synchronized (out) {
            out.write(bytes);
            out.flush();
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing " + path + ": " + e.getMessage());
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "could not remove " + path + ": " + e.getMessage());
        }
    }

    private static final class ChannelInput extends InputStream {
        private final SocketChannel channel;

        ChannelInput(SocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            return len == 0 ? 0 : channel.read(ByteBuffer.wrap(buf, off, len));
        }
    }

    private static final class ChannelOutput extends OutputStream {
        private final SocketChannel channel;

        ChannelOutput(SocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws IOException {
            ByteBuffer bb = ByteBuffer.wrap(buf, off, len);
            while (bb.hasRemaining()) {
                channel.write(bb);
            }
        }
    }

    /** Ends a connection that sends more than libxl's 1 MiB limit without completing a message. */
    private static final class LimitedInput extends InputStream {
        private final InputStream in;
        private long sinceLastNewline;

        LimitedInput(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            count(b == '\n' ? -1 : 1);
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = in.read(buf, off, len);
            for (int i = 0; i < n; i++) {
                count(buf[off + i] == '\n' ? -1 : 1);
            }
            return n;
        }

        private void count(int delta) throws IOException {
            sinceLastNewline = delta < 0 ? 0 : sinceLastNewline + 1;
            if (sinceLastNewline > MAX_MESSAGE) {
                throw new IOException("QMP message over " + MAX_MESSAGE + " bytes; closing the connection");
            }
        }
    }
}
