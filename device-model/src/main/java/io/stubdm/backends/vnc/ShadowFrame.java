package io.stubdm.backends.vnc;

import io.stubdm.devices.vga.VgaRenderer.Frame;
import java.util.Arrays;

/**
 * The server's own copy of the last captured picture. Updates are encoded from it, not from the frame the
 * console returned, so a console that reuses or keeps drawing into its pixel array cannot tear an update or
 * hide a change from the next comparison.
 */
final class ShadowFrame {
    /** RFB sizes are u16 (RFC 6143 §7.3.2). */
    static final int MAX_SIZE = 65535;

    private int width;
    private int height;
    private int[] pixels = new int[0];

    int width() {
        return width;
    }

    int height() {
        return height;
    }

    /** 0xRRGGBB (higher byte undefined), row-major; owned by this object, read-only for others. */
    int[] pixels() {
        return pixels;
    }

    /** Why {@code frame} cannot be shown, or null. */
    static String problem(Frame frame) {
        if (frame == null || frame.pixels() == null) {
            return "no frame";
        }
        if (frame.width() < 1 || frame.height() < 1 || frame.width() > MAX_SIZE || frame.height() > MAX_SIZE) {
            return "frame size " + frame.width() + "x" + frame.height() + " is outside 1..65535";
        }
        if (frame.pixels().length < (long) frame.width() * frame.height()) {
            return "frame has " + frame.pixels().length + " pixels for " + frame.width() + "x" + frame.height();
        }
        return null;
    }

    /**
     * Takes {@code frame} (which must have no {@link #problem}) as the new picture and returns the tiles that
     * differ from the previous one: all of them when the size changed.
     */
    TileGrid update(Frame frame) {
        int w = frame.width();
        int h = frame.height();
        int[] src = frame.pixels();
        TileGrid changed = new TileGrid(w, h);
        if (w != width || h != height) {
            width = w;
            height = h;
            pixels = Arrays.copyOf(src, w * h);
            changed.markAll();
            return changed;
        }
        int tile = TileGrid.TILE;
        for (int y = 0; y < h; y++) {
            int row = y * w;
            // Most rows of most frames are unchanged: one vectorised comparison of the row settles it.
            if (Arrays.mismatch(pixels, row, row + w, src, row, row + w) < 0) {
                continue;
            }
            for (int x = 0; x < w; x += tile) {
                int end = Math.min(x + tile, w);
                if (Arrays.mismatch(pixels, row + x, row + end, src, row + x, row + end) >= 0) {
                    changed.mark(x / tile, y / tile);
                }
            }
            System.arraycopy(src, row, pixels, row, w);
        }
        return changed;
    }
}
