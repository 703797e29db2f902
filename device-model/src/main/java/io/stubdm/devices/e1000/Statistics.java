package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

/**
 * The statistics registers (13.7), kept in the device's register file: counters stick at all-ones rather than
 * wrap, and every one clears when read. The 64-bit octet counters clear when their high half is read, so a
 * driver reading low then high gets one consistent value.
 */
final class Statistics {
    private final int[] regs;

    Statistics(int[] regs) {
        this.regs = regs;
    }

    static boolean isStatistic(int offset) {
        return offset >= STATISTICS_FIRST && offset <= STATISTICS_LAST;
    }

    void increment(int reg) {
        int i = reg >> 2;
        if (regs[i] != -1) {
            regs[i]++;
        }
    }

    /** Adds to a 64-bit counter whose low half is {@code lowReg}. */
    void add64(int lowReg, long amount) {
        int i = lowReg >> 2;
        long old = (regs[i] & 0xffff_ffffL) | (long) regs[i + 1] << 32;
        long sum = old + amount;
        if (Long.compareUnsigned(sum, old) < 0) {
            sum = -1;
        }
        regs[i] = (int) sum;
        regs[i + 1] = (int) (sum >>> 32);
    }

    /** Counts a frame of {@code bytes} (FCS included) in the size histogram starting at PRC64 or PTC64. */
    void countSize(int sixtyFourReg, int bytes) {
        int bucket;
        if (bytes > 1023) {
            bucket = 5;
        } else if (bytes > 511) {
            bucket = 4;
        } else if (bytes > 255) {
            bucket = 3;
        } else if (bytes > 127) {
            bucket = 2;
        } else if (bytes > 64) {
            bucket = 1;
        } else if (bytes == 64) {
            bucket = 0;
        } else {
            return;
        }
        increment(sixtyFourReg + 4 * bucket);
    }

    int read(int offset) {
        int i = offset >> 2;
        int value = regs[i];
        switch (offset) {
            case GORCL, GOTCL, TORL, TOTL:
                break;
            case GORCH, GOTCH, TORH, TOTH:
                regs[i] = 0;
                regs[i - 1] = 0;
                break;
            default:
                regs[i] = 0;
                break;
        }
        return value;
    }
}
