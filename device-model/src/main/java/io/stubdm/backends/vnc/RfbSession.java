package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * One VNC client's connection (RFC 6143): the handshake, then its messages. Input is parsed from an
 * accumulating buffer as a state machine, so messages may arrive split anywhere. Anything a well-behaved client
 * would not send closes this connection, with a log line, and nothing else; the client is untrusted.
 */
final class RfbSession extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(RfbSession.class.getName());

    /** More than any real client lists (TigerVNC sends about 30). */
    static final int MAX_ENCODINGS = 1024;
    /** Clipboard text is discarded as it streams in; beyond this the client is not sane. */
    static final long MAX_CUT_TEXT = 16L << 20;
    /** Input not yet consumed; the largest message kept whole is SetEncodings of 1024 (4100 bytes). */
    static final int MAX_PENDING_INPUT = 64 * 1024;
    static final long HANDSHAKE_TIMEOUT_SECONDS = 30;
    static final long FAILURE_RESULT_DELAY_MILLIS = 1000;

    private enum State {
        VERSION, SECURITY_TYPE, AUTH_RESPONSE, AUTH_WAIT, CLIENT_INIT, SERVER_INIT_WAIT, MESSAGES, CUT_TEXT, CLOSED
    }

    private final ServerContext server;
    private final KeyForwarder keys;
    private final PointerForwarder pointer;
    private ChannelHandlerContext ctx;
    private ByteBuf in;
    private String peer = "?";
    private State state = State.VERSION;
    private boolean started;
    private RfbVersion version;
    private int securityType;
    private byte[] challenge;
    private ClientView view;
    private long cutTextLeft;
    private ScheduledFuture<?> handshakeTimeout;

    RfbSession(ServerContext server) {
        this.server = server;
        this.keys = new KeyForwarder(server.console());
        this.pointer = new PointerForwarder(server.console());
    }

    // ---------------------------------------------------------------- channel events

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.in = ctx.alloc().buffer(256);
        if (ctx.channel().isActive()) {
            start();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (in != null) {
            in.release();
            in = null;
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        start();
        ctx.fireChannelActive();
    }

    private void start() {
        if (started) {
            return;
        }
        started = true;
        peer = String.valueOf(ctx.channel().remoteAddress());
        LOG.log(Level.INFO, "VNC client " + peer + " connected");
        handshakeTimeout = ctx.executor().schedule(() -> {
            if (state != State.MESSAGES && state != State.CUT_TEXT) {
                fail("no complete handshake within " + HANDSHAKE_TIMEOUT_SECONDS + " s");
            }
        }, HANDSHAKE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        ctx.writeAndFlush(ctx.alloc().buffer(RfbVersion.MESSAGE_BYTES).writeBytes(RfbVersion.SERVER));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf b = (ByteBuf) msg;
        try {
            if (state == State.CLOSED || in == null) {
                return; // closing: input is dropped, not kept
            }
            in.writeBytes(b);
        } finally {
            b.release();
        }
        process();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        try {
            keys.releaseAll();
            pointer.releaseAll();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "VNC client " + peer + ": releasing held keys failed", e);
        }
        if (view != null) {
            server.display().remove(view);
            view.close();
            view = null;
        }
        LOG.log(Level.INFO, "VNC client " + peer + " disconnected");
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            LOG.log(Level.INFO, "VNC client " + peer + ": " + cause.getMessage() + "; closing");
            state = State.CLOSED;
            ctx.close();
        } else {
            LOG.log(Level.WARNING, "VNC client " + peer + ": unexpected error; closing", cause);
            fail("internal error " + cause);
        }
    }

    // ---------------------------------------------------------------- input

    /** Consumes whatever complete input there is; the only place input is parsed. */
    private void process() {
        try {
            while (state != State.CLOSED && step()) {
                // each step consumed one message or handshake item
            }
            if (state != State.CLOSED && in.readableBytes() > MAX_PENDING_INPUT) {
                fail("sent more than " + MAX_PENDING_INPUT + " bytes ahead of the protocol");
            }
            if (in != null) {
                in.discardSomeReadBytes();
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "VNC client " + peer + ": error handling its input; closing", e);
            fail("internal error " + e);
        }
    }

    /** Handles one item if it is all there; false when more input is needed (or nothing more may be read). */
    private boolean step() {
        return switch (state) {
            case VERSION -> version();
            case SECURITY_TYPE -> securityType();
            case AUTH_RESPONSE -> authResponse();
            case CLIENT_INIT -> clientInit();
            case MESSAGES -> message();
            case CUT_TEXT -> discardCutText();
            case AUTH_WAIT, SERVER_INIT_WAIT, CLOSED -> false; // a pipelining client's bytes wait in `in`
        };
    }

    private boolean version() {
        if (in.readableBytes() < RfbVersion.MESSAGE_BYTES) {
            return false;
        }
        byte[] message = new byte[RfbVersion.MESSAGE_BYTES];
        in.readBytes(message);
        version = RfbVersion.negotiate(message);
        if (version == null) {
            fail("bad ProtocolVersion \"" + printable(message) + "\" (expected \"RFB 003.00x\\n\")");
            return false;
        }
        securityType = server.auth().securityType();
        if (version == RfbVersion.V3_3) {
            // §7.1.2 for 3.3: the server decides and sends the type as a u32.
            write(ctx.alloc().buffer(4).writeInt(securityType));
            securityTypeChosen();
        } else {
            write(ctx.alloc().buffer(2).writeByte(1).writeByte(securityType));
            state = State.SECURITY_TYPE;
        }
        return true;
    }

    private boolean securityType() {
        if (in.readableBytes() < 1) {
            return false;
        }
        int chosen = in.readUnsignedByte();
        if (chosen != securityType) {
            String reason = "security type " + chosen + " was not offered (offered " + securityType + ")";
            if (version == RfbVersion.V3_8) {
                // §7.1.2: 3.8 tells the client why; 3.7 just closes.
                LOG.log(Level.WARNING, "VNC client " + peer + ": " + reason + "; closing");
                state = State.CLOSED;
                ctx.writeAndFlush(securityFailure(reason)).addListener(ChannelFutureListener.CLOSE);
            } else {
                fail(reason);
            }
            return false;
        }
        securityTypeChosen();
        return true;
    }

    private void securityTypeChosen() {
        if (securityType == AuthConfig.NONE) {
            if (version == RfbVersion.V3_8) {
                write(ctx.alloc().buffer(4).writeInt(0)); // §7.1.3: 3.8 sends SecurityResult even for None
            }
            state = State.CLIENT_INIT;
        } else {
            challenge = VncAuth.challenge(server.random());
            write(ctx.alloc().buffer(VncAuth.CHALLENGE_BYTES).writeBytes(challenge));
            state = State.AUTH_RESPONSE;
        }
    }

    private boolean authResponse() {
        if (in.readableBytes() < VncAuth.CHALLENGE_BYTES) {
            return false;
        }
        byte[] response = new byte[VncAuth.CHALLENGE_BYTES];
        in.readBytes(response);
        state = State.AUTH_WAIT;
        long wait = server.throttle().admit();
        if (wait == AuthThrottle.REJECT) {
            authFailed("too many authentication failures; try again later");
            return false;
        }
        if (wait == 0) {
            return evaluate(response);
        }
        ctx.executor().schedule(() -> {
            if (state == State.AUTH_WAIT && evaluate(response)) {
                process(); // ClientInit may have come along with the response
            }
        }, wait, TimeUnit.NANOSECONDS);
        return false;
    }

    /** Checks the response; true when authenticated and the next step (ClientInit) may be parsed. */
    private boolean evaluate(byte[] response) {
        if (server.auth().verify(challenge, response)) {
            write(ctx.alloc().buffer(4).writeInt(0));
            state = State.CLIENT_INIT;
            return true;
        }
        server.throttle().failed();
        authFailed("authentication failed");
        return false;
    }

    /** Fails the login: the result goes out a second later, then the connection closes. */
    private void authFailed(String reason) {
        LOG.log(Level.WARNING, "VNC client " + peer + ": " + reason + "; closing");
        state = State.CLOSED;
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        ctx.executor().schedule(() -> {
            if (ctx.channel().isActive()) {
                ctx.writeAndFlush(securityFailure(reason)).addListener(ChannelFutureListener.CLOSE);
            }
        }, FAILURE_RESULT_DELAY_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** SecurityResult "failed" (§7.1.3): with a reason string in 3.8 only. */
    private ByteBuf securityFailure(String reason) {
        ByteBuf b = ctx.alloc().buffer();
        b.writeInt(1);
        if (version == RfbVersion.V3_8) {
            writeString(b, reason);
        }
        return b;
    }

    private boolean clientInit() {
        if (in.readableBytes() < 1) {
            return false;
        }
        in.skipBytes(1); // shared-flag ignored: every client shares the one console (QEMU's share=force-shared)
        state = State.SERVER_INIT_WAIT;
        server.display().requestInit(ctx.channel(), this::serverInit); // the size comes from a capture, on the refresh thread
        return false;
    }

    /** The refresh thread's answer to {@link #clientInit}: send ServerInit (§7.3.2) for this size. */
    void serverInit(int width, int height) {
        EventExecutor executor = ctx.executor();
        if (executor.inEventLoop()) {
            onServerInit(width, height);
        } else {
            executor.execute(() -> onServerInit(width, height));
        }
    }

    private void onServerInit(int width, int height) {
        if (state != State.SERVER_INIT_WAIT) {
            return;
        }
        ByteBuf b = ctx.alloc().buffer();
        b.writeShort(width).writeShort(height);
        PixelFormat.SERVER.write(b);
        writeString(b, server.desktopName());
        write(b);
        view = new ClientView(ctx.channel(), peer, width, height);
        server.display().add(view);
        state = State.MESSAGES;
        handshakeTimeout.cancel(false);
        LOG.log(Level.INFO, "VNC client " + peer + " started a session (RFB " + version + ", "
                + (securityType == AuthConfig.VNC ? "VNC authentication" : "no authentication") + ")");
        process();
    }

    /** One client-to-server message (§7.5). */
    private boolean message() {
        int available = in.readableBytes();
        if (available < 1) {
            return false;
        }
        int type = in.getUnsignedByte(in.readerIndex());
        switch (type) {
            case 0 -> { // SetPixelFormat
                if (available < 4 + PixelFormat.WIRE_BYTES) {
                    return false;
                }
                in.skipBytes(4);
                PixelFormat format = PixelFormat.read(in);
                String problem = format.problem();
                if (problem != null) {
                    fail("SetPixelFormat: " + problem + " (" + format + ")");
                    return false;
                }
                view.setPixelFormat(format);
            }
            case 2 -> { // SetEncodings
                if (available < 4) {
                    return false;
                }
                int count = in.getUnsignedShort(in.readerIndex() + 2);
                if (count > MAX_ENCODINGS) {
                    fail("SetEncodings with " + count + " encodings (at most " + MAX_ENCODINGS + " accepted)");
                    return false;
                }
                if (available < 4 + 4 * count) {
                    return false;
                }
                in.skipBytes(4);
                int[] encodings = new int[count];
                for (int i = 0; i < count; i++) {
                    encodings[i] = in.readInt();
                }
                view.setEncodings(encodings);
            }
            case 3 -> { // FramebufferUpdateRequest
                if (available < 10) {
                    return false;
                }
                in.skipBytes(1);
                boolean incremental = in.readUnsignedByte() != 0;
                Rect area = new Rect(in.readUnsignedShort(), in.readUnsignedShort(), in.readUnsignedShort(),
                        in.readUnsignedShort());
                view.request(incremental, area);
                if (!incremental) {
                    server.display().wake();
                }
            }
            case 4 -> { // KeyEvent
                if (available < 8) {
                    return false;
                }
                in.skipBytes(1);
                boolean down = in.readUnsignedByte() != 0;
                in.skipBytes(2);
                keys.key(in.readInt(), down);
            }
            case 5 -> { // PointerEvent
                if (available < 6) {
                    return false;
                }
                in.skipBytes(1);
                int mask = in.readUnsignedByte();
                int x = in.readUnsignedShort();
                int y = in.readUnsignedShort();
                pointer.event(mask, x, y);
            }
            case 6 -> { // ClientCutText: the guest has no clipboard to give it to
                if (available < 8) {
                    return false;
                }
                in.skipBytes(4);
                long length = in.readUnsignedInt();
                if (length > MAX_CUT_TEXT) {
                    fail("ClientCutText of " + length + " bytes (at most " + MAX_CUT_TEXT + " accepted)");
                    return false;
                }
                cutTextLeft = length;
                if (length > 0) {
                    state = State.CUT_TEXT;
                }
            }
            default -> {
                fail("unsupported client message type " + type + messageName(type));
                return false;
            }
        }
        return true;
    }

    private boolean discardCutText() {
        int n = (int) Math.min(cutTextLeft, in.readableBytes());
        in.skipBytes(n);
        cutTextLeft -= n;
        if (cutTextLeft == 0) {
            state = State.MESSAGES;
            return true;
        }
        return false;
    }

    /** Names the extension messages a client sends only to servers that announced them, which this one never does. */
    private static String messageName(int type) {
        return switch (type) {
            case 1 -> " (FixColourMapEntries)";
            case 150 -> " (EnableContinuousUpdates)";
            case 248 -> " (ClientFence)";
            case 250 -> " (xvp)";
            case 251 -> " (SetDesktopSize)";
            case 252 -> " (tight)";
            case 253 -> " (gii)";
            case 255 -> " (QEMU client message)";
            default -> "";
        };
    }

    // ---------------------------------------------------------------- output and closing

    private void write(ByteBuf b) {
        ctx.writeAndFlush(b).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    private static void writeString(ByteBuf b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.writeInt(bytes.length).writeBytes(bytes);
    }

    /** Closes this connection for a protocol violation (or an internal error), with one log line. */
    private void fail(String reason) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        LOG.log(Level.WARNING, "VNC client " + peer + ": " + reason + "; closing");
        ctx.close(); // now, not after pending updates: a hostile client need not be reading
    }

    private static String printable(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) {
            int c = b & 0xFF;
            s.append(c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return s.toString();
    }
}
