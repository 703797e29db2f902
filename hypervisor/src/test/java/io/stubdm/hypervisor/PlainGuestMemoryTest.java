package io.stubdm.hypervisor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stubdm.hypervisor.GuestMemory.GuestRange;
import io.stubdm.hypervisor.PlainGuestMemory.Region;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import org.junit.jupiter.api.Test;

class PlainGuestMemoryTest {

    private static final long MIB = 1L << 20;

    /** Bytes 1, 2, 3, ... (wrapping at 256) so that every offset is told apart. */
    private static byte[] pattern(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (seed + i);
        }
        return bytes;
    }

    private static byte[] read(GuestMemory memory, long gpa, int length) {
        byte[] bytes = new byte[length];
        memory.read(gpa, bytes, 0, length);
        return bytes;
    }

    @Test
    void valuesOfEverySizeAreLittleEndianAndZeroExtended() {
        PlainGuestMemory memory = PlainGuestMemory.of(0x1000, 4096);
        memory.writeValue(0x1008, 8, 0xf1f2f3f4f5f6f7f8L);

        assertArrayEquals(new byte[] {(byte) 0xf8, (byte) 0xf7, (byte) 0xf6, (byte) 0xf5,
                (byte) 0xf4, (byte) 0xf3, (byte) 0xf2, (byte) 0xf1}, read(memory, 0x1008, 8));
        assertEquals(0xf8L, memory.readValue(0x1008, 1));
        assertEquals(0xf7f8L, memory.readValue(0x1008, 2));
        assertEquals(0xf5f6f7f8L, memory.readValue(0x1008, 4));
        assertEquals(0xf1f2f3f4f5f6f7f8L, memory.readValue(0x1008, 8));
        assertEquals(0xf3f4L, memory.readValue(0x100c, 2));
    }

    @Test
    void writeValueWritesOnlyTheLowBytes() {
        PlainGuestMemory memory = PlainGuestMemory.of(0, 64);
        memory.write(0, pattern(16, 0x40), 0, 16);

        memory.writeValue(2, 1, 0xaabbccddeeff1122L);
        memory.writeValue(4, 2, 0xaabbccddeeff3344L);
        memory.writeValue(8, 4, 0xaabbccdd55667788L);

        assertArrayEquals(new byte[] {0x40, 0x41, 0x22, 0x43, 0x44, 0x33, 0x46, 0x47,
                (byte) 0x88, 0x77, 0x66, 0x55, 0x4c, 0x4d, 0x4e, 0x4f}, read(memory, 0, 16));
    }

    @Test
    void valueSizesOtherThanOneTwoFourOrEightAreRejected() {
        PlainGuestMemory memory = PlainGuestMemory.of(0, 4096);
        for (int size : new int[] {-1, 0, 3, 5, 6, 7, 9, 16}) {
            assertThrows(IllegalArgumentException.class, () -> memory.readValue(0, size), "read size " + size);
            assertThrows(IllegalArgumentException.class, () -> memory.writeValue(0, size, 0), "write size " + size);
        }
        assertEquals(0, memory.readValue(0, 8), "a rejected write must not have written");
    }

    @Test
    void readAndWriteAdvanceTheBufferPosition() {
        PlainGuestMemory memory = PlainGuestMemory.of(0, 4096);
        ByteBuffer src = ByteBuffer.wrap(pattern(32, 1));
        src.position(4).limit(20);
        memory.write(100, src);
        assertEquals(20, src.position());

        ByteBuffer dst = ByteBuffer.allocate(32);
        dst.position(8).limit(24);
        memory.read(100, dst);
        assertEquals(24, dst.position());
        byte[] expected = new byte[32];
        System.arraycopy(pattern(32, 1), 4, expected, 8, 16);
        assertArrayEquals(expected, dst.array());
    }

    @Test
    void accessesSpanAdjacentRegions() {
        PlainGuestMemory memory = new PlainGuestMemory(List.of(new Region(0x2000, 0x1000), new Region(0x1000, 0x1000)));
        byte[] data = pattern(64, 7);

        memory.write(0x2000 - 20, data, 0, data.length);
        assertArrayEquals(data, read(memory, 0x2000 - 20, 64));

        memory.writeValue(0x1ffd, 8, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, memory.readValue(0x1ffd, 8));
        assertEquals(0x55667788L, memory.readValue(0x1ffd, 4));
        assertEquals(0x11L, memory.readValue(0x2004, 1));
        assertTrue(memory.isRam(0x1000, 0x2000));
        assertFalse(memory.isRam(0x1000, 0x2001));
    }

    @Test
    void largeRegionsAreSplitIntoBuffersThatAccessesCross() {
        PlainGuestMemory memory = new PlainGuestMemory(List.of(new Region(0, 0x3000)), 0x1000);
        byte[] data = pattern(0x1800, 3);
        memory.write(0x800, data, 0, data.length);
        assertArrayEquals(data, read(memory, 0x800, data.length));

        memory.writeValue(0x1ffe, 4, 0xa1b2c3d4L);
        assertEquals(0xa1b2c3d4L, memory.readValue(0x1ffe, 4));
        assertEquals(0xc3d4L, memory.readValue(0x1ffe, 2));

        assertThrows(GuestMemoryException.class, () -> memory.map(0x1ff0, 0x20));
        try (GuestRange range = memory.map(0x2000, 0x1000)) {
            assertEquals(0xa1b2L, range.buffer().getShort(0) & 0xffff);
        }
    }

    @Test
    void xenHvmLayoutHasAVgaHole() {
        PlainGuestMemory memory = PlainGuestMemory.xenHvmLayout(2 * MIB);
        assertEquals(List.of(new Region(0, 0xa0000), new Region(0xc0000, 2 * MIB - 0xc0000)), memory.regions());

        assertTrue(memory.isRam(0, 0xa0000));
        assertFalse(memory.isRam(0x9ffff, 2));
        assertFalse(memory.isRam(0xbffff, 1));
        assertTrue(memory.isRam(0xc0000, 2 * MIB - 0xc0000));
        assertFalse(memory.isRam(2 * MIB - 1, 2));

        memory.write(0x9fff0, pattern(16, 1), 0, 16);
        GuestMemoryException e = assertThrows(GuestMemoryException.class,
                () -> memory.write(0x9fff0, pattern(32, 0x80), 0, 32));
        assertEquals(0x9fff0, e.address());
        assertEquals(32, e.length());
        assertArrayEquals(pattern(16, 1), read(memory, 0x9fff0, 16), "nothing may be written before the hole");

        ByteBuffer dst = ByteBuffer.allocate(32);
        assertThrows(GuestMemoryException.class, () -> memory.read(0x9fff0, dst));
        assertEquals(0, dst.position());
        assertArrayEquals(new byte[32], dst.array(), "nothing may be read before the hole");

        assertThrows(GuestMemoryException.class, () -> memory.readValue(0x9fffe, 4));
        assertThrows(GuestMemoryException.class, () -> memory.writeValue(0x9fffe, 4, -1));
        assertEquals(0x100fL, memory.readValue(0x9fffe, 2), "the failed writeValue must have written nothing");
        assertThrows(GuestMemoryException.class, () -> memory.readValue(0xb0000, 1));
        assertThrows(GuestMemoryException.class, () -> memory.map(0x9f000, 0x2000));

        memory.writeValue(0xc0000, 4, 0xcafef00dL);
        assertEquals(0xcafef00dL, memory.readValue(0xc0000, 4));
    }

    @Test
    void xenHvmRegionsPutRamAboveTheMmioHoleAt4GiB() {
        assertEquals(List.of(new Region(0, 0xa0000), new Region(0xc0000, 0xf0000000L - 0xc0000),
                        new Region(1L << 32, (6L << 30) - 0xf0000000L)),
                PlainGuestMemory.xenHvmRegions(6L << 30));
        assertEquals(List.of(new Region(0, 0xa0000), new Region(0xc0000, 0xf0000000L - 0xc0000)),
                PlainGuestMemory.xenHvmRegions(0xf0000000L));
        assertEquals(List.of(new Region(0, 0xa0000)), PlainGuestMemory.xenHvmRegions(0xb0000));
        assertEquals(List.of(new Region(0, 0xa0000)), PlainGuestMemory.xenHvmRegions(0xc0000));
        assertEquals(List.of(new Region(0, 0xa0000), new Region(0xc0000, 0x1000)),
                PlainGuestMemory.xenHvmRegions(0xc1000));
        assertEquals(List.of(new Region(0, 0x80000)), PlainGuestMemory.xenHvmRegions(0x80000));
        assertThrows(IllegalArgumentException.class, () -> PlainGuestMemory.xenHvmRegions(0));
    }

    @Test
    void overlappingOrEmptyRegionsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> new PlainGuestMemory(List.of(new Region(0x1000, 0x2000), new Region(0x2fff, 0x10))));
        assertThrows(IllegalArgumentException.class,
                () -> new PlainGuestMemory(List.of(new Region(0x4000, 0x1000), new Region(0, 0x4001))));
        assertThrows(IllegalArgumentException.class, () -> new Region(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Region(-4096, 4096));
        assertThrows(IllegalArgumentException.class, () -> new Region(Long.MAX_VALUE - 10, 20));
    }

    @Test
    void addressesPastTheEndNegativeOrWrappingAreRejected() {
        PlainGuestMemory memory = PlainGuestMemory.of(0, 4096);
        assertThrows(GuestMemoryException.class, () -> memory.readValue(4096, 1));
        assertThrows(GuestMemoryException.class, () -> memory.readValue(4093, 4));
        assertThrows(GuestMemoryException.class, () -> memory.readValue(-1, 1));
        assertThrows(GuestMemoryException.class, () -> memory.writeValue(Long.MIN_VALUE, 8, 0));
        assertThrows(GuestMemoryException.class, () -> memory.readValue(Long.MAX_VALUE - 2, 8));
        assertThrows(GuestMemoryException.class, () -> memory.write(Long.MAX_VALUE - 2, new byte[8], 0, 8));
        assertThrows(GuestMemoryException.class, () -> memory.copy(0, Long.MAX_VALUE, 2));
        assertThrows(GuestMemoryException.class, () -> memory.copy(0, 8, -1));
        assertThrows(GuestMemoryException.class, () -> memory.map(-8, 8));
        assertThrows(GuestMemoryException.class, () -> memory.map(0, -1));
        assertFalse(memory.isRam(-1, 1));
        assertFalse(memory.isRam(0, -1));
        assertFalse(memory.isRam(Long.MAX_VALUE, 2));
        assertFalse(memory.isRam(4000, 97));
        assertTrue(memory.isRam(4000, 96));

        byte[] data = pattern(8, 9);
        memory.write(4088, data, 0, 8);
        assertThrows(GuestMemoryException.class, () -> memory.write(4090, new byte[8], 0, 8));
        assertArrayEquals(data, read(memory, 4088, 8));
    }

    @Test
    void copyIsAMemmoveInBothDirections() {
        PlainGuestMemory memory = PlainGuestMemory.of(0, 4096);
        byte[] data = pattern(100, 1);

        memory.write(1000, data, 0, 100);
        memory.copy(1010, 1000, 100);
        assertArrayEquals(data, read(memory, 1010, 100), "forward overlap");

        memory.write(2000, data, 0, 100);
        memory.copy(1990, 2000, 100);
        assertArrayEquals(data, read(memory, 1990, 100), "backward overlap");
    }

    @Test
    void copyAcrossBuffersIsAMemmoveToo() {
        // 200 KiB of one region in 64 KiB buffers: the copy crosses buffers and takes the chunked path.
        PlainGuestMemory memory = new PlainGuestMemory(List.of(new Region(0, 200 << 10)), 64 << 10);
        byte[] data = pattern(100_000, 5);

        memory.write(1000, data, 0, data.length);
        memory.copy(1000 + 70_000, 1000, data.length);
        assertArrayEquals(data, read(memory, 71_000, data.length), "forward overlap");

        memory.write(70_000, data, 0, data.length);
        memory.copy(3, 70_000, data.length);
        assertArrayEquals(data, read(memory, 3, data.length), "backward overlap");
    }

    @Test
    void copyTouchingAHoleMovesNothing() {
        PlainGuestMemory memory = PlainGuestMemory.xenHvmLayout(MIB);
        byte[] data = pattern(64, 1);
        memory.write(0x9f000, data, 0, 64);

        assertThrows(GuestMemoryException.class, () -> memory.copy(0x9ffe0, 0x9f000, 64));
        assertArrayEquals(new byte[32], read(memory, 0x9ffe0, 32));
        assertThrows(GuestMemoryException.class, () -> memory.copy(0x9f000, 0x9ffe0, 64));
        assertArrayEquals(data, read(memory, 0x9f000, 64));
        memory.copy(0xa0000, 0xb0000, 0); // no byte is touched, so the hole does not matter

        // Longer than the bounce buffer, with the hole at the far end: the first chunks must not move either.
        memory.write(0x10000, pattern(0x20010, 3), 0, 0x20010);
        byte[] target = read(memory, 0x80000, 0x20000);
        assertThrows(GuestMemoryException.class, () -> memory.copy(0x80000, 0x10000, 0x20010));
        assertArrayEquals(target, read(memory, 0x80000, 0x20000));
        assertThrows(GuestMemoryException.class, () -> memory.copy(0x40000, 0x80000, 0x20010));
        assertArrayEquals(new byte[0x20000], read(memory, 0x40000, 0x20000));
    }

    @Test
    void mapSharesMemoryWithTheGuest() {
        PlainGuestMemory memory = PlainGuestMemory.of(0x10000, 4096);
        GuestRange range = memory.map(0x10100, 64);
        ByteBuffer buffer = range.buffer();
        assertEquals(0x10100, range.address());
        assertEquals(ByteOrder.LITTLE_ENDIAN, buffer.order());
        assertEquals(0, buffer.position());
        assertEquals(64, buffer.limit());

        buffer.putInt(8, 0x12345678);
        assertEquals(0x12345678L, memory.readValue(0x10108, 4));
        memory.writeValue(0x10110, 2, 0xbeef);
        assertEquals((short) 0xbeef, buffer.getShort(0x10));

        range.close();
        range.close();
        assertThrows(GuestMemoryException.class, () -> memory.map(0x10fc0, 65));
        assertEquals(0, memory.map(0x20000, 0).buffer().capacity());
    }

    @Test
    void invalidateOnlyCounts() {
        PlainGuestMemory memory = PlainGuestMemory.of(0, 4096);
        memory.writeValue(0, 4, 42);
        memory.invalidate();
        memory.invalidate();
        assertEquals(2, memory.invalidations());
        assertEquals(42, memory.readValue(0, 4));
    }

    @Test
    void valueAccessesInsideOneRegionDoNotAllocate() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        PlainGuestMemory memory = PlainGuestMemory.xenHvmLayout(2 * MIB);
        long thread = Thread.currentThread().getId();

        long sum = 0;
        long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 100_000; i++) {
            long gpa = 0xc0000 + (i & 0xfff) * 8L;
            memory.writeValue(gpa, 8, i);
            sum += memory.readValue(gpa, 1 << (i & 3));
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before;

        assertTrue(sum > 0);
        // A few bytes a call would add up to hundreds of kilobytes; allow only for the measuring itself.
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes");
    }

    @Test
    void ofBuildsOneRegion() {
        PlainGuestMemory memory = PlainGuestMemory.of(0x5000, 100);
        assertEquals(List.of(new Region(0x5000, 100)), memory.regions());
        assertFalse(memory.isRam(0x4fff, 1));
        assertTrue(memory.isRam(0x5000, 100));
        assertFalse(memory.isRam(0x5000, 101));
    }
}
