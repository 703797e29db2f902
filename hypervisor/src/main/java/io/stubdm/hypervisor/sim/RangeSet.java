package io.stubdm.hypervisor.sim;

import java.util.Map;
import java.util.TreeMap;

/**
 * Xen's {@code rangeset} as ioreq servers use it: inclusive ranges, adjacent ranges merged, removal of any
 * contained sub-range. Unsigned comparisons are not needed: ports, addresses below 2^63 and SBDFs all fit.
 */
final class RangeSet {
    /** start -> end (inclusive), disjoint and non-adjacent. */
    private final TreeMap<Long, Long> ranges = new TreeMap<>();

    boolean overlaps(long start, long end) {
        Map.Entry<Long, Long> below = ranges.floorEntry(end);
        return below != null && below.getValue() >= start;
    }

    boolean containsRange(long start, long end) {
        Map.Entry<Long, Long> below = ranges.floorEntry(start);
        return below != null && below.getValue() >= end;
    }

    /** Adds a range; the caller has checked it does not overlap (Xen answers EEXIST first). */
    void add(long start, long end) {
        long s = start;
        long e = end;
        Map.Entry<Long, Long> before = ranges.floorEntry(start - 1);
        if (before != null && before.getValue() == start - 1) {
            s = before.getKey();
            ranges.remove(before.getKey());
        }
        Long afterEnd = ranges.get(end + 1);
        if (afterEnd != null) {
            e = afterEnd;
            ranges.remove(end + 1);
        }
        ranges.put(s, e);
    }

    /** Removes a range the caller has checked is contained. */
    void remove(long start, long end) {
        Map.Entry<Long, Long> holder = ranges.floorEntry(start);
        long hs = holder.getKey();
        long he = holder.getValue();
        ranges.remove(hs);
        if (hs < start) {
            ranges.put(hs, start - 1);
        }
        if (he > end) {
            ranges.put(end + 1, he);
        }
    }

    int size() {
        return ranges.size();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        ranges.forEach((s, e) -> sb.append(sb.length() > 1 ? ", " : "").append(String.format("0x%x-0x%x", s, e)));
        return sb.append('}').toString();
    }
}
