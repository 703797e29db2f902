package io.stubdm.hypervisor;

import java.nio.ByteBuffer;

/**
 * A mapping of guest pages (foreign frames, grants, resource pages) that runs its unmap once, on the first
 * {@link #close()}, and refuses to hand out its buffer afterwards: with a real mapping the buffer would then
 * point at unmapped memory and touching it would bring the JVM down.
 */
public final class MappedPages implements ForeignMemory.ForeignMapping {
    private final ByteBuffer buffer;
    private final Runnable unmap;
    private final String kind;
    private boolean open = true;

    /** {@code kind} names the mapping in the error for a use after unmap ("foreign", "grant"). */
    public MappedPages(ByteBuffer buffer, Runnable unmap, String kind) {
        this.buffer = buffer;
        this.unmap = unmap;
        this.kind = kind;
    }

    @Override
    public synchronized ByteBuffer buffer() {
        if (!open) {
            throw new IllegalStateException(kind + " mapping used after unmap");
        }
        return buffer;
    }

    @Override
    public synchronized void close() {
        if (open) {
            open = false;
            unmap.run();
        }
    }
}
