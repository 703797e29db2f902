package io.stubdm.backends.vnc;

/** A rectangle of the framebuffer; empty when width or height is 0. */
record Rect(int x, int y, int width, int height) {
    static final Rect EMPTY = new Rect(0, 0, 0, 0);

    Rect {
        if (width < 0 || height < 0) {
            throw new IllegalArgumentException("negative size " + width + "x" + height);
        }
    }

    boolean isEmpty() {
        return width == 0 || height == 0;
    }

    int right() {
        return x + width;
    }

    int bottom() {
        return y + height;
    }

    Rect intersect(Rect o) {
        int x0 = Math.max(x, o.x);
        int y0 = Math.max(y, o.y);
        int x1 = Math.min(right(), o.right());
        int y1 = Math.min(bottom(), o.bottom());
        return x1 <= x0 || y1 <= y0 ? EMPTY : new Rect(x0, y0, x1 - x0, y1 - y0);
    }

    /** The smallest rectangle covering both (an empty one counts as nothing). */
    Rect union(Rect o) {
        if (isEmpty()) {
            return o;
        }
        if (o.isEmpty()) {
            return this;
        }
        int x0 = Math.min(x, o.x);
        int y0 = Math.min(y, o.y);
        return new Rect(x0, y0, Math.max(right(), o.right()) - x0, Math.max(bottom(), o.bottom()) - y0);
    }

    boolean contains(Rect o) {
        return o.x >= x && o.y >= y && o.right() <= right() && o.bottom() <= bottom();
    }
}
