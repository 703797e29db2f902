package io.stubdm.devices.ide;

import io.stubdm.backends.block.BlockBackend;
import io.stubdm.backends.block.BlockStats;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A sparse disk in memory that behaves like a real backend: each request runs on the backend's own thread after
 * an optional delay, in submission order, and completes on the device loop's executor. Faults can be injected
 * per request; the log records every submission and completion, for ordering checks.
 */
final class MemoryDisk implements BlockBackend {
    private static final int CHUNK = 4096;
    private static final ScheduledExecutorService IO = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "memory-disk-io");
        t.setDaemon(true);
        return t;
    });

    /** One request as the fault injector sees it. */
    record Request(String op, long offset, int length) {
    }

    private final Executor loop;
    private final long size;
    private final boolean readOnly;
    private final String name;
    private final Map<Long, byte[]> chunks = new ConcurrentHashMap<>();
    private final BlockStats stats = new BlockStats();
    private final List<String> log = new ArrayList<>();
    private volatile long delayMillis;
    private volatile Function<Request, BlockError> faults = r -> null;
    private volatile boolean closed;
    private volatile int inFlight;

    MemoryDisk(Executor loop, long size, boolean readOnly, String name) {
        this.loop = loop;
        this.size = size;
        this.readOnly = readOnly;
        this.name = name;
    }

    MemoryDisk(Executor loop, long size) {
        this(loop, size, false, "memory");
    }

    /** Every later request takes this long on the backend's thread. */
    MemoryDisk delay(long millis) {
        this.delayMillis = millis;
        return this;
    }

    /** {@code faults} decides, per request, the error it completes with (null: none). */
    MemoryDisk faults(Function<Request, BlockError> faults) {
        this.faults = faults;
        return this;
    }

    /** Submissions ("submit write 512+512") and completions ("done write 512+512"), in order. */
    List<String> log() {
        synchronized (log) {
            return List.copyOf(log);
        }
    }

    boolean closed() {
        return closed;
    }

    int inFlight() {
        return inFlight;
    }

    /** Test-side access to the contents, bypassing the request path. */
    void put(long offset, byte[] data) {
        copy(offset, ByteBuffer.wrap(data), true);
    }

    byte[] get(long offset, int length) {
        ByteBuffer b = ByteBuffer.allocate(length);
        copy(offset, b, false);
        return b.array();
    }

    private void copy(long offset, ByteBuffer data, boolean toDisk) {
        long at = offset;
        while (data.hasRemaining()) {
            long index = at / CHUNK;
            int within = (int) (at % CHUNK);
            int n = Math.min(CHUNK - within, data.remaining());
            if (toDisk) {
                byte[] chunk = chunks.computeIfAbsent(index, i -> new byte[CHUNK]);
                data.get(chunk, within, n);
            } else {
                byte[] chunk = chunks.get(index);
                if (chunk == null) {
                    data.put(new byte[n]);
                } else {
                    data.put(chunk, within, n);
                }
            }
            at += n;
        }
    }

    private void record(String entry) {
        synchronized (log) {
            log.add(entry);
        }
    }

    private void submit(String op, long offset, ByteBuffer data, Completion done) {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
        int length = data == null ? 0 : data.remaining();
        String what = op + (data == null ? "" : " " + offset + "+" + length);
        record("submit " + what);
        inFlight++;
        IO.schedule(() -> {
            BlockError error = faults.apply(new Request(op, offset, length));
            if (error == null && data != null) {
                if (offset < 0 || offset + length > size) {
                    error = new BlockError(BlockError.Kind.OUT_OF_RANGE, what + " is beyond " + size);
                } else if (op.equals("write") && readOnly) {
                    error = new BlockError(BlockError.Kind.READ_ONLY, name + " is read-only");
                } else {
                    copy(offset, data, op.equals("write"));
                }
            }
            BlockError result = error;
            loop.execute(() -> {
                inFlight--;
                record("done " + what + (result == null ? "" : " " + result.kind()));
                done.done(result);
            });
        }, delayMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public long sizeBytes() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, ByteBuffer dst, Completion done) {
        stats.readOps.incrementAndGet();
        submit("read", offset, dst, done);
    }

    @Override
    public void write(long offset, ByteBuffer src, Completion done) {
        stats.writeOps.incrementAndGet();
        submit("write", offset, src, done);
    }

    @Override
    public void flush(Completion done) {
        stats.flushOps.incrementAndGet();
        submit("flush", 0, null, done);
    }

    @Override
    public String describe() {
        return name + " (memory)";
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    @Override
    public void close() {
        closed = true;
    }
}
