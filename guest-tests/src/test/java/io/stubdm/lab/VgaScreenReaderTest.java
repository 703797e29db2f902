package io.stubdm.lab;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.nio.charset.Charset;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The lab's screendump reader, on screens drawn here with the font of Debian's VGA BIOS. */
class VgaScreenReaderTest {
    private static final Path STDVGA_BIOS = Path.of("/usr/share/seabios/vgabios-stdvga.bin");

    private static byte[] font() throws Exception {
        assumeTrue(STDVGA_BIOS.toFile().canRead(), "Debian package seabios is not installed");
        return VgaScreenReader.fontFromVgaBios(STDVGA_BIOS).orElseThrow(
                () -> new AssertionError("no 8x16 font found in " + STDVGA_BIOS));
    }

    /** Draws {@code lines} as a VGA text screen would show them: 9×16 cells, the ninth column background. */
    private static BufferedImage screen(byte[] font, String[] lines, int fg, int bg) {
        BufferedImage image = new BufferedImage(720, 400, BufferedImage.TYPE_INT_RGB);
        byte[] codes = new byte[80];
        for (int row = 0; row < 25; row++) {
            java.util.Arrays.fill(codes, (byte) ' ');
            if (row < lines.length) {
                byte[] b = lines[row].getBytes(Charset.forName("IBM437"));
                System.arraycopy(b, 0, codes, 0, Math.min(80, b.length));
            }
            for (int col = 0; col < 80; col++) {
                int c = codes[col] & 0xff;
                for (int l = 0; l < 16; l++) {
                    for (int d = 0; d < 9; d++) {
                        boolean on = d < 8 && (font[c * 16 + l] & (0x80 >> d)) != 0;
                        image.setRGB(col * 9 + d, row * 16 + l, on ? fg : bg);
                    }
                }
            }
        }
        return image;
    }

    @Test
    void findsTheFontInTheVgaBios() throws Exception {
        byte[] font = font();
        assertEquals(4096, font.length);
        boolean differ = false;
        for (int l = 0; l < 16; l++) {
            differ |= font['l' * 16 + l] != font['I' * 16 + l];
        }
        assertTrue(differ, "'l' and 'I' are different glyphs");
        assertTrue(VgaScreenReader.fontFromVgaBios(new byte[8192]).isEmpty(), "no font in zeros");
    }

    @Test
    void readsBackWhatWasDrawnInAnyColours() throws Exception {
        byte[] font = font();
        VgaScreenReader reader = new VgaScreenReader(font);
        String[] lines = {"STUBDM-VGA-OK (S) VGA+", "", "[   12.345678] reboot: Power down", "|{}~ 0123456789 xyz"};
        String text = reader.read(screen(font, lines, 0xaaaaaa, 0x000000));
        String[] rows = text.split("\n", -1);
        assertEquals(lines[0], rows[0]);
        assertEquals("", rows[1]);
        assertEquals(lines[2], rows[2]);
        assertEquals(lines[3], rows[3]);
        assertEquals(26, rows.length);
        assertEquals(lines[0], reader.read(screen(font, lines, 0xffff55, 0x0000aa)).split("\n")[0]);
        assertNull(reader.read(new BufferedImage(640, 480, BufferedImage.TYPE_INT_RGB)), "not a text screen");
    }

    @Test
    void readsQemusGzippedPpmScreendumpsAsWellAsPng() throws Exception {
        byte[] font = font();
        BufferedImage drawn = screen(font, new String[] {"STUBDM-VGA-OK (S) VGA+"}, 0xaaaaaa, 0x000000);
        java.io.ByteArrayOutputStream ppm = new java.io.ByteArrayOutputStream();
        ppm.write("P6\n# from a test\n720 400\n255\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (int y = 0; y < 400; y++) {
            for (int x = 0; x < 720; x++) {
                int p = drawn.getRGB(x, y);
                ppm.write(p >> 16);
                ppm.write(p >> 8);
                ppm.write(p);
            }
        }
        Path dir = java.nio.file.Files.createTempDirectory("screens");
        Path gz = dir.resolve("sc.ppm.gz");
        try (java.io.OutputStream out = new java.util.zip.GZIPOutputStream(java.nio.file.Files.newOutputStream(gz))) {
            ppm.writeTo(out);
        }
        Path png = dir.resolve("sc.png");
        javax.imageio.ImageIO.write(drawn, "png", png.toFile());
        VgaScreenReader reader = new VgaScreenReader(font);
        assertEquals("STUBDM-VGA-OK (S) VGA+", reader.read(VgaScreenReader.readImage(gz)).split("\n")[0]);
        assertEquals("STUBDM-VGA-OK (S) VGA+", reader.read(VgaScreenReader.readImage(png)).split("\n")[0]);

        byte[] cut = java.util.Arrays.copyOf(ppm.toByteArray(), 1000);
        assertThrows(java.io.IOException.class, () -> VgaScreenReader.readPpm(new java.io.ByteArrayInputStream(cut)));
        assertNull(VgaScreenReader.readPpm(new java.io.ByteArrayInputStream("P3\n1 1\n255\n0 0 0\n".getBytes())));
    }
}
