package io.stubdm.backends.block;

import io.stubdm.backends.block.BlockBackend.BlockError.Kind;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The part every image backend shares: requests are checked on the caller's thread, run on a small pool of I/O
 * threads, and completed on the executor the backend was opened with, never inside {@code read}/{@code write}
 * themselves. Subclasses supply the synchronous image operations, which must be safe to call from several I/O
 * threads at once.
 *
 * <p>Requests in flight at the same time are not ordered with respect to each other, as on a real disk with a
 * command queue; a device that needs an order waits for the completion before issuing the next request. On
 * success a request's buffer position has advanced to its limit, as with {@code AsynchronousFileChannel}.
 */
abstract class ThreadedBlockBackend implements BlockBackend {
    private static final System.Logger LOG = System.getLogger(ThreadedBlockBackend.class.getName());

    /** IDE keeps one request per drive in flight; a few threads let a flush overlap reads and back reads overlap. */
    private static final int IO_THREADS = 4;
    /**
     * One IDE DMA command may become a request per PRD entry, and a PRD table holds up to 8192 (64 KiB of 8-byte
     * entries); twice that waiting means the disk has stopped answering.
     */
    private static final int MAX_QUEUED = 16384;
    private static final AtomicInteger POOL_SEQUENCE = new AtomicInteger();

    private final long sizeBytes;
    private final boolean readOnly;
    private final DriveSpec.Cache cache;
    private final Executor completions;
    private final ThreadPoolExecutor pool;
    private final BlockStats stats = new BlockStats();

    ThreadedBlockBackend(String name, long sizeBytes, boolean readOnly, DriveSpec.Cache cache, Executor completions) {
        this.sizeBytes = sizeBytes;
        this.readOnly = readOnly;
        this.cache = cache;
        this.completions = completions;
        String threadPrefix = "block-io-" + POOL_SEQUENCE.incrementAndGet() + " " + name + " #";
        AtomicInteger threadSequence = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(IO_THREADS, IO_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(MAX_QUEUED), r -> {
                    Thread t = new Thread(r, threadPrefix + threadSequence.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        // An idle drive (a CD-ROM after the install) holds no threads.
        pool.allowCoreThreadTimeOut(true);
    }

    /** Fills {@code dst}'s remaining bytes from the image at {@code offset}, already checked to be in range. */
    abstract void readAt(long offset, ByteBuffer dst) throws IOException;

    /** Writes {@code src}'s remaining bytes at {@code offset}, already checked to be in range and allowed. */
    abstract void writeAt(long offset, ByteBuffer src) throws IOException;

    /** Puts every write that has returned on stable storage. */
    abstract void flushToStableStorage() throws IOException;

    /** Releases the image after the last request has finished; writable images write back what they hold. */
    abstract void closeImage() throws IOException;

    @Override
    public final long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public final boolean readOnly() {
        return readOnly;
    }

    @Override
    public final BlockStats stats() {
        return stats;
    }

    @Override
    public final void read(long offset, ByteBuffer dst, Completion done) {
        int length = dst.remaining();
        BlockError refused = checkRange(offset, length);
        if (refused != null) {
            fail(done, refused);
            return;
        }
        submit(done, stats.readNanos, () -> {
            readAt(offset, dst);
            stats.readOps.incrementAndGet();
            stats.readBytes.addAndGet(length);
        });
    }

    /** One request on one I/O thread, reading region after region: one hand-off each way for the whole transfer. */
    @Override
    public final void readScattered(long offset, List<ByteBuffer> dsts, Completion done) {
        long length = totalRemaining(dsts);
        BlockError refused = length < 0 ? misaligned(dsts) : checkRange(offset, length);
        if (refused != null) {
            fail(done, refused);
            return;
        }
        submit(done, stats.readNanos, () -> {
            long at = offset;
            for (ByteBuffer b : dsts) {
                int n = b.remaining();
                readAt(at, b);
                at += n;
            }
            stats.readOps.incrementAndGet();
            stats.readBytes.addAndGet(length);
        });
    }

    @Override
    public final void writeGathered(long offset, List<ByteBuffer> srcs, Completion done) {
        if (readOnly) {
            fail(done, new BlockError(Kind.READ_ONLY, describe() + " is read-only"));
            return;
        }
        long length = totalRemaining(srcs);
        BlockError refused = length < 0 ? misaligned(srcs) : checkRange(offset, length);
        if (refused != null) {
            fail(done, refused);
            return;
        }
        submit(done, stats.writeNanos, () -> {
            long at = offset;
            for (ByteBuffer b : srcs) {
                int n = b.remaining();
                writeAt(at, b);
                at += n;
            }
            if (cache.syncsEveryWrite()) {
                flushToStableStorage();
            }
            stats.writeOps.incrementAndGet();
            stats.writeBytes.addAndGet(length);
        });
    }

    /** The buffers' remaining bytes together, or -1 when one of them is not whole sectors. */
    private long totalRemaining(List<ByteBuffer> buffers) {
        long total = 0;
        for (ByteBuffer b : buffers) {
            if (b.remaining() % sectorSize() != 0) {
                return -1;
            }
            total += b.remaining();
        }
        return total;
    }

    private BlockError misaligned(List<ByteBuffer> buffers) {
        return new BlockError(Kind.OUT_OF_RANGE, "a scattered request's regions must each be whole "
                + sectorSize() + "-byte sectors");
    }

    @Override
    public final void write(long offset, ByteBuffer src, Completion done) {
        if (readOnly) {
            fail(done, new BlockError(Kind.READ_ONLY, describe() + " is read-only"));
            return;
        }
        int length = src.remaining();
        BlockError refused = checkRange(offset, length);
        if (refused != null) {
            fail(done, refused);
            return;
        }
        submit(done, stats.writeNanos, () -> {
            writeAt(offset, src);
            if (cache.syncsEveryWrite()) {
                flushToStableStorage();
            }
            stats.writeOps.incrementAndGet();
            stats.writeBytes.addAndGet(length);
        });
    }

    @Override
    public final void flush(Completion done) {
        submit(done, stats.flushNanos, () -> {
            // A read-only image has nothing to flush; cache=unsafe promises nothing.
            if (!readOnly && cache != DriveSpec.Cache.UNSAFE) {
                flushToStableStorage();
            }
            stats.flushOps.incrementAndGet();
        });
    }

    @Override
    public final void close() {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.log(Level.WARNING, "{0}: requests still running after 60 s; closing anyway", describe());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            closeImage();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.ERROR, describe() + ": closing failed: " + e.getMessage(), e);
        }
    }

    private BlockError checkRange(long offset, long length) {
        int sector = sectorSize();
        if (offset % sector != 0 || length % sector != 0) {
            return new BlockError(Kind.OUT_OF_RANGE, "offset " + offset + " or length " + length
                    + " is not a multiple of " + sector);
        }
        if (offset < 0 || offset > sizeBytes - length) {
            return new BlockError(Kind.OUT_OF_RANGE, "bytes " + offset + ".." + (offset + length) + " are outside "
                    + describe() + ", which has " + sizeBytes);
        }
        return null;
    }

    @FunctionalInterface
    private interface Operation {
        void run() throws IOException;
    }

    private void submit(Completion done, AtomicLong nanos, Operation operation) {
        try {
            pool.execute(() -> {
                long start = System.nanoTime();
                BlockError error = null;
                try {
                    operation.run();
                } catch (IOException e) {
                    error = new BlockError(Kind.IO_ERROR, e.getMessage());
                } catch (RuntimeException e) {
                    // A bug must cost this request, not the device loop.
                    LOG.log(Level.ERROR, describe() + ": request failed unexpectedly", e);
                    error = new BlockError(Kind.IO_ERROR, describe() + ": internal error: " + e);
                }
                nanos.addAndGet(System.nanoTime() - start);
                if (error != null) {
                    LOG.log(Level.WARNING, "{0}", error.message());
                    stats.errors.incrementAndGet();
                }
                BlockError result = error;
                completions.execute(() -> done.done(result));
            });
        } catch (RejectedExecutionException e) {
            fail(done, new BlockError(Kind.IO_ERROR, pool.isShutdown() ? describe() + " is closed"
                    : describe() + ": " + MAX_QUEUED + " requests already waiting; the disk is not answering"));
        }
    }

    private void fail(Completion done, BlockError error) {
        stats.errors.incrementAndGet();
        completions.execute(() -> done.done(error));
    }
}
