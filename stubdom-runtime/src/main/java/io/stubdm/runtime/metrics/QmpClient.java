package io.stubdm.runtime.metrics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stubdm.runtime.metrics.QmpException.Kind;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Runs one QMP command on a monitor's UNIX socket and returns its {@code return} value: connect, read the greeting,
 * {@code qmp_capabilities}, the command, close. Connecting, sending and every read share one deadline, so a peer
 * that accepts and never speaks, or trickles bytes forever, holds the caller that long and no longer. Asynchronous
 * events the monitor sends meanwhile are skipped.
 *
 * <p>Each call is a connection of its own, kept short on purpose: in a stub domain's placement the socket is Xen's
 * vchan-socket-proxy, which serves one client at a time (libxl among them) and starts a fresh QMP session for each.
 */
public final class QmpClient {
    /** A message larger than this ends the conversation; a device model's metrics are tens of kilobytes. */
    static final int MAX_MESSAGE = 8 << 20;
    private static final int READ_CHUNK = 64 << 10;
    /** How much of an unexpected message goes into an exception's message (and so into the log). */
    private static final int EXCERPT = 160;
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(MAX_MESSAGE).build()).build())
            // "{...} junk" is not a QMP message; Jackson would otherwise stop after the object and say nothing.
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path socket;
    private final Duration timeout;
    private final long deadline;
    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    /** Bytes received and not yet returned as messages: {@code pending[0..length)}. */
    private byte[] pending = new byte[READ_CHUNK];
    private int length;

    private QmpClient(Path socket, Duration timeout, SocketChannel channel, Selector selector) throws IOException {
        this.socket = socket;
        this.timeout = timeout;
        this.deadline = System.nanoTime() + timeout.toNanos();
        this.channel = channel;
        this.selector = selector;
        channel.configureBlocking(false);
        this.key = channel.register(selector, 0);
    }

    /**
     * Executes {@code command} (no arguments) on the monitor listening at {@code socket}, all within {@code timeout}.
     *
     * @return the command's {@code return} value
     * @throws QmpException naming the socket: which {@link Kind} of failure, and what was going on
     */
    public static JsonNode execute(Path socket, String command, Duration timeout) throws QmpException {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new QmpException(Kind.TIMEOUT, socket + ": no time left to ask " + command);
        }
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                Selector selector = Selector.open()) {
            QmpClient client = new QmpClient(socket, timeout, channel, selector);
            client.connect();
            JsonNode greeting = client.nextMessage("the greeting");
            if (!greeting.path("QMP").isObject()) {
                throw client.protocol("expected a QMP greeting, got " + excerpt(greeting.toString()));
            }
            client.call("qmp_capabilities", 0);
            return client.call(command, 1);
        } catch (QmpException e) {
            throw e;
        } catch (IOException e) {
            // Opening the channel or the selector, or registering one with the other: nothing to do with the peer,
            // but the command was not run all the same.
            throw new QmpException(Kind.CONNECT, socket + ": " + e.getMessage(), e);
        }
    }

    private void connect() throws QmpException {
        try {
            if (channel.connect(UnixDomainSocketAddress.of(socket))) {
                return;
            }
            await(SelectionKey.OP_CONNECT, "connecting");
            channel.finishConnect();
        } catch (QmpException e) {
            throw e;
        } catch (IOException e) {
            throw new QmpException(Kind.CONNECT, "cannot connect to " + socket + ": " + e.getMessage(), e);
        }
    }

    /** Sends {@code command} with {@code id} and returns its answer, skipping events. */
    private JsonNode call(String command, int id) throws QmpException {
        ObjectNode request = JsonNodeFactory.instance.objectNode().put("execute", command).put("id", id);
        send(request.toString() + "\r\n", command);
        String waitingFor = "the answer to " + command;
        while (true) {
            JsonNode message = nextMessage(waitingFor);
            if (message.has("event")) {
                continue;
            }
            boolean isReturn = message.has("return");
            boolean isError = message.has("error");
            if (!isReturn && !isError) {
                throw protocol("expected " + waitingFor + ", got " + excerpt(message.toString()));
            }
            // A monitor omits the id only where it could not read the request's; then the error is ours.
            JsonNode answered = message.get("id");
            if (answered != null && !(answered.isIntegralNumber() && answered.asLong() == id)) {
                throw protocol("answer for id " + excerpt(answered.toString()) + " while waiting for " + waitingFor);
            }
            if (isError) {
                JsonNode error = message.get("error");
                throw new QmpException(Kind.ERROR_REPLY, socket + ": " + command + " failed: "
                        + error.path("class").asText("(no class)") + ": "
                        + excerpt(error.path("desc").asText("(no description)")));
            }
            return message.get("return");
        }
    }

    private void send(String text, String command) throws QmpException {
        ByteBuffer out = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        try {
            while (out.hasRemaining()) {
                if (channel.write(out) == 0) {
                    await(SelectionKey.OP_WRITE, "sending " + command);
                }
            }
        } catch (QmpException e) {
            throw e;
        } catch (IOException e) {
            throw new QmpException(Kind.CONNECT, socket + ": sending " + command + ": " + e.getMessage(), e);
        }
    }

    /** The next non-empty line as a JSON object; messages end with CRLF, a bare LF is accepted too. */
    private JsonNode nextMessage(String waitingFor) throws QmpException {
        int scanned = 0; // pending[0..scanned) holds no newline
        while (true) {
            int newline = indexOfNewline(scanned);
            if (newline < 0) {
                scanned = length;
                if (length > MAX_MESSAGE) {
                    throw protocol("a message over " + MAX_MESSAGE + " bytes while waiting for " + waitingFor);
                }
                read(waitingFor);
                continue;
            }
            if (newline > MAX_MESSAGE) {
                throw protocol("a message over " + MAX_MESSAGE + " bytes while waiting for " + waitingFor);
            }
            byte[] line = Arrays.copyOf(pending, newline > 0 && pending[newline - 1] == '\r' ? newline - 1 : newline);
            System.arraycopy(pending, newline + 1, pending, 0, length - newline - 1);
            length -= newline + 1;
            scanned = 0;
            if (!isBlank(line)) {
                return parse(line);
            }
        }
    }

    private int indexOfNewline(int from) {
        for (int i = from; i < length; i++) {
            if (pending[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private JsonNode parse(byte[] line) throws QmpException {
        JsonNode message;
        try {
            message = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw protocol("malformed JSON: " + excerpt(e.getOriginalMessage()));
        } catch (IOException e) {
            throw protocol("unreadable message: " + excerpt(e.getMessage()));
        }
        if (message == null || !message.isObject()) {
            throw protocol("a QMP message must be a JSON object, got "
                    + excerpt(new String(line, StandardCharsets.UTF_8)));
        }
        return message;
    }

    private void read(String waitingFor) throws QmpException {
        if (pending.length - length < READ_CHUNK) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, length + READ_CHUNK));
        }
        try {
            while (true) {
                int n = channel.read(ByteBuffer.wrap(pending, length, pending.length - length));
                if (n < 0) {
                    throw new QmpException(Kind.CONNECT, socket + ": the connection was closed before "
                            + waitingFor);
                }
                if (n > 0) {
                    length += n;
                    return;
                }
                await(SelectionKey.OP_READ, waitingFor);
            }
        } catch (QmpException e) {
            throw e;
        } catch (IOException e) {
            throw new QmpException(Kind.CONNECT, socket + ": reading " + waitingFor + ": " + e.getMessage(), e);
        }
    }

    /** Waits until the channel is ready for {@code op}, or throws once the deadline has passed. */
    private void await(int op, String waitingFor) throws IOException {
        key.interestOps(op);
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new QmpException(Kind.TIMEOUT, socket + ": no answer within " + timeout.toMillis()
                        + " ms (waiting for " + waitingFor + ")");
            }
            selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            if (Thread.currentThread().isInterrupted()) {
                // The caller gave up on us (an executor shutting down): as good as a deadline.
                throw new QmpException(Kind.TIMEOUT, socket + ": interrupted while waiting for " + waitingFor);
            }
            if (selector.selectedKeys().remove(key)) {
                return;
            }
        }
    }

    private QmpException protocol(String what) {
        return new QmpException(Kind.PROTOCOL, socket + ": " + what);
    }

    private static String excerpt(String text) {
        if (text == null) {
            return "(nothing)";
        }
        return text.length() <= EXCERPT ? text : text.substring(0, EXCERPT) + "...";
    }
}
