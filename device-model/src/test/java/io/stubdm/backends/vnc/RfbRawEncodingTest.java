package io.stubdm.backends.vnc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class RfbRawEncodingTest {
    static List<PixelFormat> formats() {
        return List.of(
                PixelFormat.SERVER,
                new PixelFormat(32, 24, true, true, 255, 255, 255, 16, 8, 0),
                new PixelFormat(32, 24, false, true, 255, 255, 255, 0, 8, 16), // BGR
                new PixelFormat(32, 24, true, true, 255, 255, 255, 24, 16, 8),
                new PixelFormat(16, 16, false, true, 31, 63, 31, 11, 5, 0),
                new PixelFormat(16, 16, true, true, 31, 63, 31, 11, 5, 0),
                new PixelFormat(16, 15, false, true, 31, 31, 31, 10, 5, 0),
                new PixelFormat(8, 8, false, true, 7, 7, 3, 0, 3, 6),
                new PixelFormat(8, 6, true, true, 3, 3, 3, 4, 2, 0));
    }

    /** Intensities 0 and 255 come back exactly in any format. */
    @ParameterizedTest
    @MethodSource("formats")
    void primaryColoursSurviveEveryFormat(PixelFormat format) throws Exception {
        int w = 19;
        int h = 7;
        int[] pixels = new int[w * h];
        Random r = new Random(7);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (r.nextBoolean() ? 0xFF0000 : 0) | (r.nextBoolean() ? 0xFF00 : 0) | (r.nextBoolean() ? 0xFF : 0);
        }
        byte[] msg = Encoded.update(Encoded.shadow(w, h, pixels), List.of(new Rect(0, 0, w, h)),
                FramebufferUpdate.RAW, format, null);
        assertEquals(4 + 12 + w * h * format.bytesPerPixel(), msg.length);
        assertArrayEquals(pixels, Encoded.decode(msg, w, h, format));
    }

    /** Other intensities come back as the nearest level the format has. */
    @ParameterizedTest
    @MethodSource("formats")
    void intermediateColoursAreQuantised(PixelFormat format) throws Exception {
        int w = 16;
        int h = 16;
        int[] pixels = new int[w * h];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = i * 0x010101 ^ (i * 37 & 0xFF) << 16;
        }
        int[] decoded = Encoded.decode(Encoded.update(Encoded.shadow(w, h, pixels), List.of(new Rect(0, 0, w, h)),
                FramebufferUpdate.RAW, format, null), w, h, format);
        for (int i = 0; i < pixels.length; i++) {
            assertEquals(quantise(pixels[i], format), decoded[i], "pixel " + i);
        }
    }

    private static int quantise(int rgb, PixelFormat f) {
        return level(rgb >>> 16 & 0xFF, f.redMax()) << 16 | level(rgb >>> 8 & 0xFF, f.greenMax()) << 8
                | level(rgb & 0xFF, f.blueMax());
    }

    private static int level(int c, int max) {
        long v = Math.round(c * (double) max / 255);
        return (int) ((v * 255 + max / 2) / max);
    }

    @Test
    void bytesInTheClientsOrder() throws Exception {
        int[] red = {0xFF0000};
        assertArrayEquals(new byte[] {0, 0, (byte) 0xFF, 0}, pixelBytes(red, PixelFormat.SERVER));
        assertArrayEquals(new byte[] {0, (byte) 0xFF, 0, 0},
                pixelBytes(red, new PixelFormat(32, 24, true, true, 255, 255, 255, 16, 8, 0)));
        assertArrayEquals(new byte[] {0, (byte) 0xF8},
                pixelBytes(red, new PixelFormat(16, 16, false, true, 31, 63, 31, 11, 5, 0)));
        assertArrayEquals(new byte[] {(byte) 0xF8, 0},
                pixelBytes(red, new PixelFormat(16, 16, true, true, 31, 63, 31, 11, 5, 0)));
        assertArrayEquals(new byte[] {7}, pixelBytes(red, new PixelFormat(8, 8, false, true, 7, 7, 3, 0, 3, 6)));
    }

    private static byte[] pixelBytes(int[] pixels, PixelFormat f) {
        byte[] msg = Encoded.update(Encoded.shadow(1, 1, pixels), List.of(new Rect(0, 0, 1, 1)),
                FramebufferUpdate.RAW, f, null);
        return Arrays.copyOfRange(msg, 16, msg.length);
    }

    @Test
    void rectangleHeaders() throws Exception {
        int[] pixels = new int[20 * 10];
        Arrays.fill(pixels, 0x0000FF);
        byte[] msg = Encoded.update(Encoded.shadow(20, 10, pixels), List.of(new Rect(2, 3, 4, 5),
                new Rect(10, 0, 10, 10)), FramebufferUpdate.RAW, PixelFormat.SERVER, null);
        try (RfbClient c = Encoded.reader(msg, 20, 10, PixelFormat.SERVER)) {
            c.readUpdate(0);
            assertEquals(List.of(new RfbClient.Rectangle(2, 3, 4, 5, 0), new RfbClient.Rectangle(10, 0, 10, 10, 0)),
                    c.lastUpdate());
        }
    }

    @Test
    void pixelFormatValidation() {
        assertNull(PixelFormat.SERVER.problem());
        assertNotNull(new PixelFormat(32, 24, false, false, 255, 255, 255, 16, 8, 0).problem()); // colour map
        assertNotNull(new PixelFormat(24, 24, false, true, 255, 255, 255, 16, 8, 0).problem());
        assertNotNull(new PixelFormat(32, 24, false, true, 100, 255, 255, 16, 8, 0).problem());
        assertNotNull(new PixelFormat(16, 16, false, true, 31, 63, 31, 12, 5, 0).problem()); // red beyond bit 15
        assertNotNull(new PixelFormat(32, 24, false, true, 255, 255, 255, 255, 8, 0).problem());
        assertNull(new PixelFormat(32, 24, false, true, 65535, 0, 0, 16, 0, 0).problem());
    }
}
