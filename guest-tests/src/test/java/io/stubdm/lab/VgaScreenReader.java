package io.stubdm.lab;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the text back from a screendump of an 80×25 VGA text screen (720×400, 9×16 cells): each cell's dots that
 * differ from its background (the ninth column, which is background for every character but the line-drawing
 * ones) make an 8×16 pattern, looked up among the glyphs of the VGA BIOS's 8×16 font. Both device models' VGA
 * BIOSes come from Debian's seabios package and Linux's vgacon keeps the font the BIOS loaded, so the font file
 * on the host is the font on the screen. A cell that matches no glyph reads as '?'.
 */
final class VgaScreenReader {
    static final int COLUMNS = 80;
    static final int ROWS = 25;
    static final int CELL_WIDTH = 9;
    static final int CELL_HEIGHT = 16;
    private static final int GLYPHS = 256;
    private static final Charset CP437 = Charset.forName("IBM437");

    private final Map<String, Character> glyphs = new HashMap<>();

    /** {@code font} is 256 glyphs of 16 bytes, one byte per scan line, bit 7 the leftmost dot. */
    VgaScreenReader(byte[] font) {
        if (font.length != GLYPHS * CELL_HEIGHT) {
            throw new IllegalArgumentException("an 8x16 font is 4096 bytes, not " + font.length);
        }
        for (int c = GLYPHS - 1; c >= 0; c--) {
            byte[] g = Arrays.copyOfRange(font, c * CELL_HEIGHT, (c + 1) * CELL_HEIGHT);
            char ch = new String(new byte[] {(byte) c}, CP437).charAt(0);
            // Blank glyphs (0, 0x20, 0xFF) all read as a space; otherwise the lowest code wins.
            glyphs.put(key(g), isBlank(g) ? ' ' : ch);
        }
    }

    /**
     * The 8×16 font inside a SeaBIOS VGA BIOS image: the 4096-byte table whose glyph 0 and glyph 0x20 are empty,
     * glyph 0xDB (full block) is solid, and glyph 'A' is not empty.
     */
    static Optional<byte[]> fontFromVgaBios(byte[] rom) {
        for (int o = 0; o + GLYPHS * CELL_HEIGHT <= rom.length; o++) {
            if (all(rom, o, 0) && all(rom, o + 0x20 * CELL_HEIGHT, 0) && all(rom, o + 0xdb * CELL_HEIGHT, 0xff)
                    && !all(rom, o + 'A' * CELL_HEIGHT, 0) && !all(rom, o + 'A' * CELL_HEIGHT, 0xff)) {
                return Optional.of(Arrays.copyOfRange(rom, o, o + GLYPHS * CELL_HEIGHT));
            }
        }
        return Optional.empty();
    }

    /**
     * A screendump file as an image: PNG, or binary PPM ("P6", 8-bit channels, as QEMU and stubdm write it),
     * gzipped when the name ends in ".gz". Null when the file is neither.
     */
    static BufferedImage readImage(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.endsWith(".png")) {
            return javax.imageio.ImageIO.read(file.toFile());
        }
        try (java.io.InputStream raw = Files.newInputStream(file);
                java.io.InputStream in = new java.io.BufferedInputStream(
                        name.endsWith(".gz") ? new java.util.zip.GZIPInputStream(raw) : raw)) {
            return readPpm(in);
        }
    }

    /** A binary PPM: "P6", width, height and maxval (255) separated by whitespace or comments, then RGB bytes. */
    static BufferedImage readPpm(java.io.InputStream in) throws IOException {
        if (!"P6".equals(ppmToken(in))) {
            return null;
        }
        int width = Integer.parseInt(ppmToken(in));
        int height = Integer.parseInt(ppmToken(in));
        int max = Integer.parseInt(ppmToken(in));
        if (width <= 0 || height <= 0 || width > 4096 || height > 4096 || max != 255) {
            throw new IOException("unsupported PPM " + width + "x" + height + " maxval " + max);
        }
        byte[] rgb = in.readNBytes(width * height * 3);
        if (rgb.length != width * height * 3) {
            throw new IOException("PPM cut short: " + rgb.length + " of " + width * height * 3 + " bytes");
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int i = 0, p = 0; p < width * height; p++, i += 3) {
            image.setRGB(p % width, p / width, (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | rgb[i + 2] & 0xff);
        }
        return image;
    }

    /** The next header token; the single whitespace byte after the last one (maxval) ends the header. */
    private static String ppmToken(java.io.InputStream in) throws IOException {
        StringBuilder t = new StringBuilder();
        for (int c = in.read(); ; c = in.read()) {
            if (c < 0) {
                throw new IOException("PPM header cut short");
            } else if (c == '#' && t.length() == 0) {
                while (c >= 0 && c != '\n') {
                    c = in.read();
                }
            } else if (Character.isWhitespace(c)) {
                if (t.length() > 0) {
                    return t.toString();
                }
            } else if (t.length() < 16) {
                t.append((char) c);
            } else {
                throw new IOException("PPM header token too long");
            }
        }
    }

    static Optional<byte[]> fontFromVgaBios(Path rom) throws IOException {
        return Files.isReadable(rom) ? fontFromVgaBios(Files.readAllBytes(rom)) : Optional.empty();
    }

    private static boolean all(byte[] b, int at, int value) {
        for (int i = 0; i < CELL_HEIGHT; i++) {
            if ((b[at + i] & 0xff) != value) {
                return false;
            }
        }
        return true;
    }

    private static boolean isBlank(byte[] g) {
        for (byte b : g) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static String key(byte[] g) {
        return Arrays.toString(g);
    }

    /** The screen's text, one line per row, trailing blanks removed; null if the image is not 720×400. */
    String read(BufferedImage screen) {
        if (screen.getWidth() != COLUMNS * CELL_WIDTH || screen.getHeight() != ROWS * CELL_HEIGHT) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        byte[] cell = new byte[CELL_HEIGHT];
        for (int row = 0; row < ROWS; row++) {
            StringBuilder line = new StringBuilder();
            for (int col = 0; col < COLUMNS; col++) {
                int x0 = col * CELL_WIDTH;
                int y0 = row * CELL_HEIGHT;
                int background = screen.getRGB(x0 + 8, y0) & 0xffffff;
                for (int l = 0; l < CELL_HEIGHT; l++) {
                    int bits = 0;
                    for (int d = 0; d < 8; d++) {
                        if ((screen.getRGB(x0 + d, y0 + l) & 0xffffff) != background) {
                            bits |= 0x80 >> d;
                        }
                    }
                    cell[l] = (byte) bits;
                }
                line.append(glyphs.getOrDefault(key(cell), '?'));
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }
}
