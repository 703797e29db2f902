package io.stubdm.hypervisor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stubdm.hypervisor.GuestMemory.GuestRange;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.Test;

class MapCacheGuestMemoryTest {

    private static final int PAGE = 4096;
    private static final int MIB = 1 << 20;
    /** 4 MiB of guest: buckets 0 to 3 are RAM, bucket 4 on is past the end. */
    private static final int GUEST_PAGES = 1024;
    private static final long HOLE_GFN = 0x105;
    private static final long HOLE = HOLE_GFN * PAGE;

    /**
     * A guest of {@code pages} frames in one direct buffer, with holes that do not map (EFAULT, as privcmd reports
     * them), counting maps and unmaps. Mappings are slices of the guest's memory, so they are coherent as Xen's are.
     *
     * <p>A Java buffer cannot be revoked, so use after unmap is caught other ways: a closed mapping refuses
     * {@link ForeignMapping#buffer()} and a second close; {@link #replaceFrames()} moves the guest to new frames
     * (as after ballooning, which is why Xen sends INVALIDATE) and fills the old ones with poison once no mapping of
     * them is left; and with {@code privateCopies} each mapping is a copy of its pages, written back when unmapped
     * and then poisoned. Either way a stale mapping reads poison and its writes are lost. Private copies are not
     * coherent, so in that mode the fake refuses to map a page twice at once.
     */
    static final class FakeForeignMemory implements ForeignMemory {
        static final byte POISON = (byte) 0xdb;

        private final int pages;
        private final boolean privateCopies;
        private final int capacityPages;
        private final Set<Long> holes = new HashSet<>();
        private final List<FakeMapping> open = new ArrayList<>();
        /** {firstGfn, count} of each mapPages call. */
        final List<List<Long>> calls = new ArrayList<>();
        private Frames frames;
        int unmapCalls;
        /** Thrown by mapPages while set. */
        XenException failure;

        FakeForeignMemory(int pages, long... holeGfns) {
            this(pages, false, holeGfns);
        }

        FakeForeignMemory(int pages, boolean privateCopies, long... holeGfns) {
            this.pages = pages;
            this.privateCopies = privateCopies;
            // Whole buckets, so that every bucket mapping is a slice; past the end, pages do not map anyway.
            this.capacityPages = (pages + 255) & ~255;
            for (long gfn : holeGfns) {
                holes.add(gfn);
            }
            frames = new Frames(ByteBuffer.allocateDirect(capacityPages * PAGE).order(ByteOrder.LITTLE_ENDIAN));
        }

        /** The guest's RAM, as the guest would see it. */
        ByteBuffer memory() {
            return frames.memory;
        }

        int openMappings() {
            return open.size();
        }

        int mapCalls() {
            return calls.size();
        }

        /** The guest's memory now lives in new frames with the same contents. */
        void replaceFrames() {
            Frames old = frames;
            ByteBuffer fresh = ByteBuffer.allocateDirect(old.memory.capacity()).order(ByteOrder.LITTLE_ENDIAN);
            fresh.put(0, old.memory, 0, old.memory.capacity());
            frames = new Frames(fresh);
            old.poisonIfUnmapped();
        }

        @Override
        public ForeignMapping mapPages(long firstGfn, int count, int[] errors) {
            calls.add(List.of(firstGfn, (long) count));
            if (failure != null) {
                throw failure;
            }
            for (int i = 0; i < count; i++) {
                long gfn = firstGfn + i;
                errors[i] = gfn >= pages || holes.contains(gfn) ? XenException.EFAULT : 0;
            }
            ByteBuffer buffer;
            if (firstGfn + count > capacityPages) {
                buffer = ByteBuffer.allocateDirect(count * PAGE); // no page of it maps
            } else if (privateCopies) {
                for (FakeMapping other : open) {
                    if (other.firstGfn < firstGfn + count && firstGfn < other.firstGfn + other.count) {
                        throw new AssertionError("private copies of gfn 0x" + Long.toHexString(firstGfn)
                                + " would not be coherent");
                    }
                }
                buffer = ByteBuffer.allocateDirect(count * PAGE);
                buffer.put(0, frames.memory, (int) firstGfn * PAGE, count * PAGE);
            } else {
                buffer = frames.memory.slice((int) firstGfn * PAGE, count * PAGE);
            }
            FakeMapping mapping = new FakeMapping(frames, firstGfn, count, buffer.order(ByteOrder.LITTLE_ENDIAN));
            open.add(mapping);
            return mapping;
        }

        @Override
        public ForeignMapping mapResource(int type, int id, int firstFrame, int frameCount) {
            throw new UnsupportedOperationException("the map cache maps guest frames only");
        }

        @Override
        public void close() {
        }

        private final class Frames {
            final ByteBuffer memory;
            int mappings;

            Frames(ByteBuffer memory) {
                this.memory = memory;
            }

            void poisonIfUnmapped() {
                if (this != frames && mappings == 0) {
                    poison(memory);
                }
            }
        }

        private static void poison(ByteBuffer memory) {
            for (int i = 0; i < memory.capacity(); i++) {
                memory.put(i, POISON);
            }
        }

        private final class FakeMapping implements ForeignMapping {
            private final Frames owner;
            private final long firstGfn;
            private final int count;
            private final ByteBuffer buffer;
            private boolean closed;

            FakeMapping(Frames owner, long firstGfn, int count, ByteBuffer buffer) {
                this.owner = owner;
                this.firstGfn = firstGfn;
                this.count = count;
                this.buffer = buffer;
                owner.mappings++;
            }

            @Override
            public ByteBuffer buffer() {
                if (closed) {
                    throw new AssertionError("buffer() of an unmapped mapping");
                }
                return buffer;
            }

            @Override
            public void close() {
                if (closed) {
                    throw new AssertionError("mapping unmapped twice");
                }
                closed = true;
                unmapCalls++;
                open.remove(this);
                if (privateCopies && firstGfn + count <= capacityPages) {
                    owner.memory.put((int) firstGfn * PAGE, buffer, 0, count * PAGE);
                    poison(buffer);
                }
                owner.mappings--;
                owner.poisonIfUnmapped();
            }
        }
    }

    private final FakeForeignMemory fake = new FakeForeignMemory(GUEST_PAGES, HOLE_GFN);
    private final MapCacheGuestMemory memory = new MapCacheGuestMemory(fake);

    private static byte[] pattern(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (seed + i * 7 + (i >> 8));
        }
        return bytes;
    }

    private static byte[] read(GuestMemory memory, long gpa, int length) {
        byte[] bytes = new byte[length];
        memory.read(gpa, bytes, 0, length);
        return bytes;
    }

    private byte[] guestBytes(long gpa, int length) {
        byte[] bytes = new byte[length];
        fake.memory().get((int) gpa, bytes);
        return bytes;
    }

    private void putGuestBytes(long gpa, byte[] bytes) {
        fake.memory().put((int) gpa, bytes);
    }

    private static List<Long> bucketCall(long bucket) {
        return List.of(bucket * 256, 256L);
    }

    @Test
    void valuesOfEverySizeAreLittleEndianAndZeroExtended() {
        memory.writeValue(0x1008, 8, 0xf1f2f3f4f5f6f7f8L);

        assertArrayEquals(new byte[] {(byte) 0xf8, (byte) 0xf7, (byte) 0xf6, (byte) 0xf5,
                (byte) 0xf4, (byte) 0xf3, (byte) 0xf2, (byte) 0xf1}, guestBytes(0x1008, 8));
        assertEquals(0xf8L, memory.readValue(0x1008, 1));
        assertEquals(0xf7f8L, memory.readValue(0x1008, 2));
        assertEquals(0xf5f6f7f8L, memory.readValue(0x1008, 4));
        assertEquals(0xf1f2f3f4f5f6f7f8L, memory.readValue(0x1008, 8));
        assertEquals(List.of(bucketCall(0)), fake.calls, "one bucket, mapped once");
    }

    @Test
    void writeValueWritesOnlyTheLowBytes() {
        putGuestBytes(0x2000, pattern(16, 0x40));
        memory.writeValue(0x2002, 1, 0xaabbccddeeff1122L);
        memory.writeValue(0x2004, 2, 0xaabbccddeeff3344L);
        memory.writeValue(0x2008, 4, 0xaabbccdd55667788L);

        byte[] expected = pattern(16, 0x40);
        expected[2] = 0x22;
        expected[4] = 0x44;
        expected[5] = 0x33;
        expected[8] = (byte) 0x88;
        expected[9] = 0x77;
        expected[10] = 0x66;
        expected[11] = 0x55;
        assertArrayEquals(expected, guestBytes(0x2000, 16));
    }

    @Test
    void valueSizesOtherThanOneTwoFourOrEightAreRejected() {
        for (int size : new int[] {-1, 0, 3, 5, 6, 7, 9, 16}) {
            assertThrows(IllegalArgumentException.class, () -> memory.readValue(0x1000, size), "read size " + size);
            assertThrows(IllegalArgumentException.class, () -> memory.writeValue(0x1000, size, -1), "write size " + size);
        }
        assertEquals(0, fake.mapCalls());
    }

    @Test
    void accessesCrossBucketBoundaries() {
        byte[] data = pattern(64, 3);
        memory.write(MIB - 20, data, 0, data.length);
        assertArrayEquals(data, guestBytes(MIB - 20, 64));
        assertArrayEquals(data, read(memory, MIB - 20, 64));

        memory.writeValue(2 * MIB - 3, 8, 0x0102030405060708L);
        assertEquals(0x0102030405060708L, memory.readValue(2 * MIB - 3, 8));
        assertEquals(0x05060708L, memory.readValue(2 * MIB - 3, 4));
        assertEquals(0x04L, memory.readValue(2 * MIB + 1, 1));
        assertArrayEquals(new byte[] {8, 7, 6, 5, 4, 3, 2, 1}, guestBytes(2 * MIB - 3, 8));

        assertEquals(List.of(bucketCall(0), bucketCall(1), bucketCall(2)), fake.calls);
        assertEquals(3, memory.mappedBuckets());
        assertEquals(3, memory.mapCalls());
    }

    @Test
    void anAccessCanSpanMoreBucketsThanTheBound() {
        // Private copies: a bucket evicted before the copy reached it would lose what was written to it.
        FakeForeignMemory copies = new FakeForeignMemory(GUEST_PAGES, true);
        MapCacheGuestMemory small = new MapCacheGuestMemory(copies, 2);
        byte[] data = pattern(3 * MIB + 100, 11);

        small.write(MIB / 2, data, 0, data.length);
        assertEquals(2, small.mappedBuckets(), "back within the bound once the access is done");
        assertEquals(2, copies.openMappings());
        assertArrayEquals(data, read(small, MIB / 2, data.length));
        assertEquals(2, small.mappedBuckets());

        small.invalidate();
        byte[] written = new byte[data.length];
        copies.memory().get(MIB / 2, written);
        assertArrayEquals(data, written);
    }

    @Test
    void holesThrowAndTransferNothing() {
        // From bucket 0 up to the hole in bucket 1.
        byte[] before = pattern(0x6000, 1);
        putGuestBytes(HOLE - 0x6000, before);

        GuestMemoryException e = assertThrows(GuestMemoryException.class,
                () -> memory.write(HOLE - 0x6000, new byte[0x6010], 0, 0x6010));
        assertEquals(HOLE - 0x6000, e.address());
        assertEquals(0x6010, e.length());
        assertTrue(e.getMessage().contains("gfn 0x105"), e.getMessage());
        assertArrayEquals(before, guestBytes(HOLE - 0x6000, 0x6000), "bytes before the hole must be untouched");

        ByteBuffer dst = ByteBuffer.allocate(0x20);
        assertThrows(GuestMemoryException.class, () -> memory.read(HOLE - 0x10, dst));
        assertEquals(0, dst.position());
        assertArrayEquals(new byte[0x20], dst.array(), "bytes before the hole must not have been read");

        assertThrows(GuestMemoryException.class, () -> memory.readValue(HOLE + 0xffc, 4));
        assertThrows(GuestMemoryException.class, () -> memory.writeValue(HOLE - 2, 4, -1));
        assertArrayEquals(new byte[] {before[0x5ffe], before[0x5fff]}, guestBytes(HOLE - 2, 2));
        assertEquals(before[0x5fff] & 0xff, memory.readValue(HOLE - 1, 1));
        memory.readValue(HOLE + PAGE, 8);

        assertFalse(memory.isRam(HOLE - 1, 2));
        assertFalse(memory.isRam(0, 4L * MIB));
        assertTrue(memory.isRam(0, HOLE));
        assertTrue(memory.isRam(HOLE + PAGE, 4L * MIB - HOLE - PAGE));
    }

    @Test
    void addressesPastTheEndNegativeOrWrappingAreRejected() {
        assertThrows(GuestMemoryException.class, () -> memory.readValue(4L * MIB, 1));
        assertThrows(GuestMemoryException.class, () -> memory.writeValue(4L * MIB - 2, 4, 0));
        assertThrows(GuestMemoryException.class, () -> memory.write(4L * MIB - 8, new byte[16], 0, 16));
        assertThrows(GuestMemoryException.class, () -> memory.map(4L * MIB - 8, 16));
        assertFalse(memory.isRam(4L * MIB - 1, 2));
        assertTrue(memory.isRam(4L * MIB - 1, 1));
        int callsForRealAddresses = fake.mapCalls();

        assertThrows(GuestMemoryException.class, () -> memory.readValue(-1, 1));
        assertThrows(GuestMemoryException.class, () -> memory.writeValue(Long.MIN_VALUE, 8, 0));
        assertThrows(GuestMemoryException.class, () -> memory.readValue(Long.MAX_VALUE - 2, 8));
        assertThrows(GuestMemoryException.class, () -> memory.read(Long.MAX_VALUE - 2, ByteBuffer.allocate(8)));
        assertThrows(GuestMemoryException.class, () -> memory.copy(0, Long.MAX_VALUE, 2));
        assertThrows(GuestMemoryException.class, () -> memory.copy(0, 8, -1));
        assertThrows(GuestMemoryException.class, () -> memory.map(-8, 8));
        assertThrows(GuestMemoryException.class, () -> memory.map(0, -1));
        assertFalse(memory.isRam(-1, 1));
        assertFalse(memory.isRam(Long.MAX_VALUE, 2));
        assertEquals(callsForRealAddresses, fake.mapCalls(), "nothing outside the address space is mapped");
    }

    @Test
    void aFailingMapBecomesAGuestMemoryExceptionAndIsRetried() {
        XenException gone = new XenException("privcmd mmapbatch", XenException.ESRCH, "domain gone");
        fake.failure = gone;

        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> memory.readValue(0x3000, 4));
        assertSame(gone, e.getCause());
        assertEquals(0x3000, e.address());
        assertThrows(GuestMemoryException.class, () -> memory.map(MIB - 8, 16));
        assertFalse(memory.isRam(0, 8));
        assertEquals(0, memory.mappedBuckets());

        fake.failure = null;
        memory.writeValue(0x3000, 4, 0x600d);
        assertEquals(0x600d, memory.readValue(0x3000, 4));
        assertEquals(1, memory.mappedBuckets());
    }

    @Test
    void copyIsAMemmoveInBothDirections() {
        byte[] data = pattern(100, 1);

        memory.write(1000, data, 0, 100);
        memory.copy(1010, 1000, 100);
        assertArrayEquals(data, guestBytes(1010, 100), "forward overlap");

        memory.write(2000, data, 0, 100);
        memory.copy(1990, 2000, 100);
        assertArrayEquals(data, guestBytes(1990, 100), "backward overlap");
    }

    @Test
    void copyAcrossBucketsIsAMemmoveToo() {
        // Longer than the 64 KiB bounce buffer, overlapping, across bucket 1 to 2 and back.
        byte[] data = pattern(200_000, 9);

        memory.write(2 * MIB - 150_000, data, 0, data.length);
        memory.copy(2 * MIB - 80_000, 2 * MIB - 150_000, data.length);
        assertArrayEquals(data, guestBytes(2 * MIB - 80_000, data.length), "forward overlap");

        memory.write(2 * MIB - 50_000, data, 0, data.length);
        memory.copy(2 * MIB - 120_000, 2 * MIB - 50_000, data.length);
        assertArrayEquals(data, guestBytes(2 * MIB - 120_000, data.length), "backward overlap");
    }

    @Test
    void copyTouchingAHoleMovesNothing() {
        byte[] data = pattern(0x2000, 5);
        putGuestBytes(HOLE - 0x2000, data);
        putGuestBytes(0x10000, data);

        assertThrows(GuestMemoryException.class, () -> memory.copy(HOLE - 0x1000, 0x10000, 0x2000));
        assertArrayEquals(data, guestBytes(HOLE - 0x2000, 0x2000), "destination must be untouched");
        assertThrows(GuestMemoryException.class, () -> memory.copy(0x20000, HOLE - 0x1000, 0x2000));
        assertArrayEquals(new byte[0x2000], guestBytes(0x20000, 0x2000), "destination must be untouched");

        // Longer than the bounce buffer, with the hole at the far end: the first chunks must not move either.
        byte[] big = pattern(0x20010, 3);
        putGuestBytes(0x10000, big);
        byte[] target = guestBytes(HOLE - 0x20000, 0x20000);
        assertThrows(GuestMemoryException.class, () -> memory.copy(HOLE - 0x20000, 0x10000, 0x20010));
        assertArrayEquals(target, guestBytes(HOLE - 0x20000, 0x20000), "destination must be untouched");
        assertThrows(GuestMemoryException.class, () -> memory.copy(0x40000, HOLE - 0x20000, 0x20010));
        assertArrayEquals(new byte[0x20010], guestBytes(0x40000, 0x20010), "destination must be untouched");
    }

    @Test
    void mapSharesMemoryWithTheGuest() {
        memory.readValue(0x10000, 1);
        GuestRange range = memory.map(0x10100, 64);
        ByteBuffer buffer = range.buffer();
        assertEquals(0x10100, range.address());
        assertEquals(ByteOrder.LITTLE_ENDIAN, buffer.order());
        assertEquals(0, buffer.position());
        assertEquals(64, buffer.limit());
        assertEquals(1, fake.mapCalls(), "a range inside a cached bucket needs no mapping of its own");

        buffer.putInt(8, 0x12345678);
        assertEquals(0x12345678L, memory.readValue(0x10108, 4));
        memory.writeValue(0x10110, 2, 0xbeef);
        assertEquals((short) 0xbeef, buffer.getShort(0x10));
        assertEquals(0x12345678, fake.memory().getInt(0x10108));

        range.close();
        assertEquals(1, memory.mappedBuckets(), "closing the range leaves the bucket cached");
        assertEquals(0, memory.map(4L * MIB, 0).buffer().capacity(), "an empty range touches nothing");
    }

    @Test
    void aRangeAcrossBucketsGetsAMappingOfItsOwnPages() {
        GuestRange range = memory.map(MIB - 0x1800, 0x3000);
        assertEquals(List.of(List.of(0xfeL, 4L)), fake.calls, "exactly the pages the range touches");
        assertEquals(0, memory.mappedBuckets());
        ByteBuffer buffer = range.buffer();
        assertEquals(0x3000, buffer.limit());
        assertEquals(ByteOrder.LITTLE_ENDIAN, buffer.order());

        buffer.putLong(0x17fc, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, memory.readValue(MIB - 4, 8));
        memory.writeValue(MIB - 0x1800, 4, 0xfeedface);
        assertEquals(0xfeedface, buffer.getInt(0));

        int unmapsBefore = fake.unmapCalls;
        range.close();
        range.close();
        assertEquals(unmapsBefore + 1, fake.unmapCalls);
        assertEquals(memory.mappedBuckets(), fake.openMappings(), "only the buckets stay mapped");
    }

    @Test
    void aRangeAcrossBucketsTouchingAHoleThrowsAndKeepsNothingMapped() {
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> memory.map(MIB - 8, 0x6000));
        assertEquals(MIB - 8, e.address());
        assertEquals(0, fake.openMappings());
    }

    @Test
    void aRangeOverAHoleInsideABucketThrowsAndHoldsNothing() {
        assertThrows(GuestMemoryException.class, () -> memory.map(HOLE - 8, 16));
        memory.invalidate();
        assertEquals(0, fake.openMappings(), "the failed map must not have kept the bucket referenced");
    }

    @Test
    void invalidateUnmapsAllBucketsAndLaterAccessesSeeTheGuestsNewFrames() {
        memory.writeValue(0x100, 8, 0xaaaaL);
        memory.readValue(MIB, 1);
        memory.readValue(3 * MIB, 1);
        assertEquals(3, fake.openMappings());

        fake.replaceFrames();
        fake.memory().putLong(0x100, 0xbbbbL);
        assertEquals(0xaaaaL, memory.readValue(0x100, 8), "until invalidated, the cache keeps the old frames");

        memory.invalidate();
        assertEquals(0, fake.openMappings());
        assertEquals(3, fake.unmapCalls);
        assertEquals(0, memory.mappedBuckets());

        assertEquals(0xbbbbL, memory.readValue(0x100, 8));
        assertEquals(4, memory.mapCalls());
        memory.invalidate();
        memory.invalidate();
        assertEquals(4, fake.unmapCalls, "a second invalidate has nothing left to unmap");
    }

    @Test
    void invalidateKeepsABucketAnOpenRangeHoldsUntilTheRangeCloses() {
        GuestRange range = memory.map(0x2000, 16);
        range.buffer().putLong(0, 0x5151L);
        memory.readValue(MIB, 1);

        fake.replaceFrames();
        memory.invalidate();

        assertEquals(1, fake.unmapCalls, "the bucket no range holds goes at once");
        assertEquals(1, memory.mappedBuckets());
        assertEquals(0x5151L, range.buffer().getLong(0), "an open range stays valid across invalidate");
        range.buffer().putLong(8, 0x6262L);

        assertEquals(0x5151L, memory.readValue(0x2000, 8), "read through a new mapping of bucket 0");
        assertEquals(2, memory.mappedBuckets());
        assertEquals(3, memory.mapCalls());

        range.close();
        assertEquals(2, fake.unmapCalls);
        assertEquals(1, memory.mappedBuckets());
        range.close();
        assertEquals(2, fake.unmapCalls);
        // The old frames are poison now: reading them through a stale bucket would show it.
        assertEquals(0x5151L, memory.readValue(0x2000, 8));
        memory.writeValue(0x2010, 4, 7);
        assertEquals(7, fake.memory().getInt(0x2010));
    }

    @Test
    void closingARangeTwiceReleasesTheBucketOnce() {
        GuestRange first = memory.map(0x100, 8);
        GuestRange second = memory.map(0x200, 8);
        memory.invalidate();

        first.close();
        first.close();
        assertEquals(1, fake.openMappings(), "the second range still holds the bucket");
        assertEquals(0, second.buffer().getLong(0));

        second.close();
        assertEquals(0, fake.openMappings());
        assertEquals(0, memory.mappedBuckets());
    }

    @Test
    void theLeastRecentlyUsedBucketIsEvictedPastTheBound() {
        FakeForeignMemory copies = new FakeForeignMemory(GUEST_PAGES, true);
        MapCacheGuestMemory small = new MapCacheGuestMemory(copies, 2);
        small.readValue(0, 1);
        small.readValue(MIB, 1);
        small.readValue(8, 1);
        small.readValue(2L * MIB, 1); // evicts bucket 1: bucket 0 was used since

        assertEquals(2, small.mappedBuckets());
        assertEquals(1, copies.unmapCalls);
        small.readValue(16, 1);
        assertEquals(3, small.mapCalls(), "bucket 0 stayed cached");
        small.readValue(MIB + 8, 1); // evicts bucket 2
        assertEquals(List.of(bucketCall(0), bucketCall(1), bucketCall(2), bucketCall(1)), copies.calls);
        small.readValue(24, 1);
        assertEquals(4, small.mapCalls(), "bucket 0 stayed cached");
        assertEquals(2, copies.openMappings());
    }

    @Test
    void bucketsRangesHoldAreNotEvictedAndTheCacheShrinksWhenTheyClose() {
        FakeForeignMemory copies = new FakeForeignMemory(GUEST_PAGES, true);
        MapCacheGuestMemory small = new MapCacheGuestMemory(copies, 1);
        GuestRange range = small.map(0x10, 8);
        range.buffer().putLong(0, 0x77L);

        small.readValue(MIB, 1);
        small.readValue(2L * MIB, 1);
        assertEquals(2, small.mappedBuckets(), "over the bound rather than unmap a range's bucket");
        assertEquals(1, copies.unmapCalls, "bucket 1 made way for bucket 2");
        assertEquals(0x77L, range.buffer().getLong(0));

        range.close();
        assertEquals(1, small.mappedBuckets(), "back within the bound");
        assertEquals(2, copies.unmapCalls);
        assertEquals(0x77L, copies.memory().getLong(0x10), "written back when unmapped");
        small.readValue(2L * MIB + 8, 1);
        assertEquals(3, small.mapCalls(), "the most recently used bucket is the one kept");
    }

    @Test
    void theLastBucketUsedIsMappedAgainAfterItWasEvicted() {
        FakeForeignMemory copies = new FakeForeignMemory(GUEST_PAGES, true);
        MapCacheGuestMemory small = new MapCacheGuestMemory(copies, 1);
        GuestRange first = small.map(0x10, 8);
        GuestRange second = small.map(MIB, 8);
        small.writeValue(2L * MIB, 4, 0x1234); // the cache now holds three buckets and bucket 2 was used last

        first.close(); // shrinks to the bound: buckets 0 and 2 go, the range still holds bucket 1
        assertEquals(2, copies.unmapCalls);
        assertEquals(1, small.mappedBuckets());
        assertEquals(0x1234, small.readValue(2L * MIB, 4));
        assertEquals(4, small.mapCalls(), "bucket 2 had to be mapped again");
        second.close();
    }

    @Test
    void threadsEvictingEachOthersBucketsKeepTheirData() throws InterruptedException {
        FakeForeignMemory copies = new FakeForeignMemory(GUEST_PAGES, true);
        MapCacheGuestMemory small = new MapCacheGuestMemory(copies, 2);
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long base = (long) t * MIB + 0x800;
            Thread worker = new Thread(() -> {
                try {
                    start.await();
                    for (long i = 0; i < 20_000; i++) {
                        long gpa = base + (i & 0xff) * 8;
                        small.writeValue(gpa, 8, base + i);
                        long seen = small.readValue(gpa, 8);
                        if (seen != base + i) {
                            throw new AssertionError("read 0x" + Long.toHexString(seen) + " at 0x" + Long.toHexString(gpa));
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            worker.start();
            workers.add(worker);
        }
        start.countDown();
        for (Thread worker : workers) {
            worker.join();
        }

        assertEquals(List.of(), List.copyOf(failures));
        assertTrue(small.mappedBuckets() <= 2);
        assertEquals(small.mappedBuckets(), copies.openMappings());
    }

    @Test
    void valueAccessesInsideACachedBucketDoNotAllocate() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        memory.readValue(3 * MIB, 1);
        long thread = Thread.currentThread().getId();

        long sum = 0;
        long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 100_000; i++) {
            long gpa = 3L * MIB + (i & 0xfff) * 8L;
            memory.writeValue(gpa, 8, i);
            sum += memory.readValue(gpa, 1 << (i & 3));
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before;

        assertTrue(sum > 0);
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes");
    }
}
