package io.stubdm.backends.vnc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Random;
import java.util.function.IntBinaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ZrleEncoderTest {
    private static final PixelFormat RGB888 = PixelFormat.SERVER;
    private static final PixelFormat RGB565 = new PixelFormat(16, 16, false, true, 31, 63, 31, 11, 5, 0);

    private final ZrleEncoder zrle = new ZrleEncoder();

    @AfterEach
    void close() {
        zrle.close();
    }

    private static int[] frame(int w, int h, IntBinaryOperator colour) {
        int[] p = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                p[y * w + x] = colour.applyAsInt(x, y);
            }
        }
        return p;
    }

    /**
     * Encodes the whole w×h frame as one ZRLE rectangle of a new stream (as a new connection would); checks the
     * decoded picture; returns the message.
     */
    private static byte[] roundTrip(int w, int h, int[] pixels, PixelFormat format, int[] expected)
            throws Exception {
        try (ZrleEncoder fresh = new ZrleEncoder()) {
            byte[] msg = Encoded.update(Encoded.shadow(w, h, pixels), List.of(new Rect(0, 0, w, h)),
                    FramebufferUpdate.ZRLE, format, fresh);
            assertArrayEquals(expected, Encoded.decode(msg, w, h, format));
            return msg;
        }
    }

    private int subencoding(int[] tile) throws Exception {
        byte[] msg = roundTrip(64, 64, tile, RGB888, tile);
        return Encoded.zrlePlain(msg)[0] & 0xFF;
    }

    @Test
    void solidTile() throws Exception {
        int[] tile = frame(64, 64, (x, y) -> 0x123456);
        byte[] plain = Encoded.zrlePlain(roundTrip(64, 64, tile, RGB888, tile));
        // Subencoding 1 and one 3-byte CPIXEL, little-endian.
        assertArrayEquals(new byte[] {1, 0x56, 0x34, 0x12}, plain);
    }

    @Test
    void twoColoursArePackedOneBitPerPixel() throws Exception {
        Random r = new Random(1);
        int[] tile = frame(64, 64, (x, y) -> r.nextBoolean() ? 0xFFFFFF : 0x0000AA);
        byte[] plain = Encoded.zrlePlain(roundTrip(64, 64, tile, RGB888, tile));
        assertEquals(2, plain[0]);
        assertEquals(1 + 2 * 3 + 64 * 8, plain.length);
    }

    @Test
    void fewColoursArePacked() throws Exception {
        int[] colours = {0x000000, 0xAA0000, 0x00AA00, 0xAAAA00, 0x0000AA, 0xAA00AA, 0x0055AA, 0xAAAAAA,
                0x555555, 0xFF5555, 0x55FF55, 0xFFFF55, 0x5555FF, 0xFF55FF, 0x55FFFF, 0xFFFFFF};
        Random r = new Random(2);
        int[] four = frame(64, 64, (x, y) -> colours[r.nextInt(4)]);
        assertEquals(4, subencoding(four));
        int[] sixteen = frame(64, 64, (x, y) -> colours[r.nextInt(16)]);
        assertEquals(16, subencoding(sixteen));
        int[] three = frame(64, 64, (x, y) -> colours[r.nextInt(3)]);
        assertEquals(3, subencoding(three));
    }

    @Test
    void paletteRle() throws Exception {
        int[] tile = frame(64, 64, (x, y) -> 0x010101 * (10 * ((x / 3 + y) % 20)));
        assertEquals(128 + 20, subencoding(tile));
    }

    @Test
    void plainRleForLongRunsOfManyColours() throws Exception {
        int[] tile = frame(64, 64, (x, y) -> 0x10000 * y + 0x100 * (x / 16) + 7);
        assertEquals(128, subencoding(tile)); // 256 colours: no palette; runs of 16
    }

    @Test
    void rawForNoise() throws Exception {
        Random r = new Random(3);
        int[] tile = frame(64, 64, (x, y) -> r.nextInt(0x1000000));
        assertEquals(0, subencoding(tile));
    }

    @Test
    void runsLongerThan255() throws Exception {
        // Two colours in two long runs (2048 pixels each): palette RLE with multi-byte run lengths or packed.
        int[] tile = frame(64, 64, (x, y) -> y < 32 ? 0x102030 : 0x405060);
        roundTrip(64, 64, tile, RGB888, tile);
        // Many colours, each in a run of 300 or so: plain RLE with 255-continuation bytes.
        int[] big = frame(64, 64, (x, y) -> ((y * 64 + x) / 300) * 0x0A0B0C);
        roundTrip(64, 64, big, RGB888, big);
    }

    @Test
    void partialTilesAtTheRightAndBottomEdges() throws Exception {
        int w = 100;
        int h = 70;
        Random r = new Random(4);
        int[] pixels = frame(w, h, (x, y) -> x < 30 ? 0x223344 : y > 60 ? r.nextInt(0x1000000)
                : (x + y) % 5 == 0 ? 0xFFFFFF : 0x000080);
        roundTrip(w, h, pixels, RGB888, pixels);
        // And a rectangle that starts inside a tile and ends at the frame's corner.
        Rect part = new Rect(37, 13, 63, 57);
        byte[] msg = Encoded.update(Encoded.shadow(w, h, pixels), List.of(part), FramebufferUpdate.ZRLE, RGB888,
                zrle);
        int[] decoded = Encoded.decode(msg, w, h, RGB888);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int want = x >= 37 && y >= 13 ? pixels[y * w + x] : 0;
                assertEquals(want, decoded[y * w + x], "pixel " + x + "," + y);
            }
        }
    }

    @Test
    void oneZlibStreamAcrossUpdates() throws Exception {
        int w = 130;
        int h = 40;
        Random r = new Random(5);
        ShadowFrame first = Encoded.shadow(w, h, frame(w, h, (x, y) -> r.nextInt(8) * 0x202020));
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        stream.writeBytes(Encoded.update(first, List.of(new Rect(0, 0, w, h)), FramebufferUpdate.ZRLE, RGB888,
                zrle));
        int[] second = frame(w, h, (x, y) -> x > 64 ? 0xABCDEF : r.nextInt(8) * 0x202020);
        ShadowFrame next = Encoded.shadow(w, h, second);
        stream.writeBytes(Encoded.update(next, List.of(new Rect(0, 0, 70, 40), new Rect(70, 0, 60, 40)),
                FramebufferUpdate.ZRLE, RGB888, zrle));
        try (RfbClient c = Encoded.reader(stream.toByteArray(), w, h, RGB888)) {
            c.readUpdate(0);
            assertArrayEquals(second, c.readUpdate(0));
            assertEquals(2, c.lastUpdate().size());
        }
    }

    @Test
    void threeByteCpixelForDepth24InEitherByteOrder() throws Exception {
        int[] tile = frame(64, 64, (x, y) -> 0x123456);
        PixelFormat bigEndian = new PixelFormat(32, 24, true, true, 255, 255, 255, 16, 8, 0);
        assertArrayEquals(new byte[] {1, 0x12, 0x34, 0x56},
                Encoded.zrlePlain(roundTrip(64, 64, tile, bigEndian, tile)));
        // Colour in the most significant three bytes: those are the CPIXEL.
        PixelFormat high = new PixelFormat(32, 24, false, true, 255, 255, 255, 24, 16, 8);
        assertArrayEquals(new byte[] {1, 0x56, 0x34, 0x12}, Encoded.zrlePlain(roundTrip(64, 64, tile, high, tile)));
    }

    @Test
    void fullPixelCpixelOtherwise() throws Exception {
        int[] tile = frame(64, 64, (x, y) -> 0xFF0000);
        // 16 bpp: 2-byte CPIXEL (5-6-5, red = 0xF800).
        assertArrayEquals(new byte[] {1, 0x00, (byte) 0xF8}, Encoded.zrlePlain(roundTrip(64, 64, tile, RGB565, tile)));
        // Depth 32: all four bytes.
        PixelFormat depth32 = new PixelFormat(32, 32, false, true, 255, 255, 255, 16, 8, 0);
        assertArrayEquals(new byte[] {1, 0, 0, (byte) 0xFF, 0},
                Encoded.zrlePlain(roundTrip(64, 64, tile, depth32, tile)));
        // 8 bpp BGR233.
        PixelFormat bgr233 = new PixelFormat(8, 8, false, true, 7, 7, 3, 0, 3, 6);
        assertArrayEquals(new byte[] {1, 7}, Encoded.zrlePlain(roundTrip(64, 64, tile, bgr233, tile)));
    }

    @Test
    void sixteenBitRoundTripOfEveryKind() throws Exception {
        int w = 100;
        int h = 70;
        Random r = new Random(6);
        // Components of 0 or 255 survive any pixel format exactly.
        int[] pixels = frame(w, h, (x, y) -> y < 20 ? 0xFF00FF : y < 40 ? (r.nextBoolean() ? 0xFFFFFF : 0xFF)
                : (r.nextBoolean() ? 0xFF0000 : 0) | (r.nextBoolean() ? 0xFF00 : 0) | (r.nextBoolean() ? 0xFF : 0));
        roundTrip(w, h, pixels, RGB565, pixels);
    }

    @Test
    void closedEncoderRefuses() {
        zrle.close();
        zrle.close();
        assertThrows(IllegalStateException.class, () -> Encoded.update(Encoded.shadow(4, 4, new int[16]),
                List.of(new Rect(0, 0, 4, 4)), FramebufferUpdate.ZRLE, RGB888, zrle));
    }

    @Test
    void compresses() throws Exception {
        int w = 640;
        int h = 400;
        int[] text = frame(w, h, (x, y) -> (x / 8 + y / 16) % 7 == 0 && (x + y) % 3 == 0 ? 0xAAAAAA : 0);
        byte[] msg = roundTrip(w, h, text, RGB888, text);
        assertTrue(msg.length < w * h / 10, "ZRLE of a text screen took " + msg.length + " bytes");
    }
}
