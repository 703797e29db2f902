package io.stubdm.devices.vga;

import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

/**
 * The CL-GD5446 BitBLT engine: rectangles of video RAM combined with a source under one of 16 raster operations.
 * The source is video RAM (screen-to-screen copies, forward or backward), an 8×8 pattern, a monochrome bitmap
 * expanded to the foreground and background colours (optionally transparent), a solid colour, or data the CPU
 * writes into the window (system-to-screen). Parameters are GR00/GR01, GR10-GR15 and GR20-GR39, also reachable
 * as a 256-byte register block ({@link #readRegister}); GR31 starts and resets it.
 *
 * <p>Blits run to completion when started, except system-to-screen ones, which run a line at a time as the CPU
 * delivers it. Every blit is checked against video RAM before it touches anything: one that would read or write
 * outside is refused whole (QEMU's CVE-2014-8106, CVE-2017-2615 and CVE-2017-2620 came from blits that were not),
 * and logged once per reason.
 */
final class CirrusBlitter {
    private static final System.Logger LOG = System.getLogger(CirrusBlitter.class.getName());

    static final int GR_BACKGROUND_BYTE_2 = 0x12;
    static final int GR_FOREGROUND_BYTE_2 = 0x13;
    static final int GR_BACKGROUND_BYTE_3 = 0x14;
    static final int GR_FOREGROUND_BYTE_3 = 0x15;
    static final int GR_BLT_WIDTH_LOW = 0x20;
    static final int GR_BLT_WIDTH_HIGH = 0x21;
    static final int GR_BLT_HEIGHT_LOW = 0x22;
    static final int GR_BLT_HEIGHT_HIGH = 0x23;
    static final int GR_BLT_DEST_PITCH_LOW = 0x24;
    static final int GR_BLT_DEST_PITCH_HIGH = 0x25;
    static final int GR_BLT_SOURCE_PITCH_LOW = 0x26;
    static final int GR_BLT_SOURCE_PITCH_HIGH = 0x27;
    static final int GR_BLT_DEST_START_LOW = 0x28;
    static final int GR_BLT_DEST_START_MID = 0x29;
    static final int GR_BLT_DEST_START_HIGH = 0x2a;
    static final int GR_BLT_SOURCE_START_LOW = 0x2c;
    static final int GR_BLT_SOURCE_START_MID = 0x2d;
    static final int GR_BLT_SOURCE_START_HIGH = 0x2e;
    /** GR2F bits 2:0 (bits 4:0 at 24 bpp): destination left-side clipping for pattern and expansion blits. */
    static final int GR_BLT_DEST_LEFT_CLIP = 0x2f;
    static final int GR_BLT_MODE = 0x30;
    static final int GR_BLT_START_STATUS = 0x31;
    static final int GR_BLT_ROP = 0x32;
    static final int GR_BLT_MODE_EXTENSIONS = 0x33;
    static final int GR_TRANSPARENT_COLOR_LOW = 0x34;
    static final int GR_TRANSPARENT_COLOR_HIGH = 0x35;
    static final int GR_TRANSPARENT_MASK_LOW = 0x38;
    static final int GR_TRANSPARENT_MASK_HIGH = 0x39;

    // GR30, BLT Mode
    static final int MODE_BACKWARDS = 0x01;
    static final int MODE_DEST_SYSTEM = 0x02;
    static final int MODE_SOURCE_SYSTEM = 0x04;
    static final int MODE_TRANSPARENT = 0x08;
    static final int MODE_PIXEL_WIDTH_SHIFT = 4;
    static final int MODE_PATTERN = 0x40;
    static final int MODE_COLOR_EXPAND = 0x80;

    // GR31, BLT Start/Status
    static final int STATUS_BUSY = 0x01;
    static final int STATUS_START = 0x02;
    static final int STATUS_RESET = 0x04;
    static final int STATUS_FIFO_USED = 0x10;
    static final int STATUS_AUTOSTART = 0x80;

    // GR33, BLT Mode Extensions
    static final int EXT_DWORD_GRANULARITY = 0x01;
    static final int EXT_INVERT_EXPANSION = 0x02;
    static final int EXT_SOLID_FILL = 0x04;

    /**
     * GR32 raster operations. The codes follow a pattern: the high nibble says what the blit writes where the
     * source bit is 0, the low one where it is 1 (0 nothing, D the source term, 5 term and D, 9 term and not D,
     * 6 D, A not D). That makes 0x90 NOR and 0xDA NAND, as the X.org cirrus driver (GXnor, GXnand) and 86Box have
     * them; QEMU's cirrus-vga swaps the two.
     */
    static final int ROP_BLACK = 0x00;
    static final int ROP_SRC_AND_DST = 0x05;
    static final int ROP_DST = 0x06;
    static final int ROP_SRC_AND_NOT_DST = 0x09;
    static final int ROP_NOT_DST = 0x0b;
    static final int ROP_SRC = 0x0d;
    static final int ROP_WHITE = 0x0e;
    static final int ROP_NOT_SRC_AND_DST = 0x50;
    static final int ROP_SRC_XOR_DST = 0x59;
    static final int ROP_SRC_OR_DST = 0x6d;
    static final int ROP_NOR = 0x90;
    static final int ROP_SRC_XNOR_DST = 0x95;
    static final int ROP_SRC_OR_NOT_DST = 0xad;
    static final int ROP_NOT_SRC = 0xd0;
    static final int ROP_NOT_SRC_OR_DST = 0xd6;
    static final int ROP_NAND = 0xda;

    /** Widths, pitches and lines are 13-bit, so a line of source data is at most 8 KiB. */
    private static final int MAX_LINE = 8192;
    private static final int MAX_PATTERN = 256;

    /** Offsets in the memory-mapped register block (at 0xB8000, BAR1 + 0x100, or the LFB's end) to GR indices. */
    private static final int[] REGISTER_TO_GR = new int[0x100];

    static {
        java.util.Arrays.fill(REGISTER_TO_GR, -1);
        int[][] map = {
            {0x00, Vga.GC_SET_RESET}, {0x01, CirrusRegisters.GR_BACKGROUND_BYTE_1}, {0x02, GR_BACKGROUND_BYTE_2},
            {0x03, GR_BACKGROUND_BYTE_3}, {0x04, Vga.GC_ENABLE_SET_RESET}, {0x05, CirrusRegisters.GR_FOREGROUND_BYTE_1},
            {0x06, GR_FOREGROUND_BYTE_2}, {0x07, GR_FOREGROUND_BYTE_3},
            {0x08, GR_BLT_WIDTH_LOW}, {0x09, GR_BLT_WIDTH_HIGH}, {0x0a, GR_BLT_HEIGHT_LOW}, {0x0b, GR_BLT_HEIGHT_HIGH},
            {0x0c, GR_BLT_DEST_PITCH_LOW}, {0x0d, GR_BLT_DEST_PITCH_HIGH},
            {0x0e, GR_BLT_SOURCE_PITCH_LOW}, {0x0f, GR_BLT_SOURCE_PITCH_HIGH},
            {0x10, GR_BLT_DEST_START_LOW}, {0x11, GR_BLT_DEST_START_MID}, {0x12, GR_BLT_DEST_START_HIGH},
            {0x14, GR_BLT_SOURCE_START_LOW}, {0x15, GR_BLT_SOURCE_START_MID}, {0x16, GR_BLT_SOURCE_START_HIGH},
            {0x17, GR_BLT_DEST_LEFT_CLIP}, {0x18, GR_BLT_MODE}, {0x1a, GR_BLT_ROP}, {0x1b, GR_BLT_MODE_EXTENSIONS},
            {0x1c, GR_TRANSPARENT_COLOR_LOW}, {0x1d, GR_TRANSPARENT_COLOR_HIGH},
            {0x20, GR_TRANSPARENT_MASK_LOW}, {0x21, GR_TRANSPARENT_MASK_HIGH}, {0x40, GR_BLT_START_STATUS},
        };
        for (int[] e : map) {
            REGISTER_TO_GR[e[0]] = e[1];
        }
    }

    private enum Kind { SOLID_FILL, PATTERN, COLOR_EXPAND, COPY }

    /** One blit's parameters, latched at start: register writes during a system-to-screen blit change nothing. */
    private record Blit(Kind kind, int widthBytes, int height, int dstPitch, int srcPitch, int dst, int src, int mode,
                        int modeExt, int rop, int pixelBytes, int foreground, int background, int skipPixels,
                        int transparentKey, int transparentMask) {
        boolean transparent() {
            return (mode & MODE_TRANSPARENT) != 0;
        }

        boolean backwards() {
            return (mode & MODE_BACKWARDS) != 0;
        }

        int pixels() {
            return widthBytes / pixelBytes;
        }

        /** Bytes per line of an 8×8 pattern: 8 pixels, rounded to 32 bytes at 24 bpp. */
        int patternPitch() {
            return (mode & MODE_COLOR_EXPAND) != 0 ? 1 : pixelBytes == 3 ? 32 : 8 * pixelBytes;
        }
    }

    private final CirrusRegisters regs;
    private final Set<String> reported = new HashSet<>();
    /** A system-to-screen blit waiting for data, with the line being collected. */
    private Blit pending;
    private final byte[] line = new byte[MAX_LINE];
    private int lineBytes;
    private int lineFill;
    private int linesDone;
    private int refused;

    CirrusBlitter(CirrusRegisters regs) {
        this.regs = regs;
    }

    void reset() {
        pending = null;
        lineFill = 0;
        linesDone = 0;
    }

    /** Blits refused so far (out of video RAM or not emulated); for tests. */
    int refused() {
        return refused;
    }

    // ---------------------------------------------------------------- registers

    int readRegister(int offset) {
        int gr = REGISTER_TO_GR[offset & 0xff];
        return gr < 0 ? 0xff : regs.readGraphics(gr);
    }

    void writeRegister(int offset, int v) {
        int gr = REGISTER_TO_GR[offset & 0xff];
        if (gr >= 0) {
            regs.writeGraphics(gr, v);
        }
    }

    /** GR31: reset aborts, a 0-to-1 START starts; BUSY reads 1 while a blit waits for system data. */
    void writeStartStatus(int v) {
        int old = regs.gr[GR_BLT_START_STATUS];
        regs.gr[GR_BLT_START_STATUS] = (v & ~STATUS_BUSY) | (pending != null ? STATUS_BUSY : 0);
        if ((v & STATUS_RESET) != 0) {
            finish();
        } else if ((old & STATUS_START) == 0 && (v & STATUS_START) != 0) {
            start();
        }
    }

    /** GR2A written: with GR31 bit 7 (autostart) that starts the blit, saving drivers a register write per blit. */
    void destinationWritten() {
        if ((regs.gr[GR_BLT_START_STATUS] & STATUS_AUTOSTART) != 0) {
            start();
        }
    }

    boolean awaitsSource() {
        return pending != null;
    }

    private void finish() {
        pending = null;
        lineFill = 0;
        regs.gr[GR_BLT_START_STATUS] &= ~(STATUS_START | STATUS_BUSY | STATUS_FIFO_USED);
    }

    private void refuse(String reason) {
        refused++;
        if (reported.add(reason)) {
            LOG.log(Level.WARNING, "cirrus-vga: blit refused: " + reason + " (reported once)");
        }
        finish();
    }

    // ---------------------------------------------------------------- starting a blit

    private void start() {
        int[] gr = regs.gr;
        regs.gr[GR_BLT_START_STATUS] |= STATUS_BUSY;
        pending = null;
        int mode = gr[GR_BLT_MODE];
        int modeExt = gr[GR_BLT_MODE_EXTENSIONS];
        int pixelBytes = ((mode >> MODE_PIXEL_WIDTH_SHIFT) & 3) + 1;
        Kind kind;
        boolean solid = (modeExt & EXT_SOLID_FILL) != 0 && (mode & (MODE_DEST_SYSTEM | MODE_TRANSPARENT | MODE_PATTERN
                | MODE_COLOR_EXPAND)) == (MODE_PATTERN | MODE_COLOR_EXPAND);
        if (solid) {
            kind = Kind.SOLID_FILL;
        } else if ((mode & MODE_PATTERN) != 0) {
            kind = Kind.PATTERN;
        } else if ((mode & MODE_COLOR_EXPAND) != 0) {
            kind = Kind.COLOR_EXPAND;
        } else {
            kind = Kind.COPY;
        }
        int clip = gr[GR_BLT_DEST_LEFT_CLIP];
        Blit b = new Blit(kind,
                (gr[GR_BLT_WIDTH_LOW] | gr[GR_BLT_WIDTH_HIGH] << 8) + 1,
                (gr[GR_BLT_HEIGHT_LOW] | gr[GR_BLT_HEIGHT_HIGH] << 8) + 1,
                gr[GR_BLT_DEST_PITCH_LOW] | gr[GR_BLT_DEST_PITCH_HIGH] << 8,
                gr[GR_BLT_SOURCE_PITCH_LOW] | gr[GR_BLT_SOURCE_PITCH_HIGH] << 8,
                (gr[GR_BLT_DEST_START_LOW] | gr[GR_BLT_DEST_START_MID] << 8 | gr[GR_BLT_DEST_START_HIGH] << 16)
                        & regs.addressMask,
                (gr[GR_BLT_SOURCE_START_LOW] | gr[GR_BLT_SOURCE_START_MID] << 8 | gr[GR_BLT_SOURCE_START_HIGH] << 16)
                        & regs.addressMask,
                mode, modeExt, gr[GR_BLT_ROP], pixelBytes,
                color(regs.foregroundByte0, CirrusRegisters.GR_FOREGROUND_BYTE_1, GR_FOREGROUND_BYTE_2,
                        GR_FOREGROUND_BYTE_3),
                color(regs.backgroundByte0, CirrusRegisters.GR_BACKGROUND_BYTE_1, GR_BACKGROUND_BYTE_2,
                        GR_BACKGROUND_BYTE_3),
                pixelBytes == 3 ? (clip & 0x1f) / 3 : clip & 0x07,
                gr[GR_TRANSPARENT_COLOR_LOW] | gr[GR_TRANSPARENT_COLOR_HIGH] << 8,
                gr[GR_TRANSPARENT_MASK_LOW] | gr[GR_TRANSPARENT_MASK_HIGH] << 8);

        if ((mode & MODE_DEST_SYSTEM) != 0) {
            // Screen-to-system reads (and system-to-system) are not emulated, as on QEMU; no driver we run uses them.
            refuse("video-to-system blits are not emulated");
            return;
        }
        if (kind == Kind.COPY && b.transparent() && pixelBytes > 2) {
            refuse("transparent copies exist at 8 and 16 bpp only");
            return;
        }
        boolean backwards = kind == Kind.COPY && b.backwards() && (mode & MODE_SOURCE_SYSTEM) == 0;
        if (!rectangleInside(b.dst(), b.dstPitch(), b.widthBytes(), b.height(), backwards)) {
            refuse("destination outside video RAM");
            return;
        }
        if ((mode & MODE_SOURCE_SYSTEM) != 0) {
            if (kind == Kind.SOLID_FILL) {
                runVideoSourced(b); // the colour is the source; nothing to wait for
                return;
            }
            lineBytes = systemLineBytes(b);
            lineFill = 0;
            linesDone = 0;
            pending = b;
            return;
        }
        if (!videoSourceInside(b)) {
            refuse("source outside video RAM");
            return;
        }
        runVideoSourced(b);
    }

    /** The foreground or background colour, bytes 0-3 from GR01/GR00 and three more registers, little-endian. */
    private int color(int byte0, int gr1, int gr2, int gr3) {
        return byte0 | regs.gr[gr1] << 8 | regs.gr[gr2] << 16 | regs.gr[gr3] << 24;
    }

    private boolean rectangleInside(int base, int pitch, int widthBytes, int height, boolean backwards) {
        long span = (long) (height - 1) * pitch;
        long low = backwards ? base - span - (widthBytes - 1) : base;
        long high = backwards ? base : base + span + widthBytes - 1;
        return low >= 0 && high < regs.addressable;
    }

    private boolean videoSourceInside(Blit b) {
        switch (b.kind()) {
            case PATTERN:
                // the pattern is aligned down to its size, which divides the video RAM size
                return true;
            case COLOR_EXPAND:
                return b.src() + (long) b.height() * expansionLineBytes(b, false) <= regs.addressable;
            case COPY:
                return rectangleInside(b.src(), b.srcPitch(), b.widthBytes(), b.height(), b.backwards());
            default:
                return true;
        }
    }

    /** Bytes per line of a monochrome source: one bit per pixel, each line from a new byte (dword for GR33 bit 0). */
    private static int expansionLineBytes(Blit b, boolean fromSystem) {
        int pixels = b.pixels();
        if (fromSystem && (b.modeExt() & EXT_DWORD_GRANULARITY) != 0) {
            return (pixels + 31) / 32 * 4;
        }
        return (pixels + 7) / 8;
    }

    /** What the CPU sends per line: a bitmap line, a whole pattern, or a line of pixels padded to a dword. */
    private static int systemLineBytes(Blit b) {
        switch (b.kind()) {
            case PATTERN:
                return 8 * b.patternPitch();
            case COLOR_EXPAND:
                return expansionLineBytes(b, true);
            default:
                return (b.widthBytes() + 3) & ~3;
        }
    }

    // ---------------------------------------------------------------- system-to-screen data

    /** One byte of system-to-screen data (a window or aperture write); each complete line is drawn at once. */
    void source(int v) {
        Blit b = pending;
        if (b == null) {
            return;
        }
        line[lineFill++] = (byte) v;
        if (lineFill < lineBytes) {
            return;
        }
        lineFill = 0;
        ByteBuffer m = regs.memory();
        switch (b.kind()) {
            case PATTERN:
                pattern(m, b, line);
                finish();
                return;
            case COLOR_EXPAND:
                expandLine(m, b, line, 0, b.dst() + linesDone * b.dstPitch());
                break;
            default:
                copyLine(m, b, line, 0, b.dst() + linesDone * b.dstPitch());
                break;
        }
        if (++linesDone == b.height()) {
            finish();
        }
    }

    // ---------------------------------------------------------------- the blits

    private void runVideoSourced(Blit b) {
        ByteBuffer m = regs.memory();
        switch (b.kind()) {
            case SOLID_FILL:
                solidFill(m, b);
                break;
            case PATTERN: {
                // Aligned down to its size (8, 64, 128 or 256 bytes); the low 3 bits are the starting line.
                int size = 8 * b.patternPitch();
                int base = b.src() & ~(size - 1);
                byte[] pattern = new byte[MAX_PATTERN];
                m.get(base, pattern, 0, size);
                pattern(m, b, pattern);
                break;
            }
            case COLOR_EXPAND: {
                int bytes = expansionLineBytes(b, false);
                byte[] bits = new byte[bytes];
                for (int y = 0; y < b.height(); y++) {
                    m.get(b.src() + y * bytes, bits, 0, bytes);
                    expandLine(m, b, bits, 0, b.dst() + y * b.dstPitch());
                }
                break;
            }
            default:
                copy(m, b);
                break;
        }
        finish();
    }

    /**
     * A screen-to-screen copy. Backward blits give the addresses of the last byte and walk up and to the left,
     * which is what makes an overlapping copy to a higher address come out right; each line is read whole before
     * it is written, so overlap within a line cannot smear either way.
     */
    private void copy(ByteBuffer m, Blit b) {
        int w = b.widthBytes();
        byte[] src = new byte[w];
        for (int y = 0; y < b.height(); y++) {
            int s = b.backwards() ? b.src() - y * b.srcPitch() - (w - 1) : b.src() + y * b.srcPitch();
            int d = b.backwards() ? b.dst() - y * b.dstPitch() - (w - 1) : b.dst() + y * b.dstPitch();
            m.get(s, src, 0, w);
            copyLine(m, b, src, 0, d);
        }
    }

    /** One line of source pixels onto video RAM at {@code d}, through the ROP and the transparency key. */
    private void copyLine(ByteBuffer m, Blit b, byte[] src, int offset, int d) {
        int w = b.widthBytes();
        if (b.rop() == ROP_SRC && !b.transparent()) {
            m.put(d, src, offset, w);
            return;
        }
        int bytes = b.pixelBytes();
        for (int x = 0; x + bytes <= w; x += bytes) {
            if (b.transparent() && keyed(b, src, offset + x)) {
                continue;
            }
            for (int i = 0; i < bytes; i++) {
                int at = d + x + i;
                m.put(at, (byte) rop(b.rop(), src[offset + x + i], m.get(at)));
            }
        }
        for (int x = w - w % bytes; x < w; x++) { // a width that is not whole pixels: the odd bytes as they come
            m.put(d + x, (byte) rop(b.rop(), src[offset + x], m.get(d + x)));
        }
    }

    /**
     * Whether a source pixel matches the transparent colour (GR34/GR35) outside the don't-care bits (GR38/GR39).
     * QEMU compares the ROP's result instead; for SRCCOPY, the ROP transparent copies use, the two agree.
     */
    private static boolean keyed(Blit b, byte[] src, int at) {
        int pixel = src[at] & 0xff;
        int valueMask = 0xff;
        if (b.pixelBytes() == 2) {
            pixel |= (src[at + 1] & 0xff) << 8;
            valueMask = 0xffff;
        }
        return ((pixel ^ b.transparentKey()) & ~b.transparentMask() & valueMask) == 0;
    }

    /** One line of a monochrome bitmap (MSB first) expanded to colours; clipped pixels consume their bits too. */
    private void expandLine(ByteBuffer m, Blit b, byte[] bits, int offset, int d) {
        for (int x = b.skipPixels(); x < b.pixels(); x++) {
            int bit = (bits[offset + (x >> 3)] >> (7 - (x & 7))) & 1;
            plotExpanded(m, b, d + x * b.pixelBytes(), bit);
        }
    }

    /**
     * An expanded pixel: foreground for 1, background for 0; transparent blits leave the 0s alone, or with GR33
     * bit 1 the 1s, drawing the 0s in the background colour.
     */
    private void plotExpanded(ByteBuffer m, Blit b, int at, int bit) {
        if (b.transparent()) {
            boolean inverted = (b.modeExt() & EXT_INVERT_EXPANSION) != 0;
            if ((bit == 1) == inverted) {
                return;
            }
            plot(m, b, at, inverted ? b.background() : b.foreground());
        } else {
            plot(m, b, at, bit == 1 ? b.foreground() : b.background());
        }
    }

    /**
     * An 8×8 pattern: line {@code (source address & 7) + y} of it for line y, column {@code x & 7} for pixel x.
     * Expanded patterns are 8 bytes of bits; colour ones 8 lines of 8 pixels.
     */
    private void pattern(ByteBuffer m, Blit b, byte[] pattern) {
        boolean expand = (b.mode() & MODE_COLOR_EXPAND) != 0;
        int bytes = b.pixelBytes();
        int pitch = b.patternPitch();
        for (int y = 0; y < b.height(); y++) {
            int row = ((b.src() & 7) + y) & 7;
            int d = b.dst() + y * b.dstPitch();
            for (int x = b.skipPixels(); x < b.pixels(); x++) {
                int column = x & 7;
                if (expand) {
                    plotExpanded(m, b, d + x * bytes, (pattern[row] >> (7 - column)) & 1);
                } else {
                    int at = row * pitch + column * bytes;
                    int color = 0;
                    for (int i = 0; i < bytes; i++) {
                        color |= (pattern[at + i] & 0xff) << (8 * i);
                    }
                    plot(m, b, d + x * bytes, color);
                }
            }
        }
    }

    private void solidFill(ByteBuffer m, Blit b) {
        for (int y = 0; y < b.height(); y++) {
            int d = b.dst() + y * b.dstPitch();
            for (int x = 0; x < b.pixels(); x++) {
                plot(m, b, d + x * b.pixelBytes(), b.foreground());
            }
        }
    }

    private static void plot(ByteBuffer m, Blit b, int at, int color) {
        for (int i = 0; i < b.pixelBytes(); i++) {
            m.put(at + i, (byte) rop(b.rop(), color >>> (8 * i), m.get(at + i)));
        }
    }

    /** A raster operation on one byte of source and destination; an undefined code leaves the destination. */
    static int rop(int code, int source, int destination) {
        int s = source & 0xff;
        int d = destination & 0xff;
        int r;
        switch (code) {
            case ROP_BLACK: r = 0; break;
            case ROP_SRC_AND_DST: r = s & d; break;
            case ROP_DST: r = d; break;
            case ROP_SRC_AND_NOT_DST: r = s & ~d; break;
            case ROP_NOT_DST: r = ~d; break;
            case ROP_SRC: r = s; break;
            case ROP_WHITE: r = 0xff; break;
            case ROP_NOT_SRC_AND_DST: r = ~s & d; break;
            case ROP_SRC_XOR_DST: r = s ^ d; break;
            case ROP_SRC_OR_DST: r = s | d; break;
            case ROP_NOR: r = ~(s | d); break;
            case ROP_SRC_XNOR_DST: r = ~(s ^ d); break;
            case ROP_SRC_OR_NOT_DST: r = s | ~d; break;
            case ROP_NOT_SRC: r = ~s; break;
            case ROP_NOT_SRC_OR_DST: r = ~s | d; break;
            case ROP_NAND: r = ~(s & d); break;
            default: r = d; break;
        }
        return r & 0xff;
    }
}
