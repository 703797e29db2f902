package io.stubdm.devices.e1000;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The ones'-complement sum of RFC 1071 over byte arrays, as the checksum offloads compute it: 32-bit big-endian
 * words are summed into a long (the 16-bit fold of that equals the sum of 16-bit words), an odd last byte is
 * padded with zero.
 */
final class InternetChecksum {
    private static final VarHandle INT_BE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    private InternetChecksum() {}

    /** {@code sum} plus the bytes {@code [from, to)} of {@code b} taken as 16-bit words starting at {@code from}. */
    static long add(long sum, byte[] b, int from, int to) {
        int i = from;
        for (; i + 4 <= to; i += 4) {
            sum += (int) INT_BE.get(b, i) & 0xffff_ffffL;
        }
        if (i + 2 <= to) {
            sum += (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
            i += 2;
        }
        if (i < to) {
            sum += (b[i] & 0xff) << 8;
        }
        return sum;
    }

    /** Folds the carries back in: the 16-bit ones'-complement sum. */
    static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }

    /**
     * The checksum to insert: the complement of the folded sum, with 0 sent as 0xFFFF (the same number in
     * ones' complement) because a zero UDP checksum means "none" (RFC 768); QEMU's {@code net_checksum_finish_nozero}.
     */
    static int finish(long sum) {
        int c = ~fold(sum) & 0xffff;
        return c == 0 ? 0xffff : c;
    }
}
