package io.stubdm.backends.vnc;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

/** Client-to-server messages (RFC 6143 §7.5) as bytes, for feeding a session by hand. */
final class RfbMessages {
    private RfbMessages() {}

    static byte[] setPixelFormat(PixelFormat f) {
        ByteBuffer b = ByteBuffer.allocate(20);
        b.put((byte) 0).put(new byte[3]);
        b.put((byte) f.bitsPerPixel()).put((byte) f.depth()).put((byte) (f.bigEndian() ? 1 : 0))
                .put((byte) (f.trueColour() ? 1 : 0));
        b.putShort((short) f.redMax()).putShort((short) f.greenMax()).putShort((short) f.blueMax());
        b.put((byte) f.redShift()).put((byte) f.greenShift()).put((byte) f.blueShift()).put(new byte[3]);
        return b.array();
    }

    static byte[] setEncodings(int... encodings) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * encodings.length);
        b.put((byte) 2).put((byte) 0).putShort((short) encodings.length);
        for (int e : encodings) {
            b.putInt(e);
        }
        return b.array();
    }

    static byte[] updateRequest(boolean incremental, int x, int y, int w, int h) {
        return ByteBuffer.allocate(10).put((byte) 3).put((byte) (incremental ? 1 : 0)).putShort((short) x)
                .putShort((short) y).putShort((short) w).putShort((short) h).array();
    }

    static byte[] key(int keysym, boolean down) {
        return ByteBuffer.allocate(8).put((byte) 4).put((byte) (down ? 1 : 0)).putShort((short) 0).putInt(keysym)
                .array();
    }

    static byte[] pointer(int mask, int x, int y) {
        return ByteBuffer.allocate(6).put((byte) 5).put((byte) mask).putShort((short) x).putShort((short) y).array();
    }

    /** ClientCutText's header only, announcing {@code length} bytes of text. */
    static byte[] cutTextHeader(long length) {
        return ByteBuffer.allocate(8).put((byte) 6).put(new byte[3]).putInt((int) length).array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
