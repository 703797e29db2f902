package io.stubdm.devices.i8042;

/** A bounded FIFO of bytes, without boxing: PS/2 devices move every key and mouse packet through one. */
final class ByteQueue {
    private final byte[] ring;
    private int head;
    private int count;

    ByteQueue(int capacity) {
        ring = new byte[capacity];
    }

    boolean isEmpty() {
        return count == 0;
    }

    int free() {
        return ring.length - count;
    }

    /** Appends {@code b}; the caller has checked {@link #free()}. */
    void add(int b) {
        ring[(head + count) % ring.length] = (byte) b;
        count++;
    }

    /** Removes and returns the oldest byte; the caller has checked {@link #isEmpty()}. */
    int take() {
        int b = ring[head] & 0xff;
        head = (head + 1) % ring.length;
        count--;
        return b;
    }

    void clear() {
        head = 0;
        count = 0;
    }
}
