package io.stubdm.hypervisor;

import java.nio.ByteBuffer;

/**
 * 1-, 2-, 4- and 8-byte little-endian values in buffers, the unit of every guest access (port and MMIO
 * widths, string-I/O items, DMA words). Buffers are expected in little-endian order.
 */
public final class ByteValues {
    private ByteValues() {}

    public static void checkSize(int size) {
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("value size must be 1, 2, 4 or 8 bytes, not " + size);
        }
    }

    /** The low {@code size} bytes set: 0xFF for 1, 0xFFFF for 2, ..., all ones for 8 and more. */
    public static long mask(int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    /** Reads a value of a size {@link #checkSize} lets through, zero-extended. */
    public static long get(ByteBuffer buffer, int index, int size) {
        switch (size) {
            case 1: return buffer.get(index) & 0xffL;
            case 2: return buffer.getShort(index) & 0xffffL;
            case 4: return buffer.getInt(index) & 0xffff_ffffL;
            default: return buffer.getLong(index);
        }
    }

    /** Writes the low {@code size} bytes (a size {@link #checkSize} lets through) of {@code value}. */
    public static void put(ByteBuffer buffer, int index, int size, long value) {
        switch (size) {
            case 1: buffer.put(index, (byte) value); break;
            case 2: buffer.putShort(index, (short) value); break;
            case 4: buffer.putInt(index, (int) value); break;
            default: buffer.putLong(index, value); break;
        }
    }
}
