package io.stubdm.hypervisor;

import java.nio.ByteBuffer;

/**
 * The guest's physical address space as a device model sees it: RAM that DMA, string I/O and descriptor rings
 * read and write. Every access names a guest-physical address; an access that touches anything but RAM throws
 * {@link GuestMemoryException} and transfers nothing at all.
 *
 * <p>Values are little-endian, as on x86. Implementations are safe to use from several threads; what two
 * threads writing the same bytes see is as unordered as it is for real DMA.
 */
public interface GuestMemory {

    /** Fills {@code dst} (its remaining bytes) from guest memory at {@code gpa}. */
    void read(long gpa, ByteBuffer dst);

    /** Writes the remaining bytes of {@code src} to guest memory at {@code gpa}. */
    void write(long gpa, ByteBuffer src);

    default void read(long gpa, byte[] dst, int offset, int length) {
        read(gpa, ByteBuffer.wrap(dst, offset, length));
    }

    default void write(long gpa, byte[] src, int offset, int length) {
        write(gpa, ByteBuffer.wrap(src, offset, length));
    }

    /** Reads a 1-, 2-, 4- or 8-byte little-endian value, zero-extended. */
    long readValue(long gpa, int size);

    /** Writes the low {@code size} bytes (1, 2, 4 or 8) of {@code value}, little-endian. */
    void writeValue(long gpa, int size, long value);

    /**
     * Copies {@code length} bytes inside guest memory, as memmove does: overlapping ranges end up as if the source
     * had been read whole before the destination was written.
     */
    default void copy(long dstGpa, long srcGpa, long length) {
        checkRange(dstGpa, length);
        checkRange(srcGpa, length);
        if (!isRam(srcGpa, length) || !isRam(dstGpa, length)) {
            throw new GuestMemoryException(isRam(srcGpa, length) ? dstGpa : srcGpa, length, "is not all RAM");
        }
        ByteBuffer bounce = ByteBuffer.allocate((int) Math.min(length, 64 * 1024));
        boolean backwards = dstGpa > srcGpa && dstGpa < srcGpa + length;
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(bounce.capacity(), length - done);
            long off = backwards ? length - done - n : done;
            bounce.clear().limit(n);
            read(srcGpa + off, bounce);
            bounce.flip();
            write(dstGpa + off, bounce);
            done += n;
        }
    }

    /**
     * Maps {@code [gpa, gpa + length)} for direct access. The buffer (little-endian, position 0, limit
     * {@code length}) shares memory with the guest and stays valid until the range is closed, even across
     * {@link #invalidate()}.
     */
    GuestRange map(long gpa, int length);

    /** Whether every byte of {@code [gpa, gpa + length)} is RAM the device model may touch. */
    boolean isRam(long gpa, long length);

    /**
     * Drops every cached mapping of guest memory (Xen's INVALIDATE ioreq, sent after the guest gave memory back).
     * Ranges still open stay valid until closed.
     */
    void invalidate();

    /** Rejects negative lengths, negative addresses and ranges that wrap around the 64-bit address space. */
    static void checkRange(long gpa, long length) {
        if (gpa < 0 || length < 0 || gpa + length < gpa) {
            throw new GuestMemoryException(gpa, length, "is outside the guest-physical address space");
        }
    }

    /** A mapped piece of guest RAM. */
    interface GuestRange extends AutoCloseable {
        long address();

        ByteBuffer buffer();

        @Override
        void close();
    }
}
