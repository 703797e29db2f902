package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;

/** Builds FramebufferUpdate messages (RFC 6143 §7.6.1). */
final class FramebufferUpdate {
    static final int RAW = 0;
    static final int ZRLE = 16;
    static final int DESKTOP_SIZE = -223;

    private static final int MESSAGE_TYPE = 0;

    private FramebufferUpdate() {}

    /** An update of only the DesktopSize pseudo-rectangle (§7.8.2), which must be the last one of its update. */
    static ByteBuf desktopSize(ByteBufAllocator alloc, int width, int height) {
        ByteBuf out = alloc.buffer(16);
        header(out, 1);
        rectangle(out, new Rect(0, 0, width, height), DESKTOP_SIZE);
        return out;
    }

    /** An update of {@code rects} of {@code frame}, in {@code encoding} (RAW or ZRLE, which needs {@code zrle}). */
    static ByteBuf pixels(ByteBufAllocator alloc, ShadowFrame frame, List<Rect> rects, int encoding,
            PixelEncoder pixels, ZrleEncoder zrle) {
        if (rects.size() > TileGrid.MAX_RECTANGLES) {
            throw new IllegalArgumentException(rects.size() + " rectangles");
        }
        long area = 0;
        for (Rect r : rects) {
            area += (long) r.width() * r.height();
        }
        // Raw's exact size; ZRLE is usually far smaller and the buffer grows when it is not.
        long estimate = 4 + 16L * rects.size() + (encoding == RAW ? area * pixels.bytesPerPixel() : area / 4);
        ByteBuf out = alloc.buffer((int) Math.min(estimate, 64 << 20));
        try {
            header(out, rects.size());
            for (Rect r : rects) {
                rectangle(out, r, encoding);
                if (encoding == ZRLE) {
                    zrle.encode(frame.pixels(), frame.width(), r, pixels, out);
                } else {
                    raw(frame.pixels(), frame.width(), r, pixels, out);
                }
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.release();
            throw e;
        }
    }

    /** Raw encoding (§7.7.1): the rectangle's pixels, left to right, top to bottom, in the client's format. */
    static void raw(int[] rgb, int stride, Rect r, PixelEncoder pixels, ByteBuf out) {
        out.ensureWritable(r.width() * r.height() * pixels.bytesPerPixel());
        for (int y = r.y(); y < r.bottom(); y++) {
            int row = y * stride;
            for (int x = r.x(); x < r.right(); x++) {
                pixels.writePixel(out, pixels.pixel(rgb[row + x]));
            }
        }
    }

    private static void header(ByteBuf out, int rectangles) {
        out.writeByte(MESSAGE_TYPE).writeByte(0).writeShort(rectangles);
    }

    private static void rectangle(ByteBuf out, Rect r, int encoding) {
        out.writeShort(r.x()).writeShort(r.y()).writeShort(r.width()).writeShort(r.height()).writeInt(encoding);
    }
}
