package io.stubdm.hypervisor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Guest memory held in plain direct buffers, one per RAM region, with every other address a hole: what device unit
 * tests run against, as rust-vmm's {@code GuestMemoryMmap} is for its devices.
 *
 * <p>A region larger than a {@link ByteBuffer} can index is backed by several buffers. An access may span regions
 * (or buffers) that touch, except {@link #map}, which has to hand out one buffer.
 */
public final class PlainGuestMemory implements GuestMemory {

    /** Where a Xen HVM guest's RAM below 4 GiB ends; the MMIO hole for PCI BARs, the APICs and the flash follows. */
    public static final long XEN_LOW_RAM_END = 0xF000_0000L;
    /** The legacy VGA window, where the guest has no RAM. */
    public static final long VGA_HOLE_START = 0xA_0000L;
    public static final long VGA_HOLE_END = 0xC_0000L;

    private static final long FOUR_GIB = 1L << 32;
    /** ByteBuffer indexes are ints; 1 GiB buffers keep offsets well inside them. */
    private static final long MAX_BUFFER_BYTES = 1L << 30;

    /** A range of guest-physical addresses that is RAM. */
    public record Region(long base, long size) {
        public Region {
            if (base < 0 || size <= 0 || base + size < base) {
                throw new IllegalArgumentException(String.format("bad RAM region base 0x%x size 0x%x", base, size));
            }
        }

        public long end() {
            return base + size;
        }
    }

    private final List<Region> regions;
    // Parallel arrays sorted by start, so that finding the buffer of an address is a binary search that allocates
    // nothing.
    private final long[] starts;
    private final long[] ends;
    private final ByteBuffer[] buffers;
    private final AtomicLong invalidations = new AtomicLong();

    /** Zero-filled RAM in {@code regions}, which must not overlap. */
    public PlainGuestMemory(List<Region> regions) {
        this(regions, MAX_BUFFER_BYTES);
    }

    /** As above, with each buffer at most {@code maxBufferBytes}: lets tests cross buffers without gigabytes. */
    PlainGuestMemory(List<Region> regions, long maxBufferBytes) {
        List<Region> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(Region::base));
        int bufferCount = 0;
        for (int i = 0; i < sorted.size(); i++) {
            Region region = sorted.get(i);
            if (i > 0 && region.base() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("RAM regions " + sorted.get(i - 1) + " and " + region + " overlap");
            }
            bufferCount += (int) ((region.size() + maxBufferBytes - 1) / maxBufferBytes);
        }
        this.regions = List.copyOf(sorted);
        starts = new long[bufferCount];
        ends = new long[bufferCount];
        buffers = new ByteBuffer[bufferCount];
        int next = 0;
        for (Region region : sorted) {
            for (long start = region.base(); start < region.end(); start += maxBufferBytes) {
                long end = Math.min(region.end(), start + maxBufferBytes);
                starts[next] = start;
                ends[next] = end;
                buffers[next] = ByteBuffer.allocateDirect((int) (end - start)).order(ByteOrder.LITTLE_ENDIAN);
                next++;
            }
        }
    }

    /** One region of RAM. */
    public static PlainGuestMemory of(long base, int size) {
        return new PlainGuestMemory(List.of(new Region(base, size)));
    }

    /** The RAM of a Xen HVM guest given {@code ramBytes}: see {@link #xenHvmRegions(long)}. */
    public static PlainGuestMemory xenHvmLayout(long ramBytes) {
        return new PlainGuestMemory(xenHvmRegions(ramBytes));
    }

    /**
     * Where a Xen HVM guest given {@code ramBytes} has RAM: below the VGA window, from its end up to the MMIO hole
     * at {@link #XEN_LOW_RAM_END}, and whatever does not fit below that from 4 GiB up.
     */
    public static List<Region> xenHvmRegions(long ramBytes) {
        if (ramBytes <= 0) {
            throw new IllegalArgumentException("guest RAM size must be positive: " + ramBytes);
        }
        List<Region> layout = new ArrayList<>();
        layout.add(new Region(0, Math.min(ramBytes, VGA_HOLE_START)));
        long lowEnd = Math.min(ramBytes, XEN_LOW_RAM_END);
        if (lowEnd > VGA_HOLE_END) {
            layout.add(new Region(VGA_HOLE_END, lowEnd - VGA_HOLE_END));
        }
        if (ramBytes > XEN_LOW_RAM_END) {
            layout.add(new Region(FOUR_GIB, ramBytes - XEN_LOW_RAM_END));
        }
        return List.copyOf(layout);
    }

    /** The RAM regions, by address. */
    public List<Region> regions() {
        return regions;
    }

    /** How often {@link #invalidate()} was called: plain memory has nothing cached to drop. */
    public long invalidations() {
        return invalidations.get();
    }

    @Override
    public void read(long gpa, ByteBuffer dst) {
        transfer(gpa, dst, false);
    }

    @Override
    public void write(long gpa, ByteBuffer src) {
        transfer(gpa, src, true);
    }

    @Override
    public long readValue(long gpa, int size) {
        ByteValues.checkSize(size);
        GuestMemory.checkRange(gpa, size);
        int i = bufferIndex(gpa);
        if (i >= 0 && gpa + size <= ends[i]) {
            return ByteValues.get(buffers[i], (int) (gpa - starts[i]), size);
        }
        ByteBuffer scratch = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        read(gpa, scratch.limit(size));
        return scratch.limit(Long.BYTES).getLong(0);
    }

    @Override
    public void writeValue(long gpa, int size, long value) {
        ByteValues.checkSize(size);
        GuestMemory.checkRange(gpa, size);
        int i = bufferIndex(gpa);
        if (i >= 0 && gpa + size <= ends[i]) {
            ByteValues.put(buffers[i], (int) (gpa - starts[i]), size, value);
            return;
        }
        ByteBuffer scratch = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
        write(gpa, scratch.limit(size));
    }

    @Override
    public void copy(long dstGpa, long srcGpa, long length) {
        requireRam(srcGpa, length);
        requireRam(dstGpa, length);
        if (length == 0) {
            return;
        }
        int d = bufferIndex(dstGpa);
        int s = bufferIndex(srcGpa);
        if (dstGpa + length <= ends[d] && srcGpa + length <= ends[s]) {
            // An absolute bulk put between direct buffers is a memmove, also when both are the same buffer.
            buffers[d].put((int) (dstGpa - starts[d]), buffers[s], (int) (srcGpa - starts[s]), (int) length);
        } else {
            GuestMemory.super.copy(dstGpa, srcGpa, length);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Throws {@link GuestMemoryException} for a range that is RAM but lies in two buffers (regions that touch,
     * or a region split at 1 GiB), as no one buffer can share it with the guest.
     */
    @Override
    public GuestRange map(long gpa, int length) {
        requireRam(gpa, length);
        if (length == 0) {
            return new Range(gpa, ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN));
        }
        int i = bufferIndex(gpa);
        if (gpa + length > ends[i]) {
            throw new GuestMemoryException(gpa, length,
                    String.format("crosses from one RAM buffer to the next at 0x%x, so it cannot be mapped whole", ends[i]));
        }
        return new Range(gpa, buffers[i].slice((int) (gpa - starts[i]), length).order(ByteOrder.LITTLE_ENDIAN));
    }

    @Override
    public boolean isRam(long gpa, long length) {
        return gpa >= 0 && length >= 0 && gpa + length >= gpa && firstNonRam(gpa, length) < 0;
    }

    @Override
    public void invalidate() {
        invalidations.incrementAndGet();
    }

    private void transfer(long gpa, ByteBuffer data, boolean toGuest) {
        requireRam(gpa, data.remaining());
        int at = data.position();
        long pos = gpa;
        while (at < data.limit()) {
            int i = bufferIndex(pos);
            int offset = (int) (pos - starts[i]);
            int n = (int) Math.min(data.limit() - at, ends[i] - pos);
            if (toGuest) {
                buffers[i].put(offset, data, at, n);
            } else {
                data.put(at, buffers[i], offset, n);
            }
            at += n;
            pos += n;
        }
        data.position(at);
    }

    /** Throws unless all of {@code [gpa, gpa + length)} is RAM, so that a failing access moves no byte. */
    private void requireRam(long gpa, long length) {
        GuestMemory.checkRange(gpa, length);
        long hole = firstNonRam(gpa, length);
        if (hole >= 0) {
            throw new GuestMemoryException(gpa, length, String.format("is not RAM at 0x%x", hole));
        }
    }

    /** The first address of a valid range that is not RAM, or -1. */
    private long firstNonRam(long gpa, long length) {
        long end = gpa + length;
        for (long pos = gpa; pos < end; ) {
            int i = bufferIndex(pos);
            if (i < 0) {
                return pos;
            }
            pos = ends[i];
        }
        return -1;
    }

    /** The buffer holding {@code gpa}, or -1 for a hole. */
    private int bufferIndex(long gpa) {
        int i = Arrays.binarySearch(starts, gpa);
        if (i < 0) {
            i = -i - 2; // the last buffer starting below gpa
        }
        return i >= 0 && gpa < ends[i] ? i : -1;
    }

    /** Plain memory stays put, so a mapping has nothing to release. */
    private record Range(long address, ByteBuffer buffer) implements GuestRange {
        @Override
        public void close() {
        }
    }
}
