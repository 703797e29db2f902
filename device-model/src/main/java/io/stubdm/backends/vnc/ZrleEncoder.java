package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.zip.Deflater;

/**
 * ZRLE (RFC 6143 §7.7.6) for one client. The zlib stream spans the whole connection (the client keeps one
 * inflater), so there is one encoder per client and each rectangle ends with a sync flush. Each 64×64 tile gets
 * whichever subencoding is smallest: solid (1), packed palette (2..16), plain RLE (128), palette RLE (130..255)
 * or raw CPIXELs (0).
 */
final class ZrleEncoder implements AutoCloseable {
    static final int TILE = 64;
    /**
     * zlib level 1: the tile subencodings already remove most of the redundancy of a guest console, and level
     * 1 keeps a full 1024×768 update within one 40 ms refresh tick where level 6 would not.
     */
    private static final int ZLIB_LEVEL = 1;

    private static final int SOLID = 1;
    private static final int PLAIN_RLE = 128;
    private static final int RAW = 0;
    private static final int MAX_PALETTE = 127;

    private final Deflater deflater = new Deflater(ZLIB_LEVEL);
    private final byte[] chunk = new byte[16 * 1024];
    private final int[] tile = new int[TILE * TILE];
    /** One encoded tile; no subencoding chosen is ever larger than raw. */
    private final byte[] tileBytes = new byte[1 + TILE * TILE * 4];
    private final Palette palette = new Palette();
    private boolean closed;

    /** Appends the ZRLE data of rectangle {@code r} of {@code rgb} (row length {@code stride}): u32 length + zlib. */
    synchronized void encode(int[] rgb, int stride, Rect r, PixelEncoder pixels, ByteBuf out) {
        if (closed) {
            throw new IllegalStateException("ZRLE encoder closed");
        }
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        for (int ty = r.y(); ty < r.bottom(); ty += TILE) {
            int th = Math.min(TILE, r.bottom() - ty);
            for (int tx = r.x(); tx < r.right(); tx += TILE) {
                int tw = Math.min(TILE, r.right() - tx);
                int i = 0;
                for (int y = ty; y < ty + th; y++) {
                    int row = y * stride;
                    for (int x = tx; x < tx + tw; x++) {
                        tile[i++] = pixels.pixel(rgb[row + x]);
                    }
                }
                deflate(tileBytes, encodeTile(tw, th, pixels), out);
            }
        }
        syncFlush(out);
        out.setInt(lengthAt, out.writerIndex() - lengthAt - 4);
    }

    private void deflate(byte[] data, int length, ByteBuf out) {
        deflater.setInput(data, 0, length);
        while (!deflater.needsInput()) {
            int n = deflater.deflate(chunk, 0, chunk.length, Deflater.NO_FLUSH);
            out.writeBytes(chunk, 0, n);
        }
    }

    private void syncFlush(ByteBuf out) {
        int n;
        do {
            n = deflater.deflate(chunk, 0, chunk.length, Deflater.SYNC_FLUSH);
            out.writeBytes(chunk, 0, n);
        } while (n == chunk.length);
    }

    /** Encodes tile[0 .. w*h) into tileBytes; returns the byte count. */
    private int encodeTile(int w, int h, PixelEncoder pixels) {
        int n = w * h;
        int cp = pixels.cpixelBytes();
        palette.reset();
        boolean paletteFull = false;
        long plainRle = 0;
        long paletteRleRuns = 0;
        for (int i = 0; i < n; ) {
            int c = tile[i];
            int j = runEnd(i, n);
            int len = j - i;
            int lengthBytes = (len - 1) / 255 + 1;
            plainRle += cp + lengthBytes;
            paletteRleRuns += len == 1 ? 1 : 1 + lengthBytes;
            if (!paletteFull && palette.add(c) < 0) {
                paletteFull = true;
            }
            i = j;
        }
        int colours = paletteFull ? MAX_PALETTE + 1 : palette.size();
        if (colours == 1) {
            tileBytes[0] = SOLID;
            return pixels.writeCpixel(tileBytes, 1, tile[0]);
        }
        int best = RAW;
        long cost = (long) n * cp;
        if (plainRle < cost) {
            best = PLAIN_RLE;
            cost = plainRle;
        }
        if (colours <= MAX_PALETTE && colours * cp + paletteRleRuns < cost) {
            best = PLAIN_RLE + colours;
            cost = colours * cp + paletteRleRuns;
        }
        if (colours <= 16 && colours * cp + (long) h * ((w * bitsPerIndex(colours) + 7) / 8) <= cost) {
            best = colours;
        }
        tileBytes[0] = (byte) best;
        if (best == RAW) {
            int at = 1;
            for (int i = 0; i < n; i++) {
                at = pixels.writeCpixel(tileBytes, at, tile[i]);
            }
            return at;
        }
        if (best == PLAIN_RLE) {
            return writeRuns(1, n, pixels, false);
        }
        int at = 1;
        for (int i = 0; i < colours; i++) {
            at = pixels.writeCpixel(tileBytes, at, palette.colour(i));
        }
        return best > PLAIN_RLE ? writeRuns(at, n, pixels, true) : writePacked(at, w, h, bitsPerIndex(colours));
    }

    private static int bitsPerIndex(int colours) {
        return colours == 2 ? 1 : colours <= 4 ? 2 : 4;
    }

    /** The end (exclusive) of the run of tile[i]'s colour that starts at i; runs may wrap rows. */
    private int runEnd(int i, int n) {
        int c = tile[i];
        int j = i + 1;
        while (j < n && tile[j] == c) {
            j++;
        }
        return j;
    }

    /** Packed palette indices, MSB first, each row padded to a whole byte. */
    private int writePacked(int at, int w, int h, int bits) {
        for (int y = 0; y < h; y++) {
            int acc = 0;
            int filled = 0;
            for (int x = 0; x < w; x++) {
                acc = (acc << bits) | palette.indexOf(tile[y * w + x]);
                filled += bits;
                if (filled == 8) {
                    tileBytes[at++] = (byte) acc;
                    acc = 0;
                    filled = 0;
                }
            }
            if (filled > 0) {
                tileBytes[at++] = (byte) (acc << (8 - filled));
            }
        }
        return at;
    }

    /** Runs (which may wrap from one row to the next), as CPIXEL or palette index, then length-1 in 255s. */
    private int writeRuns(int at, int n, PixelEncoder pixels, boolean indexed) {
        for (int i = 0; i < n; ) {
            int c = tile[i];
            int j = runEnd(i, n);
            int len = j - i;
            if (indexed) {
                int index = palette.indexOf(c);
                if (len == 1) {
                    tileBytes[at++] = (byte) index;
                    i = j;
                    continue;
                }
                tileBytes[at++] = (byte) (index | 0x80);
            } else {
                at = pixels.writeCpixel(tileBytes, at, c);
            }
            int rest = len - 1;
            while (rest >= 255) {
                tileBytes[at++] = (byte) 255;
                rest -= 255;
            }
            tileBytes[at++] = (byte) rest;
            i = j;
        }
        return at;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            deflater.end();
        }
    }

    /** The distinct colours of a tile, up to 127, with their index (order of first appearance). */
    private static final class Palette {
        private static final int SLOTS = 256; // a power of two above twice the capacity
        private final int[] keys = new int[SLOTS];
        private final int[] values = new int[SLOTS];
        private final int[] stamps = new int[SLOTS];
        private final int[] colours = new int[MAX_PALETTE];
        private int generation;
        private int size;

        void reset() {
            size = 0;
            if (++generation == 0) {
                Arrays.fill(stamps, 0);
                generation = 1;
            }
        }

        int size() {
            return size;
        }

        int colour(int index) {
            return colours[index];
        }

        /** The colour's index, adding it when new; -1 when it is new and the palette is full. */
        int add(int colour) {
            int slot = slot(colour);
            if (stamps[slot] == generation) {
                return values[slot];
            }
            if (size == MAX_PALETTE) {
                return -1;
            }
            stamps[slot] = generation;
            keys[slot] = colour;
            values[slot] = size;
            colours[size] = colour;
            return size++;
        }

        /** The index of a colour already added. */
        int indexOf(int colour) {
            return values[slot(colour)];
        }

        private int slot(int colour) {
            int s = (colour * 0x9E3779B9) >>> 24;
            while (stamps[s] == generation && keys[s] != colour) {
                s = (s + 1) & (SLOTS - 1);
            }
            return s;
        }
    }
}
