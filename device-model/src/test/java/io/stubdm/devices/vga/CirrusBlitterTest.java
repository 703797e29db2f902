package io.stubdm.devices.vga;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.ioreq.BusDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The GD5446 BitBLT engine as Linux's cirrusfb, X's cirrus driver and Windows drive it: through GR20-GR33 and
 * GR31 at the ports, and through the memory-mapped register block (BAR1 + 0x100, 0xB8000). Video RAM is a heap
 * buffer of 8 MiB, of which the card decodes 4: the upper half is a canary no blit may touch.
 */
class CirrusBlitterTest {
    private static final int VRAM = 8 << 20;
    private static final int DECODED = 4 << 20;
    private static final byte CANARY = 0x5a;

    private final HeapVideoMemory vram = new HeapVideoMemory(VRAM);
    private final CirrusVga cirrus = new CirrusVga(vram, Optional.empty());
    private final BusDevice ports = cirrus.legacyRanges().get(0).device();
    private final BusDevice window = cirrus.legacyRanges().get(1).device();
    private final BusDevice mmio = cirrus.mmio();

    CirrusBlitterTest() {
        ByteBuffer m = memory();
        for (int i = DECODED; i < VRAM; i++) {
            m.put(i, CANARY);
        }
        sr(0x06, 0x12);
    }

    /** Video RAM as a plain heap buffer: nothing to place under a BAR in these tests. */
    static final class HeapVideoMemory implements VideoMemory {
        private final ByteBuffer buffer;

        HeapVideoMemory(int size) {
            buffer = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public int size() {
            return buffer.capacity();
        }

        @Override
        public ByteBuffer buffer() {
            return buffer;
        }

        @Override
        public byte[] writtenPages() {
            return null;
        }

        @Override
        public void placeAt(long address) {
        }

        @Override
        public void remove() {
        }
    }

    // ---------------------------------------------------------------- driving the card

    private ByteBuffer memory() {
        return cirrus.videoMemory();
    }

    private void out(int port, int v) {
        ports.write(port - Vga.PORT_BASE, 1, v);
    }

    private int in(int port) {
        return (int) ports.read(port - Vga.PORT_BASE, 1);
    }

    private void sr(int index, int v) {
        ports.write(0x3c4 - Vga.PORT_BASE, 2, index | v << 8);
    }

    private void gr(int index, int v) {
        ports.write(0x3ce - Vga.PORT_BASE, 2, index | v << 8);
    }

    private int gr(int index) {
        out(0x3ce, index);
        return in(0x3cf);
    }

    /** cirrusfb's cirrusfb_set_blitter order: geometry, addresses, mode, ROP, then START in GR31. */
    private void blit(int mode, int rop, int widthBytes, int height, int dst, int dstPitch, int src, int srcPitch) {
        gr(0x24, dstPitch & 0xff);
        gr(0x25, dstPitch >> 8);
        gr(0x26, srcPitch & 0xff);
        gr(0x27, srcPitch >> 8);
        gr(0x20, (widthBytes - 1) & 0xff);
        gr(0x21, (widthBytes - 1) >> 8);
        gr(0x22, (height - 1) & 0xff);
        gr(0x23, (height - 1) >> 8);
        gr(0x28, dst & 0xff);
        gr(0x29, (dst >> 8) & 0xff);
        gr(0x2a, dst >> 16);
        gr(0x2c, src & 0xff);
        gr(0x2d, (src >> 8) & 0xff);
        gr(0x2e, src >> 16);
        gr(0x30, mode);
        gr(0x32, rop);
        gr(0x31, 0x02);
    }

    private void colors(int foreground, int background) {
        gr(0x01, foreground & 0xff);
        gr(0x11, (foreground >> 8) & 0xff);
        gr(0x13, (foreground >> 16) & 0xff);
        gr(0x15, foreground >>> 24);
        gr(0x00, background & 0xff);
        gr(0x10, (background >> 8) & 0xff);
        gr(0x12, (background >> 16) & 0xff);
        gr(0x14, background >>> 24);
    }

    private int u8(int at) {
        return memory().get(at) & 0xff;
    }

    private int u16(int at) {
        return memory().getShort(at) & 0xffff;
    }

    private void assertCanaryIntact() {
        ByteBuffer m = memory();
        for (int i = DECODED; i < VRAM; i++) {
            if (m.get(i) != CANARY) {
                fail(String.format("video RAM past the decoded 4 MiB changed at 0x%x", i));
            }
        }
    }

    private byte[] snapshot() {
        byte[] copy = new byte[VRAM];
        memory().get(0, copy);
        return copy;
    }

    // ---------------------------------------------------------------- screen to screen

    @Test
    void forwardCopyMovesARectangleAndNothingElse() {
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 16; x++) {
                memory().put(0x1000 + y * 64 + x, (byte) (y * 16 + x + 1));
            }
        }
        blit(0x00, CirrusBlitter.ROP_SRC, 16, 4, 0x2000, 128, 0x1000, 64);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 16; x++) {
                assertEquals(y * 16 + x + 1, u8(0x2000 + y * 128 + x), "x " + x + " y " + y);
            }
            assertEquals(0, u8(0x2000 + y * 128 + 16), "the byte right of the rectangle");
        }
        assertEquals(0, u8(0x2000 + 4 * 128), "the line below");
        assertEquals(0, gr(0x31) & 0x03, "done: neither busy nor started");
    }

    /** Scrolling down: source and destination overlap, so the driver copies backward from the last byte. */
    @Test
    void backwardCopyHandlesAnOverlapDownward() {
        int pitch = 100;
        int w = 40;
        int h = 10;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                memory().put(y * pitch + x, (byte) (y * 7 + x));
            }
        }
        int srcLast = (h - 1) * pitch + w - 1;
        int dstLast = srcLast + 3 * pitch;
        blit(CirrusBlitter.MODE_BACKWARDS, CirrusBlitter.ROP_SRC, w, h, dstLast, pitch, srcLast, pitch);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                assertEquals((y * 7 + x) & 0xff, u8((y + 3) * pitch + x), "line " + y + " moved down by 3");
            }
        }
        // Within a line too: moving right by 5 bytes, backward, keeps every byte.
        int base = 0x10000;
        for (int x = 0; x < 64; x++) {
            memory().put(base + x, (byte) x);
        }
        blit(CirrusBlitter.MODE_BACKWARDS, CirrusBlitter.ROP_SRC, 50, 1, base + 5 + 49, 0, base + 49, 0);
        for (int x = 0; x < 50; x++) {
            assertEquals(x, u8(base + 5 + x));
        }
    }

    /** Source 0xCC and destination 0xAA give each operation's truth table in one byte. */
    @Test
    void everyRasterOperation() {
        int[][] expected = {
            {0x00, 0x00}, {0x05, 0x88}, {0x06, 0xaa}, {0x09, 0x44}, {0x0b, 0x55}, {0x0d, 0xcc}, {0x0e, 0xff},
            {0x50, 0x22}, {0x59, 0x66}, {0x6d, 0xee}, {0x90, 0x11}, {0x95, 0x99}, {0xad, 0xdd}, {0xd0, 0x33},
            {0xd6, 0xbb}, {0xda, 0x77}, {0x42, 0xaa},
        };
        for (int[] e : expected) {
            memory().put(0x100, (byte) 0xcc);
            memory().put(0x200, (byte) 0xaa);
            blit(0x00, e[0], 1, 1, 0x200, 0, 0x100, 0);
            assertEquals(e[1], u8(0x200), String.format("ROP 0x%02x", e[0]));
        }
        // The same through a solid fill: the colour is the source.
        memory().put(0x300, (byte) 0xaa);
        gr(0x33, CirrusBlitter.EXT_SOLID_FILL);
        colors(0xcc, 0);
        blit(CirrusBlitter.MODE_PATTERN | CirrusBlitter.MODE_COLOR_EXPAND, CirrusBlitter.ROP_NOR, 1, 1, 0x300, 0, 0, 0);
        assertEquals(0x11, u8(0x300));
    }

    @Test
    void transparentCopySkipsTheKeyColourAt16Bpp() {
        int[] source = {0x1234, 0xf800, 0x1234, 0x07e0};
        for (int i = 0; i < source.length; i++) {
            memory().putShort(0x400 + 2 * i, (short) source[i]);
            memory().putShort(0x800 + 2 * i, (short) 0xaaaa);
        }
        gr(0x34, 0x34);
        gr(0x35, 0x12);
        blit(CirrusBlitter.MODE_TRANSPARENT | 0x10, CirrusBlitter.ROP_SRC, 8, 1, 0x800, 0, 0x400, 0);
        assertEquals(0xaaaa, u16(0x800));
        assertEquals(0xf800, u16(0x802));
        assertEquals(0xaaaa, u16(0x804));
        assertEquals(0x07e0, u16(0x806));
    }

    // ---------------------------------------------------------------- colour expansion and patterns

    @Test
    void colourExpansionFromVideoMemoryIn16Bpp() {
        memory().put(0x100, (byte) 0b1011_0000);
        memory().put(0x101, (byte) 0b0100_0000);
        colors(0xf800, 0x001f);
        int mode = CirrusBlitter.MODE_COLOR_EXPAND | 0x10;
        blit(mode, CirrusBlitter.ROP_SRC, 8, 2, 0x1000, 64, 0x100, 0);
        assertArrayEquals(new int[] {0xf800, 0x001f, 0xf800, 0xf800}, row16(0x1000, 4));
        assertArrayEquals(new int[] {0x001f, 0xf800, 0x001f, 0x001f}, row16(0x1040, 4));

        // Transparent: only the 1s are drawn; inverted, only the 0s, in the background colour.
        fill16(0x2000, 4, 0x5555);
        blit(mode | CirrusBlitter.MODE_TRANSPARENT, CirrusBlitter.ROP_SRC, 8, 1, 0x2000, 64, 0x100, 0);
        assertArrayEquals(new int[] {0xf800, 0x5555, 0xf800, 0xf800}, row16(0x2000, 4));
        fill16(0x3000, 4, 0x5555);
        gr(0x33, CirrusBlitter.EXT_INVERT_EXPANSION);
        blit(mode | CirrusBlitter.MODE_TRANSPARENT, CirrusBlitter.ROP_SRC, 8, 1, 0x3000, 64, 0x100, 0);
        assertArrayEquals(new int[] {0x5555, 0x001f, 0x5555, 0x5555}, row16(0x3000, 4));
    }

    private int[] row16(int at, int pixels) {
        int[] out = new int[pixels];
        for (int i = 0; i < pixels; i++) {
            out[i] = u16(at + 2 * i);
        }
        return out;
    }

    private void fill16(int at, int pixels, int v) {
        for (int i = 0; i < pixels; i++) {
            memory().putShort(at + 2 * i, (short) v);
        }
    }

    /** cirrusfb's imageblit: a glyph as a bitmap the CPU writes, colour-expanded by the blitter. */
    @Test
    void systemToScreenColourExpansionThroughTheWindow() {
        sr(0x07, 0x01); // packed-pixel mode: the window is the blitter's data port while a blit waits
        colors(0x0f, 0x01);
        int mode = CirrusBlitter.MODE_COLOR_EXPAND | CirrusBlitter.MODE_SOURCE_SYSTEM;
        blit(mode, CirrusBlitter.ROP_SRC, 10, 3, 0x5000, 640, 0, 0); // 10 pixels: 2 bytes a line
        assertEquals(CirrusBlitter.STATUS_BUSY, gr(0x31) & CirrusBlitter.STATUS_BUSY, "waiting for data");
        int[] glyph = {0xff, 0xc0, 0x80, 0x40, 0x00, 0x00};
        window.write(0, 4, glyph[0] | glyph[1] << 8 | glyph[2] << 16 | glyph[3] << 24);
        window.write(0x10, 2, glyph[4] | glyph[5] << 8);
        assertEquals(0, gr(0x31) & CirrusBlitter.STATUS_BUSY, "all 3 lines arrived");
        for (int x = 0; x < 10; x++) {
            assertEquals(0x0f, u8(0x5000 + x), "line 0 all set");
            assertEquals(x == 0 || x == 9 ? 0x0f : 0x01, u8(0x5000 + 640 + x), "line 1: bits 0x80 and 0x40");
            assertEquals(0x01, u8(0x5000 + 1280 + x));
        }
        assertEquals(0, u8(0x5000 + 10), "nothing past the width");
        assertEquals(0, u8(0), "the data did not go to video RAM");

        // With dword granularity each line is 4 bytes; the padding is dropped.
        gr(0x33, CirrusBlitter.EXT_DWORD_GRANULARITY);
        blit(mode, CirrusBlitter.ROP_SRC, 10, 2, 0x6000, 640, 0, 0);
        window.write(0, 4, 0x0000_80ffL);
        assertEquals(CirrusBlitter.STATUS_BUSY, gr(0x31) & CirrusBlitter.STATUS_BUSY);
        window.write(0, 4, 0x0000_0000L);
        assertEquals(0x0f, u8(0x6000 + 7));
        assertEquals(0x0f, u8(0x6000 + 8));
        assertEquals(0x01, u8(0x6000 + 9));
        assertEquals(0x01, u8(0x6000 + 640));
        // And after it, window writes reach video RAM through the bank again.
        window.write(0x20, 1, 0x77);
        assertEquals(0x77, u8(0x20));
    }

    @Test
    void systemToScreenCopyTakesDwordPaddedLines() {
        sr(0x07, 0x01);
        blit(CirrusBlitter.MODE_SOURCE_SYSTEM, CirrusBlitter.ROP_SRC, 5, 2, 0x7000, 320, 0, 0);
        for (int i = 0; i < 16; i++) {
            window.write(i, 1, 0x10 + i);
        }
        for (int x = 0; x < 5; x++) {
            assertEquals(0x10 + x, u8(0x7000 + x));
            assertEquals(0x18 + x, u8(0x7000 + 320 + x), "line 2 starts at the next dword");
        }
        assertEquals(0, u8(0x7005));
        assertEquals(0, gr(0x31) & 0x03);
    }

    /** An 8×8 colour pattern; bits 2:0 of the source address pick the pattern line the blit starts with. */
    @Test
    void patternFillRepeatsEightByEight() {
        for (int i = 0; i < 64; i++) {
            memory().put(0x4000 + i, (byte) (i + 1));
        }
        blit(CirrusBlitter.MODE_PATTERN, CirrusBlitter.ROP_SRC, 20, 10, 0x8000, 32, 0x4000 + 2, 0);
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 20; x++) {
                int expected = ((y + 2) & 7) * 8 + (x & 7) + 1;
                assertEquals(expected, u8(0x8000 + y * 32 + x), "x " + x + " y " + y);
            }
        }
    }

    @Test
    void colourExpandedPatternWithLeftClippingAt32Bpp() {
        byte[] stripes = {(byte) 0xaa, 0x55, (byte) 0xaa, 0x55, (byte) 0xaa, 0x55, (byte) 0xaa, 0x55};
        memory().put(0x400, stripes);
        colors(0x00ff0000, 0x000000ff);
        gr(0x2f, 3); // skip the first 3 pixels of every line
        fill32(0x9000, 16 * 2, 0x12345678);
        int mode = CirrusBlitter.MODE_PATTERN | CirrusBlitter.MODE_COLOR_EXPAND | 0x30;
        blit(mode, CirrusBlitter.ROP_SRC, 8 * 4, 2, 0x9000, 64, 0x400, 0);
        for (int x = 0; x < 8; x++) {
            int line0 = x < 3 ? 0x12345678 : (x & 1) == 0 ? 0x00ff0000 : 0x000000ff;
            int line1 = x < 3 ? 0x12345678 : (x & 1) == 1 ? 0x00ff0000 : 0x000000ff;
            assertEquals(line0, memory().getInt(0x9000 + 4 * x), "line 0 pixel " + x);
            assertEquals(line1, memory().getInt(0x9000 + 64 + 4 * x), "line 1 pixel " + x);
        }
    }

    private void fill32(int at, int pixels, int v) {
        for (int i = 0; i < pixels; i++) {
            memory().putInt(at + 4 * i, v);
        }
    }

    /** cirrusfb's RectFill at 32 bpp, and an XOR fill (inverting a selection) at 24 bpp. */
    @Test
    void solidFills() {
        gr(0x33, CirrusBlitter.EXT_SOLID_FILL);
        colors(0x00336699, 0);
        int fill = CirrusBlitter.MODE_PATTERN | CirrusBlitter.MODE_COLOR_EXPAND;
        blit(fill | 0x30, CirrusBlitter.ROP_SRC, 4 * 3, 2, 0xa000, 1024, 0, 0);
        for (int x = 0; x < 3; x++) {
            assertEquals(0x00336699, memory().getInt(0xa000 + 4 * x));
            assertEquals(0x00336699, memory().getInt(0xa000 + 1024 + 4 * x));
        }
        assertEquals(0, memory().getInt(0xa000 + 12));

        colors(0x00ffffff, 0);
        memory().put(0xb000, new byte[] {0x01, 0x02, 0x03});
        blit(fill | 0x20, CirrusBlitter.ROP_SRC_XOR_DST, 3, 1, 0xb000, 0, 0, 0);
        assertEquals(0xfe, u8(0xb000));
        assertEquals(0xfd, u8(0xb001));
        assertEquals(0xfc, u8(0xb002));
    }

    // ---------------------------------------------------------------- the memory-mapped register block

    /** X's and Windows' drivers: parameters through MMIO, the blit started by writing the destination's high byte. */
    @Test
    void mmioRegistersAndAutostart() {
        memory().put(0x100, (byte) 0x99);
        long base = CirrusVga.MMIO_BLT;
        mmio.write(base + 0x08, 2, 0); // width 1
        mmio.write(base + 0x0a, 2, 0); // height 1
        mmio.write(base + 0x14, 4, 0x100); // source; the 4th byte is the write mask (GR2F)
        mmio.write(base + 0x18, 1, 0); // mode
        mmio.write(base + 0x1a, 1, CirrusBlitter.ROP_SRC);
        mmio.write(base + 0x40, 1, CirrusBlitter.STATUS_AUTOSTART);
        assertEquals(0, u8(0x200));
        mmio.write(base + 0x10, 4, 0x200); // destination: byte 2 starts it
        assertEquals(0x99, u8(0x200));
        assertEquals(0x100, mmio.read(base + 0x14, 2));
        assertEquals(CirrusBlitter.ROP_SRC, gr(0x32), "the block and GR32 are the same register");
        assertEquals(0xff, mmio.read(base + 0x13, 1), "no register there");

        // The block at 0xB8000 once SR17 bit 2 enables it there (in the packed-pixel window).
        sr(0x07, 0x01);
        assertEquals(0xff, window.read(0x18000 + 0x1a, 1), "off: nothing at B8000");
        sr(0x17, CirrusRegisters.SR17_MMIO_ENABLE);
        assertEquals(CirrusBlitter.ROP_SRC, window.read(0x18000 + 0x1a, 1));
        window.write(0x18000 + 0x1a, 1, CirrusBlitter.ROP_NOT_SRC);
        assertEquals(CirrusBlitter.ROP_NOT_SRC, gr(0x32));
        assertEquals(0x20 | CirrusRegisters.SR17_MMIO_ENABLE, readSr(0x17), "bus type bits stay PCI");
    }

    private int readSr(int index) {
        out(0x3c4, index);
        return in(0x3c5);
    }

    @Test
    void resetAbortsAWaitingBlit() {
        sr(0x07, 0x01);
        blit(CirrusBlitter.MODE_SOURCE_SYSTEM, CirrusBlitter.ROP_SRC, 8, 8, 0x1000, 8, 0, 0);
        assertEquals(CirrusBlitter.STATUS_BUSY | CirrusBlitter.STATUS_START, gr(0x31));
        gr(0x31, CirrusBlitter.STATUS_RESET);
        gr(0x31, 0);
        assertEquals(0, gr(0x31));
        window.write(0x40, 1, 0x33);
        assertEquals(0x33, u8(0x40), "the window is memory again");
        assertEquals(0, u8(0x1000));
    }

    // ---------------------------------------------------------------- hostile values

    /** Each of these would have read or written outside video RAM; each is refused whole. */
    @Test
    void blitsThatWouldLeaveVideoRamAreRefusedWhole() {
        byte[] before = snapshot();
        int refused = 0;
        // Past the end by one byte.
        blit(0x00, CirrusBlitter.ROP_WHITE, 2, 1, DECODED - 1, 0, 0, 0);
        assertEquals(++refused, cirrus.registers().blitter.refused());
        // A huge pitch and height from a small address.
        blit(0x00, CirrusBlitter.ROP_WHITE, 8192, 8192, 0, 8191, 0, 8191);
        assertEquals(++refused, cirrus.registers().blitter.refused());
        // Backward from near 0: it would go below the start.
        blit(CirrusBlitter.MODE_BACKWARDS, CirrusBlitter.ROP_SRC, 100, 2, 10, 64, 0x10000, 64);
        assertEquals(++refused, cirrus.registers().blitter.refused());
        // A legal destination with a source running off the end (CVE-2017-2620's shape, here for a copy).
        blit(0x00, CirrusBlitter.ROP_SRC, 256, 64, 0, 256, DECODED - 1024, 256);
        assertEquals(++refused, cirrus.registers().blitter.refused());
        // Backward source below 0.
        blit(CirrusBlitter.MODE_BACKWARDS, CirrusBlitter.ROP_SRC, 64, 4, 0x20000, 64, 63, 64);
        assertEquals(++refused, cirrus.registers().blitter.refused());
        // Colour expansion reading its bitmap past the end.
        blit(CirrusBlitter.MODE_COLOR_EXPAND, CirrusBlitter.ROP_SRC, 64, 100, 0, 64, DECODED - 16, 0);
        assertEquals(++refused, cirrus.registers().blitter.refused());
        // A system-to-screen blit whose destination is out: refused at once, so the window stays memory.
        sr(0x07, 0x01);
        blit(CirrusBlitter.MODE_SOURCE_SYSTEM, CirrusBlitter.ROP_SRC, 4096, 4096, 0x300000, 4096, 0, 0);
        assertEquals(++refused, cirrus.registers().blitter.refused());
        assertEquals(0, gr(0x31) & CirrusBlitter.STATUS_BUSY);
        // Memory-to-memory and video-to-system are not emulated.
        int bothSystem = CirrusBlitter.MODE_SOURCE_SYSTEM | CirrusBlitter.MODE_DEST_SYSTEM;
        blit(bothSystem, CirrusBlitter.ROP_SRC, 4, 4, 0, 4, 0, 4);
        blit(CirrusBlitter.MODE_DEST_SYSTEM, CirrusBlitter.ROP_SRC, 4, 4, 0, 4, 0, 4);
        refused += 2;
        assertEquals(refused, cirrus.registers().blitter.refused());
        assertArrayEquals(before, snapshot(), "no refused blit wrote anything");

        // The largest blit that fits, ending on the last byte, is fine (pitches are 13 bits: 8191 at most).
        blit(0x00, CirrusBlitter.ROP_WHITE, 8192, 512, 511, 8191, 0, 0);
        assertEquals(refused, cirrus.registers().blitter.refused());
        assertEquals(0xff, u8(DECODED - 1));
        assertCanaryIntact();
    }

    /** Registers the addresses, pitches and sizes can hold are 22 and 13 bits wide: the high bits are dropped. */
    @Test
    void addressAndSizeRegistersKeepOnlyTheirBits() {
        gr(0x2a, 0xff);
        assertEquals(0x3f, gr(0x2a));
        gr(0x21, 0xff);
        assertEquals(0x1f, gr(0x21));
        gr(0x2e, 0xc1);
        assertEquals(0x01, gr(0x2e));
        assertEquals(0xff, gr(0x3a), "nothing past GR39");
    }

    /** Random blits, modes and data: nothing throws, nothing outside the decoded 4 MiB changes. */
    @Test
    void randomBlitsStayInsideVideoRam() {
        SplittableRandom random = new SplittableRandom(5446);
        sr(0x07, 0x01);
        for (int i = 0; i < 2000; i++) {
            for (int reg = 0x20; reg <= 0x2f; reg++) {
                gr(reg, random.nextInt(256));
            }
            // Mostly small blits, so that many run rather than being refused.
            gr(0x21, random.nextInt(8) == 0 ? random.nextInt(32) : 0);
            gr(0x23, random.nextInt(8) == 0 ? random.nextInt(32) : 0);
            colors(random.nextInt(), random.nextInt());
            gr(0x33, random.nextInt(8));
            gr(0x34, random.nextInt(256));
            gr(0x32, random.nextBoolean() ? CirrusBlitter.ROP_SRC : random.nextInt(256));
            gr(0x30, random.nextInt(256));
            gr(0x31, random.nextInt(8) == 0 ? CirrusBlitter.STATUS_RESET : CirrusBlitter.STATUS_START);
            for (int n = random.nextInt(64); n > 0; n--) {
                window.write(random.nextInt(0x10000), 1 << random.nextInt(3), random.nextLong());
            }
            if (random.nextInt(4) == 0) {
                mmio.write(CirrusVga.MMIO_BLT + random.nextInt(0x100), 1, random.nextInt(256));
            }
            gr(0x31, 0);
        }
        assertCanaryIntact();
    }

    // ---------------------------------------------------------------- write modes 4/5 and BAR0's MMIO semantics

    /** Write mode 5 through the window: one CPU byte paints 8 pixels, foreground for 1s, background for 0s. */
    @Test
    void extendedWriteModesExpandEachByteToEightPixels() {
        sr(0x07, 0x01);
        gr(0x0b, CirrusRegisters.EXT_WRITE_MODES | CirrusRegisters.EXT_BY8_ADDRESSING);
        gr(0x05, 0x05);
        colors(0xee, 0x11);
        window.write(2, 1, 0xa5); // BY8: byte 2 is pixels 16-23
        assertArrayEquals(new byte[] {(byte) 0xee, 0x11, (byte) 0xee, 0x11, 0x11, (byte) 0xee, 0x11, (byte) 0xee},
                bytes(16, 8));
        gr(0x05, 0x04); // mode 4 leaves the 0s alone
        colors(0x77, 0x11);
        window.write(2, 1, 0x80);
        assertEquals(0x77, u8(16));
        assertEquals(0x11, u8(17));
        // 16-bit pixels: GR0B bits 4 and 2, colours from GR01/GR11 and GR00/GR10.
        gr(0x0b, CirrusRegisters.EXT_BY16_ADDRESSING);
        gr(0x05, 0x05);
        colors(0xf800, 0x001f);
        window.write(1, 1, 0x81); // BY16: byte 1 is bytes 16-31
        assertEquals(0xf800, u16(16));
        assertEquals(0x001f, u16(18));
        assertEquals(0xf800, u16(30));
    }

    private byte[] bytes(int at, int n) {
        byte[] out = new byte[n];
        memory().get(at, out);
        return out;
    }

    /** BAR0 where QEMU decodes it as MMIO: system data at 16 MiB, the register block at the aperture's end. */
    @Test
    void linearApertureSemantics() {
        BusDevice lfb = cirrus.linearAperture();
        lfb.write(0x1234, 2, 0xbeef);
        assertEquals(0xbeef, u16(0x1234), "plain aperture bytes are video RAM");
        colors(0x0f, 0x01);
        blit(CirrusBlitter.MODE_COLOR_EXPAND | CirrusBlitter.MODE_SOURCE_SYSTEM, CirrusBlitter.ROP_SRC, 8, 2,
                0x3000, 8, 0, 0);
        lfb.write(CirrusRegisters.LINEAR_BLT_SOURCE + 0x40, 1, 0xf0);
        lfb.write(0, 1, 0x0f); // while a blit waits, the aperture feeds it too
        assertArrayEquals(new byte[] {0x0f, 0x0f, 0x0f, 0x0f, 0x01, 0x01, 0x01, 0x01}, bytes(0x3000, 8));
        assertArrayEquals(new byte[] {0x01, 0x01, 0x01, 0x01, 0x0f, 0x0f, 0x0f, 0x0f}, bytes(0x3008, 8));
        assertEquals(0xbe, u8(0x1235), "and the aperture's bytes were not overwritten");

        sr(0x17, CirrusRegisters.SR17_MMIO_ENABLE | CirrusRegisters.SR17_MMIO_AT_LINEAR_END);
        lfb.write(DECODED - 256 + 0x1a, 1, CirrusBlitter.ROP_SRC_XOR_DST);
        assertEquals(CirrusBlitter.ROP_SRC_XOR_DST, gr(0x32));
        assertEquals(CirrusBlitter.ROP_SRC_XOR_DST, lfb.read(DECODED - 256 + 0x1a, 1));
        assertEquals(0xff, lfb.read(CirrusRegisters.LINEAR_BLT_SOURCE, 1), "the data window is write-only");
        assertCanaryIntact();
    }
}
