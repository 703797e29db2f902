package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.IoreqAbi;
import io.stubdm.hypervisor.MappedPages;
import io.stubdm.hypervisor.XenException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/** Foreign mappings of a simulated guest: its RAM frames and its ioreq servers' pages. */
final class SimForeignMemory implements ForeignMemory {
    private final SimDomain domain;
    private final AtomicLong liveMappings = new AtomicLong();
    private volatile boolean closed;

    SimForeignMemory(SimDomain domain) {
        this.domain = domain;
    }

    @Override
    public ForeignMapping mapPages(long firstGfn, int count, int[] errors) {
        checkOpen();
        if (errors.length < count) {
            throw new IllegalArgumentException("errors[] has room for " + errors.length + " of " + count + " frames");
        }
        return track(domain.ram().mapFrames(firstGfn, count, errors));
    }

    @Override
    public ForeignMapping mapResource(int type, int id, int firstFrame, int frameCount) {
        checkOpen();
        if (type != IoreqAbi.XENMEM_RESOURCE_IOREQ_SERVER) {
            throw new XenException("acquire_resource", XenException.EOPNOTSUPP, "resource type " + type);
        }
        return track(domain.resourceFrames(id, firstFrame, frameCount));
    }

    private ForeignMapping track(ByteBuffer buffer) {
        liveMappings.incrementAndGet();
        return new MappedPages(buffer, liveMappings::decrementAndGet, "foreign");
    }

    /** Mappings not yet closed: a test can check that a device model unmaps what it mapped. */
    long liveMappings() {
        return liveMappings.get();
    }

    @Override
    public void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("foreign memory handle is closed");
        }
    }
}
