package io.stubdm.hypervisor;

import io.stubdm.hypervisor.ForeignMemory.ForeignMapping;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * Guest memory reached through foreign mappings, as QEMU's xen-mapcache does it: RAM is mapped lazily in 1 MiB
 * buckets (bucket i covers {@code [i << 20, (i + 1) << 20)}), each mapped whole on first touch and kept until
 * evicted or {@link #invalidate() invalidated}. Pages Xen would not map are holes.
 *
 * <p>At most {@code maxBuckets} buckets stay mapped; past that the least recently used bucket no {@link GuestRange}
 * holds is unmapped, and when every bucket is held the cache grows past the bound rather than fail an access.
 *
 * <p>One lock guards the cache and covers the copies too: a copy outside it would have to pin and unpin buckets
 * around every access, and one racing an unmap would touch memory that is gone rather than throw.
 */
public final class MapCacheGuestMemory implements GuestMemory {

    /** 4096 buckets of 1 MiB: 4 GiB of guest RAM mapped at once. */
    public static final int DEFAULT_MAX_BUCKETS = 4096;

    private static final int PAGE_SHIFT = 12;
    private static final int BUCKET_SHIFT = 20;
    private static final long BUCKET_SIZE = 1L << BUCKET_SHIFT;
    private static final int PAGES_PER_BUCKET = 1 << (BUCKET_SHIFT - PAGE_SHIFT);

    private final ForeignMemory foreign;
    private final int maxBuckets;
    private final Object lock = new Object();

    // Everything below is guarded by lock.
    private final Map<Long, Bucket> buckets = new HashMap<>();
    /** Devices touch the same bucket over and over; this saves boxing a key and a hash lookup each time. */
    private Bucket lastBucket;
    private long useClock;
    private int mappedBuckets;
    private long mapCalls;

    public MapCacheGuestMemory(ForeignMemory foreign) {
        this(foreign, DEFAULT_MAX_BUCKETS);
    }

    public MapCacheGuestMemory(ForeignMemory foreign, int maxBuckets) {
        if (maxBuckets < 1) {
            throw new IllegalArgumentException("the map cache needs room for a bucket, not " + maxBuckets);
        }
        this.foreign = foreign;
        this.maxBuckets = maxBuckets;
    }

    /** Buckets mapped right now, counting invalidated ones a {@link GuestRange} still holds. */
    public int mappedBuckets() {
        synchronized (lock) {
            return mappedBuckets;
        }
    }

    /** Calls to {@link ForeignMemory#mapPages} so far: one per bucket mapped plus one per cross-bucket {@link #map}. */
    public long mapCalls() {
        synchronized (lock) {
            return mapCalls;
        }
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
        long index = gpa >>> BUCKET_SHIFT;
        if (index == (gpa + size - 1) >>> BUCKET_SHIFT) {
            synchronized (lock) {
                Bucket bucket = bucket(index, gpa, size);
                bucket.requireRam(gpa, gpa + size, gpa, size);
                return ByteValues.get(bucket.buffer, bucket.offset(gpa), size);
            }
        }
        ByteBuffer scratch = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        read(gpa, scratch.limit(size));
        return scratch.limit(Long.BYTES).getLong(0);
    }

    @Override
    public void writeValue(long gpa, int size, long value) {
        ByteValues.checkSize(size);
        GuestMemory.checkRange(gpa, size);
        long index = gpa >>> BUCKET_SHIFT;
        if (index == (gpa + size - 1) >>> BUCKET_SHIFT) {
            synchronized (lock) {
                Bucket bucket = bucket(index, gpa, size);
                bucket.requireRam(gpa, gpa + size, gpa, size);
                ByteValues.put(bucket.buffer, bucket.offset(gpa), size, value);
                return;
            }
        }
        ByteBuffer scratch = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
        write(gpa, scratch.limit(size));
    }

    @Override
    public void copy(long dstGpa, long srcGpa, long length) {
        GuestMemory.checkRange(dstGpa, length);
        GuestMemory.checkRange(srcGpa, length);
        synchronized (lock) {
            // Both ranges are checked whole first so that a hole anywhere moves no byte.
            requireRam(srcGpa, length);
            requireRam(dstGpa, length);
            GuestMemory.super.copy(dstGpa, srcGpa, length);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>A range inside one bucket is a slice of it and keeps the bucket mapped until closed; a range across
     * buckets gets a mapping of its own pages.
     */
    @Override
    public GuestRange map(long gpa, int length) {
        GuestMemory.checkRange(gpa, length);
        if (length == 0) {
            return new Range(gpa, ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN), null, null);
        }
        long index = gpa >>> BUCKET_SHIFT;
        synchronized (lock) {
            if (index == (gpa + length - 1) >>> BUCKET_SHIFT) {
                Bucket bucket = bucket(index, gpa, length);
                bucket.requireRam(gpa, gpa + length, gpa, length);
                bucket.references++;
                ByteBuffer slice = bucket.buffer.slice(bucket.offset(gpa), length).order(ByteOrder.LITTLE_ENDIAN);
                return new Range(gpa, slice, bucket, null);
            }
            long firstGfn = gpa >>> PAGE_SHIFT;
            int count = (int) (((gpa + length - 1) >>> PAGE_SHIFT) - firstGfn + 1);
            int[] errors = new int[count];
            ForeignMapping pages = mapPages(firstGfn, count, errors, gpa, length);
            for (int i = 0; i < count; i++) {
                if (errors[i] != 0) {
                    pages.close();
                    throw notRam(gpa, length, firstGfn + i, errors[i]);
                }
            }
            ByteBuffer slice = pages.buffer().slice((int) (gpa & ((1 << PAGE_SHIFT) - 1)), length)
                    .order(ByteOrder.LITTLE_ENDIAN);
            return new Range(gpa, slice, null, pages);
        }
    }

    @Override
    public boolean isRam(long gpa, long length) {
        if (gpa < 0 || length < 0 || gpa + length < gpa) {
            return false;
        }
        synchronized (lock) {
            try {
                requireRam(gpa, length);
                return true;
            } catch (GuestMemoryException e) {
                return false;
            }
        }
    }

    @Override
    public void invalidate() {
        synchronized (lock) {
            for (Bucket bucket : buckets.values()) {
                bucket.invalidated = true;
                if (bucket.references == 0) {
                    unmap(bucket);
                }
            }
            buckets.clear();
            lastBucket = null;
        }
    }

    private void transfer(long gpa, ByteBuffer data, boolean toGuest) {
        int length = data.remaining();
        GuestMemory.checkRange(gpa, length);
        if (length == 0) {
            return;
        }
        long first = gpa >>> BUCKET_SHIFT;
        long last = (gpa + length - 1) >>> BUCKET_SHIFT;
        synchronized (lock) {
            if (first == last) {
                Bucket bucket = bucket(first, gpa, length);
                bucket.requireRam(gpa, gpa + length, gpa, length);
                move(bucket, gpa, data, length, toGuest);
                return;
            }
            // Held until the copy is done, so that mapping a later bucket cannot evict an earlier one.
            Bucket[] pinned = new Bucket[(int) (last - first + 1)];
            try {
                for (int i = 0; i < pinned.length; i++) {
                    Bucket bucket = bucket(first + i, gpa, length);
                    bucket.references++;
                    pinned[i] = bucket;
                    bucket.requireRam(Math.max(gpa, bucket.base()), Math.min(gpa + length, bucket.end()), gpa, length);
                }
                long pos = gpa;
                for (Bucket bucket : pinned) {
                    int n = (int) Math.min(bucket.end() - pos, data.remaining());
                    move(bucket, pos, data, n, toGuest);
                    pos += n;
                }
            } finally {
                for (Bucket bucket : pinned) {
                    if (bucket != null) {
                        release(bucket);
                    }
                }
            }
        }
    }

    /** Moves {@code n} bytes between {@code data} and the bucket at {@code gpa}, advancing {@code data}. */
    private static void move(Bucket bucket, long gpa, ByteBuffer data, int n, boolean toGuest) {
        int at = data.position();
        if (toGuest) {
            bucket.buffer.put(bucket.offset(gpa), data, at, n);
        } else {
            data.put(at, bucket.buffer, bucket.offset(gpa), n);
        }
        data.position(at + n);
    }

    /** Throws unless all of a valid range is RAM; maps the buckets it needs to find out. Lock held. */
    private void requireRam(long gpa, long length) {
        for (long pos = gpa; pos < gpa + length; ) {
            Bucket bucket = bucket(pos >>> BUCKET_SHIFT, gpa, length);
            long end = Math.min(gpa + length, bucket.end());
            bucket.requireRam(pos, end, gpa, length);
            pos = end;
        }
    }

    /** The bucket with this index, mapped if need be; {@code gpa} and {@code length} name the access. Lock held. */
    private Bucket bucket(long index, long gpa, long length) {
        Bucket bucket = lastBucket;
        if (bucket == null || bucket.index != index) {
            bucket = buckets.get(index);
            if (bucket == null) {
                bucket = mapBucket(index, gpa, length);
            }
            lastBucket = bucket;
        }
        bucket.lastUse = ++useClock;
        return bucket;
    }

    private Bucket mapBucket(long index, long gpa, long length) {
        int[] errors = new int[PAGES_PER_BUCKET];
        ForeignMapping mapping = mapPages(index << (BUCKET_SHIFT - PAGE_SHIFT), PAGES_PER_BUCKET, errors, gpa, length);
        // Made room only now, so that a mapping that fails evicts nothing.
        shrinkTo(maxBuckets - 1);
        Bucket bucket = new Bucket(index, mapping, errors);
        buckets.put(index, bucket);
        mappedBuckets++;
        return bucket;
    }

    private ForeignMapping mapPages(long firstGfn, int count, int[] errors, long gpa, long length) {
        mapCalls++;
        try {
            return foreign.mapPages(firstGfn, count, errors);
        } catch (XenException e) {
            GuestMemoryException failure = new GuestMemoryException(gpa, length, "could not be mapped: " + e.getMessage());
            failure.initCause(e);
            throw failure;
        }
    }

    /** Drops a reference a range or a multi-bucket access held. Lock held. */
    private void release(Bucket bucket) {
        if (--bucket.references > 0) {
            return;
        }
        if (bucket.invalidated) {
            unmap(bucket);
        } else {
            // The bucket may have been what kept the cache over its bound.
            shrinkTo(maxBuckets);
        }
    }

    /** Unmaps least recently used, unreferenced buckets until at most {@code limit} are cached or none can go. */
    private void shrinkTo(int limit) {
        while (buckets.size() > limit) {
            Bucket victim = null;
            for (Bucket bucket : buckets.values()) {
                if (bucket.references == 0 && (victim == null || bucket.lastUse < victim.lastUse)) {
                    victim = bucket;
                }
            }
            if (victim == null) {
                return; // every bucket is held by a range: going over the bound beats failing the access
            }
            buckets.remove(victim.index);
            if (lastBucket == victim) {
                lastBucket = null;
            }
            unmap(victim);
        }
    }

    private void unmap(Bucket bucket) {
        bucket.mapping.close();
        mappedBuckets--;
    }

    private static GuestMemoryException notRam(long gpa, long length, long gfn, int errno) {
        return new GuestMemoryException(gpa, length,
                String.format("is not RAM: gfn 0x%x would not map (%s)", gfn, XenException.errnoName(errno)));
    }

    /** One mapped megabyte of guest-physical address space. */
    private static final class Bucket {
        final long index;
        final ForeignMapping mapping;
        final ByteBuffer buffer;
        /** The errno of each page, or null when every page mapped (the common case, checked for free). */
        final int[] errors;
        /** Open ranges and multi-bucket accesses in progress that use the buffer; only at 0 may it be unmapped. */
        int references;
        long lastUse;
        /** Gone from the lookup table, so the last reference to go unmaps it. */
        boolean invalidated;

        Bucket(long index, ForeignMapping mapping, int[] errors) {
            this.index = index;
            this.mapping = mapping;
            this.buffer = mapping.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            boolean anyHole = false;
            for (int errno : errors) {
                anyHole |= errno != 0;
            }
            this.errors = anyHole ? errors : null;
        }

        long base() {
            return index << BUCKET_SHIFT;
        }

        long end() {
            return base() + BUCKET_SIZE;
        }

        int offset(long gpa) {
            return (int) (gpa - base());
        }

        /** Throws if a page of {@code [from, to)}, inside this bucket, is a hole; {@code gpa, length} name the access. */
        void requireRam(long from, long to, long gpa, long length) {
            if (errors == null) {
                return;
            }
            for (int page = offset(from) >>> PAGE_SHIFT; page <= (offset(to - 1) >>> PAGE_SHIFT); page++) {
                if (errors[page] != 0) {
                    throw notRam(gpa, length, (base() >>> PAGE_SHIFT) + page, errors[page]);
                }
            }
        }
    }

    private final class Range implements GuestRange {
        private final long address;
        private final ByteBuffer buffer;
        /** The bucket the buffer is a slice of, or null. */
        private final Bucket bucket;
        /** The range's own mapping, for a range across buckets, or null. */
        private final ForeignMapping pages;
        private boolean closed;

        Range(long address, ByteBuffer buffer, Bucket bucket, ForeignMapping pages) {
            this.address = address;
            this.buffer = buffer;
            this.bucket = bucket;
            this.pages = pages;
        }

        @Override
        public long address() {
            return address;
        }

        @Override
        public ByteBuffer buffer() {
            return buffer;
        }

        @Override
        public void close() {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                closed = true;
                if (bucket != null) {
                    release(bucket);
                }
                if (pages != null) {
                    pages.close();
                }
            }
        }
    }
}
