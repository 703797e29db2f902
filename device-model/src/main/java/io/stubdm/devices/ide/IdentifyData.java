package io.stubdm.devices.ide;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The 256 little-endian words of IDENTIFY (PACKET) DEVICE data (ATA/ATAPI-6). */
final class IdentifyData {
    static final int WORDS = 256;

    private final ByteBuffer data = ByteBuffer.allocate(2 * WORDS).order(ByteOrder.LITTLE_ENDIAN);

    IdentifyData word(int index, int value) {
        data.putShort(2 * index, (short) value);
        return this;
    }

    /** Words {@code index}..{@code index + count - 1} = a value wider than 16 bits, low word first. */
    IdentifyData words(int index, int count, long value) {
        for (int i = 0; i < count; i++) {
            word(index + i, (int) (value >>> (16 * i)));
        }
        return this;
    }

    /**
     * An ATA string: space padded, two characters a word with the first in the high byte, which is
     * why a model read as little-endian words shows swapped pairs.
     */
    IdentifyData string(int index, int words, String text) {
        for (int i = 0; i < 2 * words; i++) {
            char c = i < text.length() ? text.charAt(i) : ' ';
            data.put(2 * index + (i ^ 1), (byte) (c < 0x20 || c > 0x7e ? ' ' : c));
        }
        return this;
    }

    /** A fresh buffer holding the 512 bytes, ready to be read by the host. */
    ByteBuffer toBuffer() {
        ByteBuffer copy = ByteBuffer.allocate(2 * WORDS).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(0, data, 0, 2 * WORDS);
        return copy;
    }
}
