package io.stubdm.backends.vnc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.devices.vga.VgaRenderer.Frame;
import java.util.List;
import org.junit.jupiter.api.Test;

class VncTileGridTest {
    @Test
    void gridCoversPartialTiles() {
        TileGrid g = new TileGrid(100, 70);
        assertEquals(7, g.columns());
        assertEquals(5, g.rows());
        assertEquals(new Rect(96, 64, 4, 6), g.tileRect(6, 4));
    }

    @Test
    void runsMergeHorizontallyThenVertically() {
        TileGrid g = new TileGrid(64, 64);
        g.mark(1, 0);
        g.mark(2, 0);
        g.mark(1, 1);
        g.mark(2, 1);
        g.mark(0, 3);
        g.mark(3, 3);
        assertEquals(List.of(new Rect(16, 0, 32, 32), new Rect(0, 48, 16, 16), new Rect(48, 48, 16, 16)),
                g.takeRuns(new Rect(0, 0, 64, 64)));
        assertTrue(g.isEmpty());
    }

    @Test
    void runsOfDifferentExtentDoNotMerge() {
        TileGrid g = new TileGrid(64, 32);
        g.mark(0, 0);
        g.mark(1, 0);
        g.mark(0, 1);
        assertEquals(List.of(new Rect(0, 0, 32, 16), new Rect(0, 16, 16, 16)), g.takeRuns(new Rect(0, 0, 64, 32)));
    }

    @Test
    void onlyTilesTouchingTheRegionAreTaken() {
        TileGrid g = new TileGrid(64, 64);
        g.markAll();
        assertEquals(List.of(new Rect(16, 16, 16, 16)), g.takeRuns(new Rect(20, 20, 5, 5)));
        assertEquals(15, g.dirtyCount());
        assertEquals(List.of(), g.takeRuns(new Rect(200, 200, 5, 5)));
    }

    @Test
    void clearInsideLeavesPartlyCoveredTiles() {
        TileGrid g = new TileGrid(40, 20);
        g.markAll();
        g.clearInside(new Rect(0, 0, 24, 20)); // tile (0,0) and (0,1) wholly inside, (1,*) partly
        assertFalse(g.isDirty(0, 0));
        assertFalse(g.isDirty(0, 1));
        assertTrue(g.isDirty(1, 0));
        g.clearInside(new Rect(32, 0, 100, 100)); // the right edge tiles (32..40) are inside once clipped
        assertFalse(g.isDirty(2, 0));
        assertFalse(g.isDirty(2, 1));
    }

    @Test
    void checkerboardStaysWithinTheRectangleLimit() {
        TileGrid g = new TileGrid(65535, 8200);
        for (int r = 0; r < g.rows(); r++) {
            for (int c = r % 2; c < g.columns(); c += 2) {
                g.mark(c, r);
            }
        }
        List<Rect> rects = g.takeRuns(new Rect(0, 0, 65535, 8200));
        assertTrue(rects.size() <= TileGrid.MAX_RECTANGLES, rects.size() + " rectangles");
        assertEquals(g.rows(), rects.size());
    }

    @Test
    void shadowFindsChangedTiles() {
        ShadowFrame s = new ShadowFrame();
        int[] p = new int[50 * 40];
        TileGrid first = s.update(new Frame(50, 40, p));
        assertEquals(first.columns() * first.rows(), first.dirtyCount());
        assertTrue(s.update(new Frame(50, 40, p.clone())).isEmpty());
        int[] q = p.clone();
        q[39 * 50 + 49] = 1;
        q[17 * 50 + 16] = 1;
        TileGrid changed = s.update(new Frame(50, 40, q));
        assertEquals(2, changed.dirtyCount());
        assertTrue(changed.isDirty(3, 2));
        assertTrue(changed.isDirty(1, 1));
        // The shadow is a copy: changing the console's array afterwards changes nothing.
        q[0] = 5;
        assertEquals(0, s.pixels()[0]);
        TileGrid resized = s.update(new Frame(20, 20, new int[400]));
        assertEquals(4, resized.dirtyCount());
    }

    @Test
    void badFramesAreRecognised() {
        assertNotNull(ShadowFrame.problem(null));
        assertNotNull(ShadowFrame.problem(new Frame(0, 10, new int[0])));
        assertNotNull(ShadowFrame.problem(new Frame(70000, 1, new int[70000])));
        assertNotNull(ShadowFrame.problem(new Frame(10, 10, new int[99])));
        assertNotNull(ShadowFrame.problem(new Frame(10, 10, null)));
        assertNull(ShadowFrame.problem(new Frame(10, 10, new int[100])));
    }
}
