package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;

/**
 * Turns the frame's 0xRRGGBB pixels into a client's {@link PixelFormat}: pixel values, their bytes (Raw), and
 * ZRLE's compressed pixels (CPIXEL, RFC 6143 §7.7.6).
 */
final class PixelEncoder {
    private final PixelFormat format;
    private final boolean identity;
    private final int[] red = new int[256];
    private final int[] green = new int[256];
    private final int[] blue = new int[256];
    private final int bytesPerPixel;
    private final int cpixelBytes;
    /** For a 3-byte CPIXEL: whether it is the most significant 3 bytes of the pixel (else the least). */
    private final boolean cpixelHigh;

    PixelEncoder(PixelFormat format) {
        String problem = format.problem();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        this.format = format;
        this.bytesPerPixel = format.bytesPerPixel();
        this.identity = format.bitsPerPixel() == 32 && format.redMax() == 255 && format.greenMax() == 255
                && format.blueMax() == 255 && format.redShift() == 16 && format.greenShift() == 8
                && format.blueShift() == 0;
        for (int c = 0; c < 256; c++) {
            red[c] = scale(c, format.redMax()) << format.redShift();
            green[c] = scale(c, format.greenMax()) << format.greenShift();
            blue[c] = scale(c, format.blueMax()) << format.blueShift();
        }
        long mask = format.colourMask();
        boolean fitsLow = (mask & 0xFF000000L) == 0;
        boolean fitsHigh = (mask & 0xFFL) == 0;
        if (format.bitsPerPixel() == 32 && format.depth() <= 24 && (fitsLow || fitsHigh)) {
            cpixelBytes = 3;
            cpixelHigh = !fitsLow;
        } else {
            cpixelBytes = bytesPerPixel;
            cpixelHigh = false;
        }
    }

    /** An 8-bit intensity on a 0..max scale, rounded to nearest. */
    private static int scale(int c, int max) {
        return (c * max + 127) / 255;
    }

    PixelFormat format() {
        return format;
    }

    int bytesPerPixel() {
        return bytesPerPixel;
    }

    int cpixelBytes() {
        return cpixelBytes;
    }

    /** The client's pixel value for 0xRRGGBB (higher bits ignored). */
    int pixel(int rgb) {
        if (identity) {
            return rgb & 0xFFFFFF;
        }
        return red[(rgb >>> 16) & 0xFF] | green[(rgb >>> 8) & 0xFF] | blue[rgb & 0xFF];
    }

    /** A pixel value as PIXEL bytes, in the client's byte order. */
    void writePixel(ByteBuf out, int pixel) {
        switch (bytesPerPixel) {
            case 1 -> out.writeByte(pixel);
            case 2 -> {
                if (format.bigEndian()) {
                    out.writeShort(pixel);
                } else {
                    out.writeShortLE(pixel);
                }
            }
            default -> {
                if (format.bigEndian()) {
                    out.writeInt(pixel);
                } else {
                    out.writeIntLE(pixel);
                }
            }
        }
    }

    /** A pixel value as CPIXEL bytes into {@code out} at {@code at}; returns the index after them. */
    int writeCpixel(byte[] out, int at, int pixel) {
        int n = cpixelBytes;
        int v = n == 3 && cpixelHigh ? pixel >>> 8 : pixel;
        if (format.bigEndian()) {
            for (int i = n - 1; i >= 0; i--) {
                out[at++] = (byte) (v >>> (8 * i));
            }
        } else {
            for (int i = 0; i < n; i++) {
                out[at++] = (byte) (v >>> (8 * i));
            }
        }
        return at;
    }
}
