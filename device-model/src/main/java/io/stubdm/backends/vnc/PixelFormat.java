package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;

/** An RFB PIXEL_FORMAT (RFC 6143 §7.4), as sent in ServerInit and SetPixelFormat: 16 bytes on the wire. */
record PixelFormat(int bitsPerPixel, int depth, boolean bigEndian, boolean trueColour, int redMax, int greenMax,
        int blueMax, int redShift, int greenShift, int blueShift) {

    static final int WIRE_BYTES = 16;

    /** What the server announces: 0x00RRGGBB in a little-endian 32-bit word, the layout of its frames. */
    static final PixelFormat SERVER = new PixelFormat(32, 24, false, true, 255, 255, 255, 16, 8, 0);

    static PixelFormat read(ByteBuf in) {
        PixelFormat f = new PixelFormat(in.readUnsignedByte(), in.readUnsignedByte(), in.readUnsignedByte() != 0,
                in.readUnsignedByte() != 0, in.readUnsignedShort(), in.readUnsignedShort(), in.readUnsignedShort(),
                in.readUnsignedByte(), in.readUnsignedByte(), in.readUnsignedByte());
        in.skipBytes(3); // padding
        return f;
    }

    void write(ByteBuf out) {
        out.writeByte(bitsPerPixel).writeByte(depth).writeByte(bigEndian ? 1 : 0).writeByte(trueColour ? 1 : 0);
        out.writeShort(redMax).writeShort(greenMax).writeShort(blueMax);
        out.writeByte(redShift).writeByte(greenShift).writeByte(blueShift);
        out.writeZero(3);
    }

    /** Why this server cannot produce pixels in this format, or null when it can. */
    String problem() {
        if (!trueColour) {
            return "colour-map pixel formats are not supported (true-colour flag 0)";
        }
        if (bitsPerPixel != 8 && bitsPerPixel != 16 && bitsPerPixel != 32) {
            return "bits-per-pixel " + bitsPerPixel + " is not 8, 16 or 32";
        }
        String p = channelProblem("red", redMax, redShift);
        if (p == null) {
            p = channelProblem("green", greenMax, greenShift);
        }
        if (p == null) {
            p = channelProblem("blue", blueMax, blueShift);
        }
        return p;
    }

    private String channelProblem(String name, int max, int shift) {
        if (Integer.bitCount(max + 1) != 1) {
            return name + "-max " + max + " is not one less than a power of two";
        }
        if (shift + Integer.bitCount(max) > bitsPerPixel) {
            return name + " bits (max " + max + ", shift " + shift + ") do not fit in " + bitsPerPixel + " bits";
        }
        return null;
    }

    int bytesPerPixel() {
        return bitsPerPixel / 8;
    }

    /** The bits of a pixel that carry colour. */
    long colourMask() {
        return ((long) redMax << redShift) | ((long) greenMax << greenShift) | ((long) blueMax << blueShift);
    }
}
