package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.stubdm.devices.vga.VgaRenderer.Frame;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/** Test helpers: encode updates with the server's classes, decode them with the test client. */
final class Encoded {
    private Encoded() {}

    static ShadowFrame shadow(int w, int h, int[] pixels) {
        ShadowFrame s = new ShadowFrame();
        s.update(new Frame(w, h, pixels));
        return s;
    }

    static byte[] update(ShadowFrame frame, List<Rect> rects, int encoding, PixelFormat format, ZrleEncoder zrle) {
        ByteBuf b = FramebufferUpdate.pixels(UnpooledByteBufAllocator.DEFAULT, frame, rects, encoding,
                new PixelEncoder(format), zrle);
        try {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            return bytes;
        } finally {
            b.release();
        }
    }

    static RfbClient.Format clientFormat(PixelFormat f) {
        return new RfbClient.Format(f.bitsPerPixel(), f.depth(), f.bigEndian(), f.trueColour(), f.redMax(),
                f.greenMax(), f.blueMax(), f.redShift(), f.greenShift(), f.blueShift());
    }

    /** A client with a w×h framebuffer that reads {@code messages}. */
    static RfbClient reader(byte[] messages, int w, int h, PixelFormat format) {
        return RfbClient.overStreams(new ByteArrayInputStream(messages), OutputStream.nullOutputStream(), w, h,
                clientFormat(format));
    }

    static int[] decode(byte[] message, int w, int h, PixelFormat format) throws IOException {
        try (RfbClient c = reader(message, w, h, format)) {
            return c.readUpdate(0);
        }
    }

    /** The inflated ZRLE data of the single rectangle of {@code message}, from a fresh zlib stream. */
    static byte[] zrlePlain(byte[] message) throws DataFormatException {
        int length = ((message[16] & 0xFF) << 24) | ((message[17] & 0xFF) << 16) | ((message[18] & 0xFF) << 8)
                | (message[19] & 0xFF);
        Inflater inf = new Inflater();
        try {
            inf.setInput(message, 20, length);
            byte[] out = new byte[1 << 20];
            int n = 0;
            int k;
            while ((k = inf.inflate(out, n, out.length - n)) > 0) {
                n += k;
            }
            return java.util.Arrays.copyOf(out, n);
        } finally {
            inf.end();
        }
    }
}
