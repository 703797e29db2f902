package io.stubdm.backends.vnc;

import io.stubdm.devices.vga.VgaRenderer.Frame;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A console whose picture the test sets and which records the input it gets; thread-safe. */
final class FakeConsole implements VncConsole {
    record Key(int code, boolean down) {}

    record Pointer(int dx, int dy, int dz, int buttons) {}

    private int width;
    private int height;
    private int[] pixels;
    private final List<Key> keys = new ArrayList<>();
    private final List<Pointer> pointers = new ArrayList<>();
    private int captures;
    private RuntimeException captureFailure;

    FakeConsole(int width, int height, int fill) {
        setFrame(width, height, fill);
    }

    synchronized void setFrame(int w, int h, int fill) {
        width = w;
        height = h;
        pixels = new int[w * h];
        Arrays.fill(pixels, fill);
    }

    synchronized void fillRect(int x, int y, int w, int h, int rgb) {
        for (int yy = y; yy < y + h; yy++) {
            Arrays.fill(pixels, yy * width + x, yy * width + x + w, rgb);
        }
    }

    synchronized void setPixel(int x, int y, int rgb) {
        pixels[y * width + x] = rgb;
    }

    synchronized int[] pixels() {
        return pixels.clone();
    }

    synchronized int width() {
        return width;
    }

    synchronized int height() {
        return height;
    }

    synchronized int captures() {
        return captures;
    }

    /** Makes capture() throw this (null: work again). */
    synchronized void failCaptures(RuntimeException e) {
        captureFailure = e;
    }

    @Override
    public synchronized Frame capture() {
        captures++;
        if (captureFailure != null) {
            throw captureFailure;
        }
        return new Frame(width, height, pixels.clone());
    }

    @Override
    public synchronized void key(int set2Code, boolean down) {
        keys.add(new Key(set2Code, down));
        notifyAll();
    }

    @Override
    public synchronized void pointer(int dx, int dy, int dz, int buttons) {
        pointers.add(new Pointer(dx, dy, dz, buttons));
        notifyAll();
    }

    synchronized List<Key> keys() {
        return List.copyOf(keys);
    }

    synchronized List<Pointer> pointers() {
        return List.copyOf(pointers);
    }

    synchronized void clearInput() {
        keys.clear();
        pointers.clear();
    }

    /** The first {@code n} key events, waiting (bounded) for them to arrive from another thread. */
    synchronized List<Key> awaitKeys(int n, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (keys.size() < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("only " + keys.size() + " of " + n + " key events arrived: " + keys);
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return List.copyOf(keys.subList(0, n));
    }

    /** Key events of typing: the codes pressed, in order (press events only). */
    static List<Integer> presses(List<Key> keys) {
        List<Integer> out = new ArrayList<>();
        for (Key k : keys) {
            if (k.down()) {
                out.add(k.code());
            }
        }
        return out;
    }
}
