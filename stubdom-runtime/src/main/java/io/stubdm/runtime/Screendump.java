package io.stubdm.runtime;

import io.stubdm.devices.vga.VgaRenderer;
import java.awt.image.BufferedImage;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * QMP's {@code screendump}: a picture of the display written to a file, as binary PPM (QEMU's default) or PNG.
 * The file appears whole or not at all (written beside it, then renamed), so a reader polling for it never
 * sees half a picture.
 */
final class Screendump {
    enum Format {
        PPM, PNG;

        static Format parse(String name) {
            try {
                return valueOf(name.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("format '" + name + "' is neither ppm nor png");
            }
        }
    }

    private Screendump() {}

    static void write(VgaRenderer.Frame frame, Path file, Format format) throws IOException {
        if (format == Format.PNG && ModuleLayer.boot().findModule("java.desktop").isEmpty()) {
            // The stub domain's Java runtime leaves out java.desktop (ImageIO): 20 MiB of memory for one format.
            throw new IOException("this Java runtime has no PNG writer (no java.desktop module): ask for PPM");
        }
        Path parent = file.toAbsolutePath().getParent();
        Path temporary = Files.createTempFile(parent, "." + file.getFileName(), ".part");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temporary))) {
                if (format == Format.PNG) {
                    BufferedImage image = new BufferedImage(frame.width(), frame.height(), BufferedImage.TYPE_INT_RGB);
                    image.setRGB(0, 0, frame.width(), frame.height(), frame.pixels(), 0, frame.width());
                    if (!ImageIO.write(image, "png", out)) {
                        throw new IOException("this Java runtime has no PNG writer");
                    }
                } else {
                    writePpm(frame, out);
                }
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    private static void writePpm(VgaRenderer.Frame frame, OutputStream out) throws IOException {
        out.write(("P6\n" + frame.width() + " " + frame.height() + "\n255\n").getBytes(StandardCharsets.US_ASCII));
        byte[] row = new byte[frame.width() * 3];
        for (int y = 0; y < frame.height(); y++) {
            for (int x = 0; x < frame.width(); x++) {
                int p = frame.pixels()[y * frame.width() + x];
                row[3 * x] = (byte) (p >> 16);
                row[3 * x + 1] = (byte) (p >> 8);
                row[3 * x + 2] = (byte) p;
            }
            out.write(row);
        }
    }
}
