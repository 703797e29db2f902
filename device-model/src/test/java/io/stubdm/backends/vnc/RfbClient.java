package io.stubdm.backends.vnc;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * A minimal VNC client (RFB 3.8, RFC 6143) for tests, using nothing but the JDK so that it also runs where only
 * a JRE is (the lab's Dom0). It keeps the framebuffer as 0xRRGGBB and decodes Raw, ZRLE and DesktopSize.
 * Not thread-safe: one thread drives it.
 */
public final class RfbClient implements Closeable {
    public static final int RAW = 0;
    public static final int ZRLE = 16;
    public static final int DESKTOP_SIZE = -223;

    public static final int XK_SHIFT_L = 0xffe1;
    public static final int XK_RETURN = 0xff0d;
    public static final int XK_TAB = 0xff09;
    public static final int XK_BACKSPACE = 0xff08;

    private static final String SHIFTED = "~!@#$%^&*()_+{}|:\"<>?";
    private static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    /** For the rest of a message once its first byte has arrived. */
    private static final long MESSAGE_TIMEOUT_MILLIS = 30_000;

    /** A login the server refused. */
    public static final class AuthenticationException extends IOException {
        private static final long serialVersionUID = 1L;

        public AuthenticationException(String message) {
            super(message);
        }
    }

    /** One rectangle of the last FramebufferUpdate. */
    public record Rectangle(int x, int y, int width, int height, int encoding) {}

    /** An RFB PIXEL_FORMAT (RFC 6143 §7.4). */
    public record Format(int bitsPerPixel, int depth, boolean bigEndian, boolean trueColour, int redMax,
            int greenMax, int blueMax, int redShift, int greenShift, int blueShift) {
        /** 32 bpp, depth 24, little-endian 0x00RRGGBB: what almost every viewer asks for. */
        public static final Format RGB888 = new Format(32, 24, false, true, 255, 255, 255, 16, 8, 0);

        int bytesPerPixel() {
            return bitsPerPixel / 8;
        }

        /** ZRLE's CPIXEL size (§7.7.6) and whether it holds the most significant 3 bytes. */
        int cpixelBytes() {
            return cpixelMode() == 0 ? bytesPerPixel() : 3;
        }

        /** 0: full pixel, 1: least significant 3 bytes, 2: most significant 3 bytes. */
        int cpixelMode() {
            long mask = ((long) redMax << redShift) | ((long) greenMax << greenShift) | ((long) blueMax << blueShift);
            if (!trueColour || bitsPerPixel != 32 || depth > 24) {
                return 0;
            }
            if ((mask & 0xFF000000L) == 0) {
                return 1;
            }
            return (mask & 0xFFL) == 0 ? 2 : 0;
        }

        int toRgb(long pixel) {
            return channel(pixel, redMax, redShift) << 16 | channel(pixel, greenMax, greenShift) << 8
                    | channel(pixel, blueMax, blueShift);
        }

        private static int channel(long pixel, int max, int shift) {
            if (max == 0) {
                return 0;
            }
            long v = (pixel >>> shift) & max;
            return (int) ((v * 255 + max / 2) / max);
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final Inflater inflater = new Inflater();
    private int width;
    private int height;
    private int[] framebuffer;
    private Format format;
    private String name = "";
    private List<Rectangle> lastUpdate = List.of();

    private RfbClient(Socket socket, InputStream in, OutputStream out) {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(in));
        this.out = new DataOutputStream(new BufferedOutputStream(out));
    }

    /**
     * A client that has already been through the handshake with a server of this size and pixel format, over
     * the given streams: for decoding server messages captured elsewhere.
     */
    public static RfbClient overStreams(InputStream in, OutputStream out, int width, int height, Format format) {
        RfbClient c = new RfbClient(null, in, out);
        c.resize(width, height);
        c.format = format;
        return c;
    }

    /** Logs in with RFB 3.8 over already connected streams (any transport): as {@link #connect}. */
    public static RfbClient handshake(InputStream in, OutputStream out, String password) throws IOException {
        RfbClient c = new RfbClient(null, in, out);
        c.handshake(password);
        return c;
    }

    /** Connects and logs in with RFB 3.8: VNC Authentication when {@code password} is given, else None. */
    public static RfbClient connect(String host, int port, String password) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), (int) HANDSHAKE_TIMEOUT_MILLIS);
            socket.setSoTimeout((int) HANDSHAKE_TIMEOUT_MILLIS);
            RfbClient c = new RfbClient(socket, socket.getInputStream(), socket.getOutputStream());
            c.handshake(password);
            return c;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private void handshake(String password) throws IOException {
        byte[] version = readBytes(12);
        String v = new String(version, StandardCharsets.US_ASCII);
        if (!v.startsWith("RFB 003.") || version[11] != '\n') {
            throw new IOException("not an RFB server: " + v.trim());
        }
        out.write("RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        int count = in.readUnsignedByte();
        if (count == 0) {
            throw new IOException("server refused the connection: " + readString());
        }
        byte[] types = readBytes(count);
        boolean none = false;
        boolean vnc = false;
        for (byte t : types) {
            none |= t == 1;
            vnc |= t == 2;
        }
        int chosen;
        if (vnc && password != null) {
            chosen = 2;
        } else if (none) {
            chosen = 1;
        } else if (vnc) {
            throw new AuthenticationException("the server wants a password");
        } else {
            throw new IOException("no supported security type offered");
        }
        out.write(chosen);
        out.flush();
        if (chosen == 2) {
            byte[] challenge = readBytes(16);
            out.write(vncAuthResponse(password, challenge));
            out.flush();
        }
        int result = in.readInt();
        if (result != 0) {
            throw new AuthenticationException("authentication failed: " + readString());
        }
        out.write(1); // ClientInit: shared
        out.flush();
        int w = in.readUnsignedShort();
        int h = in.readUnsignedShort();
        format = readFormat();
        name = readString();
        resize(w, h);
    }

    /** DES of the challenge with the password's first 8 bytes, each bit-reversed, as key (RFC 6143 §7.2.2). */
    public static byte[] vncAuthResponse(String password, byte[] challenge) {
        byte[] key = new byte[8];
        byte[] pw = password.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < Math.min(8, pw.length); i++) {
            int b = pw[i] & 0xFF;
            int r = 0;
            for (int bit = 0; bit < 8; bit++) {
                r |= ((b >> bit) & 1) << (7 - bit);
            }
            key[i] = (byte) r;
        }
        try {
            Cipher des = Cipher.getInstance("DES/ECB/NoPadding");
            des.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "DES"));
            return des.doFinal(challenge);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The desktop name from ServerInit. */
    public String name() {
        return name;
    }

    public Format format() {
        return format;
    }

    /** A copy of the framebuffer, 0xRRGGBB, row-major. */
    public int[] framebuffer() {
        return framebuffer.clone();
    }

    /** The rectangles of the last FramebufferUpdate read. */
    public List<Rectangle> lastUpdate() {
        return lastUpdate;
    }

    // ---------------------------------------------------------------- client messages

    public void setPixelFormat(Format f) throws IOException {
        out.write(0);
        out.write(new byte[3]);
        out.write(f.bitsPerPixel());
        out.write(f.depth());
        out.write(f.bigEndian() ? 1 : 0);
        out.write(f.trueColour() ? 1 : 0);
        out.writeShort(f.redMax());
        out.writeShort(f.greenMax());
        out.writeShort(f.blueMax());
        out.write(f.redShift());
        out.write(f.greenShift());
        out.write(f.blueShift());
        out.write(new byte[3]);
        out.flush();
        format = f;
    }

    /** Asks for 32 bpp little-endian 0x00RRGGBB (the server's default is the same; this makes it explicit). */
    public void setPixelFormat32() throws IOException {
        setPixelFormat(Format.RGB888);
    }

    /** SetEncodings, in preference order. */
    public void setEncodings(int... encodings) throws IOException {
        out.write(2);
        out.write(0);
        out.writeShort(encodings.length);
        for (int e : encodings) {
            out.writeInt(e);
        }
        out.flush();
    }

    public void requestUpdate(boolean incremental, int x, int y, int w, int h) throws IOException {
        out.write(3);
        out.write(incremental ? 1 : 0);
        out.writeShort(x);
        out.writeShort(y);
        out.writeShort(w);
        out.writeShort(h);
        out.flush();
    }

    /** Asks for the whole framebuffer and returns it once it has arrived (SocketTimeoutException after 10 s). */
    public int[] requestFullFrame() throws IOException {
        int[] fb = awaitUpdate(false, HANDSHAKE_TIMEOUT_MILLIS);
        if (fb == null) {
            throw new SocketTimeoutException("no full frame within " + HANDSHAKE_TIMEOUT_MILLIS + " ms");
        }
        return fb;
    }

    /**
     * Asks for an update of the whole framebuffer and returns the framebuffer once one carrying pixels has been
     * applied (a DesktopSize alone resizes and keeps waiting), or null when no update began within
     * {@code timeoutMillis}. The connection stays usable after null: the request stays outstanding with the
     * server, and a later call may receive its answer.
     */
    public int[] awaitUpdate(boolean incremental, long timeoutMillis) throws IOException {
        requestUpdate(incremental, 0, 0, width, height);
        return readUpdate(timeoutMillis);
    }

    /**
     * Reads server messages until a FramebufferUpdate with pixels has been applied; returns the framebuffer, or
     * null when no message began within {@code timeoutMillis} (a message once begun is read to its end).
     * Without a socket (over streams) there is no timeout.
     */
    public int[] readUpdate(long timeoutMillis) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (true) {
            int type;
            try {
                type = firstByte(deadline);
            } catch (SocketTimeoutException e) {
                return null;
            }
            if (socket != null) {
                socket.setSoTimeout((int) MESSAGE_TIMEOUT_MILLIS);
            }
            switch (type) {
                case 0 -> {
                    if (readFramebufferUpdate()) {
                        return framebuffer();
                    }
                }
                case 1 -> { // SetColourMapEntries
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                    readBytes(6 * in.readUnsignedShort());
                }
                case 2 -> { } // Bell
                case 3 -> { // ServerCutText
                    readBytes(3);
                    long n = in.readInt() & 0xFFFFFFFFL;
                    if (n > 1 << 24) {
                        throw new IOException("ServerCutText of " + n + " bytes");
                    }
                    readBytes((int) n);
                }
                default -> throw new IOException("unknown server message type " + type);
            }
        }
    }

    /** The first byte of the next message, waiting until {@code deadline}; a timeout leaves the stream intact. */
    private int firstByte(long deadline) throws IOException {
        if (socket != null) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, left)));
        }
        return in.readUnsignedByte();
    }

    public void key(int keysym, boolean down) throws IOException {
        out.write(4);
        out.write(down ? 1 : 0);
        out.writeShort(0);
        out.writeInt(keysym);
        out.flush();
    }

    /** Types ASCII text: a press and release per character, Shift_L around upper case and shifted symbols. */
    public void type(String ascii) throws IOException {
        for (char c : ascii.toCharArray()) {
            int keysym;
            boolean shift = false;
            if (c == '\n') {
                keysym = XK_RETURN;
            } else if (c == '\t') {
                keysym = XK_TAB;
            } else if (c == '\b') {
                keysym = XK_BACKSPACE;
            } else if (c >= 0x20 && c < 0x7F) {
                keysym = c;
                shift = Character.isUpperCase(c) || SHIFTED.indexOf(c) >= 0;
            } else {
                throw new IllegalArgumentException("not typeable: U+" + Integer.toHexString(c));
            }
            if (shift) {
                key(XK_SHIFT_L, true);
            }
            key(keysym, true);
            key(keysym, false);
            if (shift) {
                key(XK_SHIFT_L, false);
            }
        }
    }

    /** PointerEvent: absolute position, RFB button mask (bit 0 left, 1 middle, 2 right, 3/4 wheel up/down). */
    public void pointer(int x, int y, int buttons) throws IOException {
        out.write(5);
        out.write(buttons);
        out.writeShort(x);
        out.writeShort(y);
        out.flush();
    }

    public void cutText(String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        out.write(6);
        out.write(new byte[3]);
        out.writeInt(b.length);
        out.write(b);
        out.flush();
    }

    /** Sends raw bytes, for provoking the server with what no client would send. */
    public void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /**
     * Reads and discards until the server closes the connection: true when it did within {@code timeoutMillis},
     * false on timeout.
     */
    public boolean awaitClosed(long timeoutMillis) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        byte[] sink = new byte[8192];
        try {
            while (true) {
                if (socket != null) {
                    long left = (deadline - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        return false;
                    }
                    socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
                }
                if (in.read(sink) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset by the server counts as closed
        }
    }

    @Override
    public void close() throws IOException {
        inflater.end();
        if (socket != null) {
            socket.close();
        }
    }

    // ---------------------------------------------------------------- decoding

    /** Applies one FramebufferUpdate (type byte already read); true when it carried pixels. */
    private boolean readFramebufferUpdate() throws IOException {
        in.readUnsignedByte();
        int count = in.readUnsignedShort();
        List<Rectangle> rects = new ArrayList<>(count);
        boolean pixels = false;
        for (int i = 0; i < count; i++) {
            Rectangle r = new Rectangle(in.readUnsignedShort(), in.readUnsignedShort(), in.readUnsignedShort(),
                    in.readUnsignedShort(), in.readInt());
            rects.add(r);
            if (r.encoding() == DESKTOP_SIZE) {
                resize(r.width(), r.height());
                continue;
            }
            if (r.x() + r.width() > width || r.y() + r.height() > height) {
                throw new IOException("rectangle " + r + " outside the " + width + "x" + height + " framebuffer");
            }
            switch (r.encoding()) {
                case RAW -> readRaw(r);
                case ZRLE -> readZrle(r);
                default -> throw new IOException("unexpected encoding " + r.encoding());
            }
            pixels = true;
        }
        lastUpdate = List.copyOf(rects);
        return pixels || count == 0;
    }

    private void resize(int w, int h) {
        width = w;
        height = h;
        framebuffer = new int[w * h];
    }

    private void readRaw(Rectangle r) throws IOException {
        int bpp = format.bytesPerPixel();
        byte[] data = readBytes(r.width() * r.height() * bpp);
        int at = 0;
        for (int y = r.y(); y < r.y() + r.height(); y++) {
            for (int x = r.x(); x < r.x() + r.width(); x++) {
                framebuffer[y * width + x] = format.toRgb(pixel(data, at, bpp));
                at += bpp;
            }
        }
    }

    private long pixel(byte[] b, int at, int n) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            int byteValue = b[at + i] & 0xFF;
            v = format.bigEndian() ? v << 8 | byteValue : v | (long) byteValue << (8 * i);
        }
        return v;
    }

    private void readZrle(Rectangle r) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > 1 << 28) {
            throw new IOException("ZRLE length " + length);
        }
        byte[] data = inflate(readBytes(length));
        ZrleReader z = new ZrleReader(data);
        for (int ty = r.y(); ty < r.y() + r.height(); ty += 64) {
            int th = Math.min(64, r.y() + r.height() - ty);
            for (int tx = r.x(); tx < r.x() + r.width(); tx += 64) {
                int tw = Math.min(64, r.x() + r.width() - tx);
                z.tile(tx, ty, tw, th);
            }
        }
        if (z.at != data.length) {
            throw new IOException("ZRLE rectangle has " + (data.length - z.at) + " bytes left over");
        }
    }

    private byte[] inflate(byte[] compressed) throws IOException {
        inflater.setInput(compressed);
        ByteArrayOutputStream plain = new ByteArrayOutputStream(compressed.length * 4);
        byte[] buf = new byte[64 * 1024];
        try {
            int n;
            while ((n = inflater.inflate(buf)) > 0) {
                plain.write(buf, 0, n);
            }
        } catch (DataFormatException e) {
            throw new IOException("bad zlib data in ZRLE", e);
        }
        if (!inflater.needsInput()) {
            throw new IOException("ZRLE zlib data not consumed");
        }
        return plain.toByteArray();
    }

    /** Decodes the tiles of one ZRLE rectangle (RFC 6143 §7.7.6) into the framebuffer. */
    private final class ZrleReader {
        private final byte[] d;
        private int at;

        ZrleReader(byte[] data) {
            this.d = data;
        }

        void tile(int tx, int ty, int tw, int th) throws IOException {
            int sub = u8();
            int[] px = new int[tw * th];
            if (sub == 0) {
                for (int i = 0; i < px.length; i++) {
                    px[i] = cpixel();
                }
            } else if (sub == 1) {
                java.util.Arrays.fill(px, cpixel());
            } else if (sub <= 16) {
                int[] palette = palette(sub);
                int bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4;
                for (int y = 0; y < th; y++) {
                    int acc = 0;
                    int left = 0;
                    for (int x = 0; x < tw; x++) {
                        if (left == 0) {
                            acc = u8();
                            left = 8;
                        }
                        left -= bits;
                        int index = (acc >> left) & ((1 << bits) - 1);
                        if (index >= sub) {
                            throw new IOException("palette index " + index + " of " + sub);
                        }
                        px[y * tw + x] = palette[index];
                    }
                }
            } else if (sub == 128) {
                for (int i = 0; i < px.length; ) {
                    int c = cpixel();
                    int len = runLength();
                    i = fill(px, i, len, c);
                }
            } else if (sub >= 130) {
                int[] palette = palette(sub - 128);
                for (int i = 0; i < px.length; ) {
                    int b = u8();
                    int index = b & 0x7F;
                    if (index >= palette.length) {
                        throw new IOException("palette index " + index + " of " + palette.length);
                    }
                    int len = (b & 0x80) != 0 ? runLength() : 1;
                    i = fill(px, i, len, palette[index]);
                }
            } else {
                throw new IOException("ZRLE subencoding " + sub + " is not defined");
            }
            for (int y = 0; y < th; y++) {
                System.arraycopy(px, y * tw, framebuffer, (ty + y) * width + tx, tw);
            }
        }

        private int fill(int[] px, int i, int len, int c) throws IOException {
            if (i + len > px.length) {
                throw new IOException("ZRLE run beyond the tile");
            }
            java.util.Arrays.fill(px, i, i + len, c);
            return i + len;
        }

        private int[] palette(int n) throws IOException {
            int[] p = new int[n];
            for (int i = 0; i < n; i++) {
                p[i] = cpixel();
            }
            return p;
        }

        private int runLength() throws IOException {
            int len = 1;
            int b;
            do {
                b = u8();
                len += b;
            } while (b == 255);
            return len;
        }

        private int cpixel() throws IOException {
            int mode = format.cpixelMode();
            int n = format.cpixelBytes();
            if (at + n > d.length) {
                throw new IOException("ZRLE data ends inside a pixel");
            }
            long v = pixel(d, at, n);
            at += n;
            if (mode == 2) {
                v <<= 8;
            }
            return format.toRgb(v);
        }

        private int u8() throws IOException {
            if (at >= d.length) {
                throw new IOException("ZRLE data ends early");
            }
            return d[at++] & 0xFF;
        }
    }

    // ---------------------------------------------------------------- wire helpers

    private Format readFormat() throws IOException {
        Format f = new Format(in.readUnsignedByte(), in.readUnsignedByte(), in.readUnsignedByte() != 0,
                in.readUnsignedByte() != 0, in.readUnsignedShort(), in.readUnsignedShort(), in.readUnsignedShort(),
                in.readUnsignedByte(), in.readUnsignedByte(), in.readUnsignedByte());
        readBytes(3);
        return f;
    }

    private String readString() throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 20) {
            throw new IOException("string of " + n + " bytes");
        }
        return new String(readBytes(n), StandardCharsets.UTF_8);
    }

    private byte[] readBytes(int n) throws IOException {
        byte[] b = new byte[n];
        try {
            in.readFully(b);
        } catch (EOFException e) {
            throw new EOFException("server closed the connection");
        }
        return b;
    }
}
