package io.stubdm.backends.block;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A disk image or block device behind an emulated drive. Requests run on the backend's own threads; each
 * completion is handed to the executor given when the backend was opened (the device loop), so the device
 * that issued it finishes the request on its own thread and a slow disk never stalls other devices.
 *
 * <p>Offsets and lengths are in bytes and multiples of {@link #sectorSize()}. A buffer passed to a request
 * belongs to the backend until the completion runs; it may be a mapping of guest memory.
 */
public interface BlockBackend extends AutoCloseable {

    /** The disk's size as the guest sees it. */
    long sizeBytes();

    /** 512 for every format stubdm opens; ATAPI devices present 2048-byte blocks on top of it. */
    default int sectorSize() {
        return 512;
    }

    boolean readOnly();

    /** Fills {@code dst}'s remaining bytes from {@code offset}. */
    void read(long offset, ByteBuffer dst, Completion done);

    /** Writes {@code src}'s remaining bytes at {@code offset}; refused with an error on a read-only drive. */
    void write(long offset, ByteBuffer src, Completion done);

    /**
     * Fills the buffers in order from consecutive bytes starting at {@code offset}, as one request: a DMA
     * transfer scattered over a PRD table's regions costs one trip to the backend's threads, not one per region.
     * Each buffer's remaining bytes must be a multiple of {@link #sectorSize()}.
     */
    default void readScattered(long offset, List<ByteBuffer> dsts, Completion done) {
        inParts(offset, dsts, done, this::read);
    }

    /** Writes the buffers' remaining bytes in order at consecutive offsets from {@code offset}, as one request. */
    default void writeGathered(long offset, List<ByteBuffer> srcs, Completion done) {
        inParts(offset, srcs, done, this::write);
    }

    /** A request on one buffer at one offset: {@link #read} or {@link #write}. */
    @FunctionalInterface
    interface PartRequest {
        void issue(long offset, ByteBuffer buffer, Completion done);
    }

    /** What a backend without scattered requests does: one request per buffer, completed together. */
    private static void inParts(long offset, List<ByteBuffer> buffers, Completion done, PartRequest request) {
        Joined joined = new Joined(buffers.size(), done);
        long at = offset;
        for (ByteBuffer b : buffers) {
            int length = b.remaining();
            request.issue(at, b, joined::partDone);
            at += length;
        }
    }

    /** Completes once every write that completed before it is on stable storage. */
    void flush(Completion done);

    /** What QMP's query-block reports: the file name and format, e.g. {@code /images/a.qcow2 (qcow2)}. */
    String describe();

    BlockStats stats();

    @Override
    void close();

    /** Runs on the device loop when a request finishes. */
    @FunctionalInterface
    interface Completion {
        /** {@code error} is null on success, else what went wrong (the device turns it into a guest-visible error). */
        void done(BlockError error);
    }

    /** The completion of a request made of parts: runs once, after the last part, with the first error. */
    final class Joined {
        private int outstanding;
        private BlockError firstError;
        private final Completion done;

        Joined(int parts, Completion done) {
            this.outstanding = parts;
            this.done = done;
            if (parts == 0) {
                done.done(null);
            }
        }

        /** Parts complete on the device loop, one at a time, so a plain counter is enough. */
        void partDone(BlockError error) {
            if (error != null && firstError == null) {
                firstError = error;
            }
            if (--outstanding == 0) {
                done.done(firstError);
            }
        }
    }

    /** Why a request failed, in terms a device can report to the guest. */
    record BlockError(Kind kind, String message) {
        public enum Kind { IO_ERROR, OUT_OF_RANGE, READ_ONLY, NO_MEDIUM }
    }
}
