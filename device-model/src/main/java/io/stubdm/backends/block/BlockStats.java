package io.stubdm.backends.block;

import java.util.concurrent.atomic.AtomicLong;

/** Counters a backend keeps for QMP's query-blockstats and for metrics; updated from the backend's threads. */
public final class BlockStats {
    public final AtomicLong readOps = new AtomicLong();
    public final AtomicLong readBytes = new AtomicLong();
    public final AtomicLong writeOps = new AtomicLong();
    public final AtomicLong writeBytes = new AtomicLong();
    public final AtomicLong flushOps = new AtomicLong();
    public final AtomicLong errors = new AtomicLong();
    /** Summed service time of completed requests, nanoseconds. */
    public final AtomicLong readNanos = new AtomicLong();
    public final AtomicLong writeNanos = new AtomicLong();
    public final AtomicLong flushNanos = new AtomicLong();
}
