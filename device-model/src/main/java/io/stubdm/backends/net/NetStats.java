package io.stubdm.backends.net;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Frames and bytes per direction and drops by cause, for QMP and metrics; updated from any thread. */
public final class NetStats {
    public final AtomicLong txFrames = new AtomicLong();
    public final AtomicLong txBytes = new AtomicLong();
    public final AtomicLong rxFrames = new AtomicLong();
    public final AtomicLong rxBytes = new AtomicLong();
    private final ConcurrentHashMap<String, AtomicLong> drops = new ConcurrentHashMap<>();

    /** Counts one dropped frame, e.g. {@code drop("tx-queue-full")}, {@code drop("rx-oversize")}. */
    public void drop(String cause) {
        drops.computeIfAbsent(cause, c -> new AtomicLong()).incrementAndGet();
    }

    public long drops(String cause) {
        AtomicLong n = drops.get(cause);
        return n == null ? 0 : n.get();
    }

    public Map<String, Long> dropsByCause() {
        Map<String, Long> out = new TreeMap<>();
        drops.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }
}
