package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An {@link RfbSession} on an EmbeddedChannel, with its refresh loop ticked by hand: the whole server side of one
 * or more connections on the test thread, deterministic. {@link #client} runs a real {@link RfbClient} over it.
 */
final class EmbeddedRfb {
    final FakeConsole console;
    final AuthConfig auth;
    final AtomicLong clock = new AtomicLong(1_000_000_000L);
    final AuthThrottle throttle = new AuthThrottle(clock::get);
    final RefreshLoop loop;
    final ServerContext context;

    EmbeddedRfb(FakeConsole console, boolean passwordOn) {
        this.console = console;
        this.auth = new AuthConfig(passwordOn);
        this.loop = new RefreshLoop(console);
        this.context = new ServerContext("test-desktop", auth, throttle, loop, console, new SecureRandom());
    }

    EmbeddedRfb() {
        this(new FakeConsole(64, 48, 0x336699), false);
    }

    EmbeddedChannel open() {
        EmbeddedChannel ch = new EmbeddedChannel(new RfbSession(context));
        ch.freezeTime();
        return ch;
    }

    /** Lets the loop answer pending ServerInits and update requests. */
    void tick() {
        loop.tick();
    }

    /** Advances the channel's clock (and the throttle's) and runs what became due. */
    void advance(EmbeddedChannel ch, long millis) {
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
        ch.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
    }

    static void send(EmbeddedChannel ch, byte... bytes) {
        ch.writeInbound(Unpooled.wrappedBuffer(bytes));
    }

    static void sendSplit(EmbeddedChannel ch, byte... bytes) {
        for (byte b : bytes) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Everything the server has written so far. */
    static byte[] output(EmbeddedChannel ch) {
        ch.runPendingTasks();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    /** An RfbClient talking to {@code ch}; reads tick the loop when the server has nothing to say yet. */
    RfbClient client(EmbeddedChannel ch, String password) throws IOException {
        return RfbClient.handshake(new ServerOutput(ch), new ClientInput(ch), password);
    }

    /** An RfbClient on {@code ch}, which is past the handshake, with the server's default pixel format. */
    RfbClient attach(EmbeddedChannel ch, int width, int height) {
        return RfbClient.overStreams(new ServerOutput(ch), new ClientInput(ch), width, height,
                RfbClient.Format.RGB888);
    }

    /** Runs the RFB 3.8 handshake without authentication by hand; returns the channel ready for messages. */
    EmbeddedChannel ready() {
        EmbeddedChannel ch = open();
        send(ch, ascii("RFB 003.008\n"));
        send(ch, (byte) 1);
        send(ch, (byte) 1);
        tick();
        output(ch);
        if (!ch.isActive()) {
            throw new AssertionError("handshake failed");
        }
        return ch;
    }

    /** The server's output as a stream; when it runs dry, the loop ticks once, and then it is the end. */
    private final class ServerOutput extends InputStream {
        private final EmbeddedChannel ch;
        private ByteBuf current;

        ServerOutput(EmbeddedChannel ch) {
            this.ch = ch;
        }

        private boolean fill() {
            for (int attempt = 0; attempt < 2; attempt++) {
                while (current == null || !current.isReadable()) {
                    if (current != null) {
                        current.release();
                    }
                    ch.runPendingTasks();
                    current = ch.readOutbound();
                    if (current == null) {
                        break;
                    }
                }
                if (current != null) {
                    return true;
                }
                tick();
            }
            return false;
        }

        @Override
        public int read() throws IOException {
            if (!fill()) {
                throw new EOFException("the server has nothing more to send");
            }
            return current.readUnsignedByte();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                throw new EOFException("the server has nothing more to send");
            }
            int n = Math.min(len, current.readableBytes());
            current.readBytes(b, off, n);
            return n;
        }
    }

    /** Client bytes into the channel, one writeInbound per flush of the client's buffer. */
    private static final class ClientInput extends OutputStream {
        private final EmbeddedChannel ch;

        ClientInput(EmbeddedChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) b}));
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ch.writeInbound(Unpooled.copiedBuffer(b, off, len));
        }
    }
}
