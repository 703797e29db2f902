package io.stubdm.backends.vnc;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Which tiles of a width × height frame are dirty. Tiles are 16×16: a text-mode cursor blink or a typed
 * character touches one or two such tiles (a 9×16 cell), where a 64×64 tile would resend 16 times the pixels;
 * the grid of a 1920×1200 frame is still only 9000 bits. ZRLE re-tiles each rectangle at 64×64 itself.
 */
final class TileGrid {
    static final int TILE = 16;
    /** RFB's rectangle count is a u16 (RFC 6143 §7.6.1). */
    static final int MAX_RECTANGLES = 65535;

    private final int width;
    private final int height;
    private final int columns;
    private final int rows;
    private final BitSet dirty;

    TileGrid(int width, int height) {
        this.width = width;
        this.height = height;
        this.columns = (width + TILE - 1) / TILE;
        this.rows = (height + TILE - 1) / TILE;
        this.dirty = new BitSet(columns * rows);
    }

    int width() {
        return width;
    }

    int height() {
        return height;
    }

    int columns() {
        return columns;
    }

    int rows() {
        return rows;
    }

    void mark(int column, int row) {
        dirty.set(row * columns + column);
    }

    void markAll() {
        dirty.set(0, columns * rows);
    }

    boolean isDirty(int column, int row) {
        return dirty.get(row * columns + column);
    }

    boolean isEmpty() {
        return dirty.isEmpty();
    }

    int dirtyCount() {
        return dirty.cardinality();
    }

    /** Adds {@code other}'s dirty tiles; both grids must be of the same size. */
    void or(TileGrid other) {
        if (other.width != width || other.height != height) {
            throw new IllegalArgumentException("grid sizes differ");
        }
        dirty.or(other.dirty);
    }

    /** The frame area of a tile, clipped to the frame. */
    Rect tileRect(int column, int row) {
        int x = column * TILE;
        int y = row * TILE;
        return new Rect(x, y, Math.min(TILE, width - x), Math.min(TILE, height - y));
    }

    /** Marks clean every tile whose (frame-clipped) area lies wholly inside {@code region}. */
    void clearInside(Rect region) {
        Rect r = region.intersect(new Rect(0, 0, width, height));
        if (r.isEmpty()) {
            return;
        }
        for (int row = r.y() / TILE; row <= (r.bottom() - 1) / TILE; row++) {
            for (int column = r.x() / TILE; column <= (r.right() - 1) / TILE; column++) {
                if (r.contains(tileRect(column, row))) {
                    dirty.clear(row * columns + column);
                }
            }
        }
    }

    /**
     * Takes the dirty tiles that touch {@code region}: returns them as rectangles of whole tiles (horizontal runs
     * of a row merged, and runs of equal extent in consecutive rows merged into one) and marks them clean. Whole
     * tiles may reach outside the region; RFB lets a server update more than was asked.
     */
    List<Rect> takeRuns(Rect region) {
        Rect r = region.intersect(new Rect(0, 0, width, height));
        List<Rect> out = new ArrayList<>();
        if (r.isEmpty() || dirty.isEmpty()) {
            return out;
        }
        int c0 = r.x() / TILE;
        int c1 = (r.right() - 1) / TILE;
        int r0 = r.y() / TILE;
        int r1 = (r.bottom() - 1) / TILE;
        // Runs still open for merging with the next row: [startColumn, endColumn) and index into out.
        List<int[]> open = new ArrayList<>();
        for (int row = r0; row <= r1; row++) {
            List<int[]> next = new ArrayList<>();
            int scan = 0; // both rows' runs are in column order: one pass over the row above
            int base = row * columns;
            int column = dirty.nextSetBit(base + c0) - base;
            while (column >= c0 && column <= c1) {
                int end = dirty.nextClearBit(base + column) - base;
                end = Math.min(end, c1 + 1);
                dirty.clear(base + column, base + end);
                while (scan < open.size() && open.get(scan)[0] < column) {
                    scan++;
                }
                int[] above = scan < open.size() && open.get(scan)[0] == column && open.get(scan)[1] == end
                        ? open.get(scan) : null;
                int y = row * TILE;
                int h = Math.min(TILE, height - y);
                if (above != null) {
                    Rect a = out.get(above[2]);
                    out.set(above[2], new Rect(a.x(), a.y(), a.width(), a.height() + h));
                    next.add(above);
                } else {
                    int x = column * TILE;
                    out.add(new Rect(x, y, Math.min(end * TILE, width) - x, h));
                    next.add(new int[] {column, end, out.size() - 1});
                }
                int following = dirty.nextSetBit(base + end);
                column = following < 0 ? -1 : following - base;
            }
            open = next;
        }
        if (out.size() > MAX_RECTANGLES) {
            return boundingRows(out); // a checkerboard of dirty tiles on a huge frame
        }
        return out;
    }

    /** One rectangle per tile row spanning all of that row's rectangles: at most 4096 rows. */
    private List<Rect> boundingRows(List<Rect> rects) {
        Rect[] perRow = new Rect[rows];
        for (Rect rect : rects) {
            for (int row = rect.y() / TILE; row <= (rect.bottom() - 1) / TILE; row++) {
                Rect band = rect.intersect(new Rect(0, row * TILE, width, TILE));
                perRow[row] = perRow[row] == null ? band : perRow[row].union(band);
            }
        }
        List<Rect> out = new ArrayList<>();
        for (Rect band : perRow) {
            if (band != null) {
                out.add(band);
            }
        }
        return out;
    }
}
