package io.stubdm.devices.vga;

import java.nio.ByteBuffer;
import java.nio.charset.Charset;

/**
 * What the monitor would show: the picture a {@link Vga} (and, when it is on, its {@link BochsDispi} linear mode)
 * scans out of video RAM, as 0xRRGGBB pixels. Text modes are drawn with the font the VGA BIOS loaded into plane
 * 2, so the screen shows exactly the glyphs the guest chose; graphics modes cover 16-colour planar (mode 12h,
 * FreeBSD's vt_vga), 256-colour chain-4 (mode 13h) and VBE's 8/15/16/24/32-bit linear modes.
 */
public final class VgaRenderer {
    /** Bytes of plane 2 per glyph: 32 scan lines, whatever the cell height. */
    private static final int GLYPH_STRIDE = 32;
    private static final Charset CP437 = codePage437();

    private final Vga vga;
    private final BochsDispi dispi;

    /** {@code dispi} is null for an adapter without the Bochs extension. */
    public VgaRenderer(Vga vga, BochsDispi dispi) {
        this.vga = vga;
        this.dispi = dispi;
    }

    /** One picture: width × height pixels of 0xRRGGBB, row after row. */
    public record Frame(int width, int height, int[] pixels) {
        public int pixel(int x, int y) {
            return pixels[y * width + x];
        }
    }

    /** The current picture; a blanked or unprogrammed adapter gives a black 640×480 one. */
    public Frame render() {
        if (dispi != null && dispi.enabled()) {
            return renderVbe();
        }
        if (!vga.displayEnabled()) {
            return blank(640, 480);
        }
        if (!vga.graphicsMode()) {
            Frame f = renderText();
            return f != null ? f : blank(640, 480);
        }
        Frame f = renderGraphics();
        return f != null ? f : blank(640, 480);
    }

    private static Frame blank(int width, int height) {
        return new Frame(width, height, new int[width * height]);
    }

    // ---------------------------------------------------------------- text

    /** The geometry of the current text mode, or null in graphics mode or with nonsense in the CRTC. */
    record TextGeometry(int columns, int rows, int cellWidth, int cellHeight) {}

    TextGeometry textGeometry() {
        if (vga.graphicsMode()) {
            return null;
        }
        int cellWidth = (vga.seq[Vga.SEQ_CLOCKING_MODE] & Vga.CLOCKING_8_DOT) != 0 ? 8 : 9;
        int cellHeight = (vga.crtc[Vga.CRTC_MAX_SCAN_LINE] & 0x1f) + 1;
        int columns = vga.crtc[Vga.CRTC_HORIZONTAL_DISPLAY_END] + 1;
        int rows = vga.verticalDisplayLines() / cellHeight;
        if (columns < 1 || rows < 1 || columns > 256 || rows > 128) {
            return null;
        }
        return new TextGeometry(columns, rows, cellWidth, cellHeight);
    }

    private Frame renderText() {
        TextGeometry g = textGeometry();
        if (g == null) {
            return null;
        }
        boolean halfClock = (vga.seq[Vga.SEQ_CLOCKING_MODE] & Vga.CLOCKING_HALF_DOT_CLOCK) != 0;
        int scale = halfClock ? 2 : 1;
        int width = g.columns() * g.cellWidth() * scale;
        int height = g.rows() * g.cellHeight();
        int[] out = new int[width * height];
        ByteBuffer m = vga.videoMemory().buffer();
        int[] palette = vga.palette16();
        int fontSelect = vga.seq[Vga.SEQ_CHARACTER_MAP_SELECT];
        // Character Map Select: map B (bits 4, 1:0) for attribute bit 3 clear, map A (bits 5, 3:2) for it set;
        // each map is 8 KiB of plane 2 (16 KiB steps in the first half of the 64 KiB plane).
        int[] fontBase = {
            ((((fontSelect >> 4) & 1) | ((fontSelect << 1) & 6)) * 8192) * 4 + 2,
            ((((fontSelect >> 5) & 1) | ((fontSelect >> 1) & 6)) * 8192) * 4 + 2,
        };
        boolean lineGraphics = (vga.attr[Vga.AR_MODE_CONTROL] & Vga.AR_MODE_LINE_GRAPHICS) != 0;
        boolean blink = (vga.attr[Vga.AR_MODE_CONTROL] & Vga.AR_MODE_BLINK) != 0;
        int start = vga.startAddress();
        int lineOffset = vga.lineOffset();
        int cursor = ((vga.crtc[Vga.CRTC_CURSOR_LOCATION_HIGH] << 8) | vga.crtc[Vga.CRTC_CURSOR_LOCATION_LOW]) - start;
        boolean cursorOn = (vga.crtc[Vga.CRTC_CURSOR_START] & Vga.CURSOR_START_DISABLE) == 0;
        int cursorFirst = vga.crtc[Vga.CRTC_CURSOR_START] & 0x1f;
        int cursorLast = vga.crtc[Vga.CRTC_CURSOR_END] & 0x1f;
        for (int row = 0; row < g.rows(); row++) {
            for (int col = 0; col < g.columns(); col++) {
                int at = start * 4 + row * lineOffset + col * 4;
                if (at + 1 >= m.capacity()) {
                    continue;
                }
                int ch = m.get(at) & 0xff;
                int attribute = m.get(at + 1) & 0xff;
                int fg = palette[attribute & 0x0f];
                int bg = palette[(attribute >> 4) & (blink ? 0x07 : 0x0f)];
                int glyph = fontBase[(attribute >> 3) & 1] + ch * GLYPH_STRIDE * 4;
                boolean isCursor = cursorOn && row * g.columns() + col == cursor;
                for (int line = 0; line < g.cellHeight(); line++) {
                    int bits = glyph + line * 4 < m.capacity() ? m.get(glyph + line * 4) & 0xff : 0;
                    if (isCursor && line >= cursorFirst && line <= cursorLast) {
                        bits = 0xff;
                    }
                    int y = row * g.cellHeight() + line;
                    for (int dot = 0; dot < g.cellWidth(); dot++) {
                        boolean on;
                        if (dot < 8) {
                            on = (bits & (0x80 >> dot)) != 0;
                        } else {
                            // The ninth dot repeats the eighth only for the line-drawing characters C0h-DFh.
                            on = lineGraphics && ch >= 0xc0 && ch <= 0xdf && (bits & 1) != 0;
                        }
                        int color = on ? fg : bg;
                        int x = (col * g.cellWidth() + dot) * scale;
                        for (int s = 0; s < scale; s++) {
                            out[y * width + x + s] = color;
                        }
                    }
                }
            }
        }
        return new Frame(width, height, out);
    }

    /**
     * The text on the screen, one line per row with trailing blanks removed, characters decoded from code page
     * 437 (the VGA ROM font's); null in a graphics mode. What the boot tests and the lab read.
     */
    public String text() {
        if (dispi != null && dispi.enabled()) {
            return null;
        }
        TextGeometry g = textGeometry();
        if (g == null) {
            return null;
        }
        ByteBuffer m = vga.videoMemory().buffer();
        int start = vga.startAddress();
        StringBuilder sb = new StringBuilder();
        byte[] rowBytes = new byte[g.columns()];
        for (int row = 0; row < g.rows(); row++) {
            for (int col = 0; col < g.columns(); col++) {
                int at = start * 4 + row * vga.lineOffset() + col * 4;
                int ch = at < m.capacity() ? m.get(at) & 0xff : ' ';
                rowBytes[col] = (byte) (ch == 0 ? ' ' : ch);
            }
            sb.append(new String(rowBytes, CP437).stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    private static Charset codePage437() {
        try {
            return Charset.forName("IBM437");
        } catch (IllegalArgumentException e) {
            return java.nio.charset.StandardCharsets.ISO_8859_1; // a JRE trimmed of its extended charsets
        }
    }

    // ---------------------------------------------------------------- legacy graphics

    private Frame renderGraphics() {
        int shift = (vga.gc[Vga.GC_MODE] >> Vga.MODE_SHIFT_SHIFT) & 3;
        boolean halfClock = (vga.seq[Vga.SEQ_CLOCKING_MODE] & Vga.CLOCKING_HALF_DOT_CLOCK) != 0;
        int dots = (vga.crtc[Vga.CRTC_HORIZONTAL_DISPLAY_END] + 1) * 8;
        int lines = vga.verticalDisplayLines();
        int maxScan = vga.crtc[Vga.CRTC_MAX_SCAN_LINE];
        // Each memory line is shown (max scan line + 1) times, twice that with double scanning (bit 7).
        int repeat = ((maxScan & 0x1f) + 1) << ((maxScan >> 7) & 1);
        if (dots < 8 || dots > 4096 || lines < 1 || lines > 4096) {
            return null;
        }
        int[] out = new int[dots * lines];
        ByteBuffer m = vga.videoMemory().buffer();
        int start = vga.startAddress() * 4;
        int lineOffset = vga.lineOffset();
        if (shift >= 2) {
            // 256 colours, one byte per pixel in chain-4 order; each pixel two dots wide at half dot clock.
            int pixelWidth = halfClock ? 2 : 1;
            for (int y = 0; y < lines; y++) {
                int base = start + (y / repeat) * lineOffset;
                for (int x = 0; x < dots; x++) {
                    int at = base + x / pixelWidth;
                    out[y * dots + x] = at < m.capacity() ? vga.dacColor(m.get(at) & vga.pelMask) : 0;
                }
            }
            return new Frame(dots, lines, out);
        }
        int[] palette = vga.palette16();
        int planeEnable = vga.attr[Vga.AR_COLOR_PLANE_ENABLE] & 0x0f;
        int pixelWidth = halfClock ? 2 : 1;
        for (int y = 0; y < lines; y++) {
            int base = start + (y / repeat) * lineOffset;
            for (int x = 0; x < dots; x++) {
                int px = x / pixelWidth;
                int at = base + (px >> 3) * 4;
                if (at + 3 >= m.capacity()) {
                    continue;
                }
                int bit = 0x80 >> (px & 7);
                int color = 0;
                for (int p = 0; p < 4; p++) {
                    if ((m.get(at + p) & bit) != 0) {
                        color |= 1 << p;
                    }
                }
                out[y * dots + x] = palette[color & planeEnable];
            }
        }
        return new Frame(dots, lines, out);
    }

    // ---------------------------------------------------------------- VBE linear modes

    private Frame renderVbe() {
        int width = dispi.regs[BochsDispi.INDEX_XRES];
        int height = dispi.regs[BochsDispi.INDEX_YRES];
        int bpp = dispi.regs[BochsDispi.INDEX_BPP];
        if (width < 1 || height < 1 || bpp == 4) {
            return blank(Math.max(1, width), Math.max(1, height));
        }
        int[] out = new int[width * height];
        ByteBuffer m = vga.videoMemory().buffer();
        int stride = dispi.lineBytes();
        int bytes = dispi.bytesPerPixel();
        int start = dispi.startOffset();
        for (int y = 0; y < height; y++) {
            int row = start + y * stride;
            for (int x = 0; x < width; x++) {
                int at = row + x * bytes;
                if (at + bytes > m.capacity()) {
                    break;
                }
                out[y * width + x] = linearPixel(vga, m, at, bpp, 0xff);
            }
        }
        return new Frame(width, height, out);
    }

    /**
     * The colour of the pixel at {@code at} of a linear (packed-pixel) mode: 8 bpp through the DAC (after the PEL
     * mask), 15 and 16 bpp as 5-5-5 and 5-6-5, 24 and 32 bpp as little-endian BGR(X).
     */
    static int linearPixel(Vga vga, ByteBuffer m, int at, int bpp, int pelMask) {
        switch (bpp) {
            case 8:
                return vga.dacColor(m.get(at) & pelMask);
            case 15: {
                int v = m.getShort(at) & 0xffff;
                return five(v >> 10) << 16 | five(v >> 5) << 8 | five(v);
            }
            case 16: {
                int v = m.getShort(at) & 0xffff;
                return five(v >> 11) << 16 | six(v >> 5) << 8 | five(v);
            }
            case 24:
                return (m.get(at + 2) & 0xff) << 16 | (m.get(at + 1) & 0xff) << 8 | (m.get(at) & 0xff);
            default:
                return m.getInt(at) & 0xffffff;
        }
    }

    private static int five(int v) {
        int c = v & 0x1f;
        return (c << 3) | (c >> 2);
    }

    private static int six(int v) {
        int c = v & 0x3f;
        return (c << 2) | (c >> 4);
    }
}
