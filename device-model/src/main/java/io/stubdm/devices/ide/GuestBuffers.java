package io.stubdm.devices.ide;

import io.stubdm.hypervisor.GuestMemory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest memory a bus-master transfer moves data through: the regions of a PRD table, mapped, in table order,
 * together exactly as long as the transfer. The mappings stay valid until {@link #close()}, which the drive calls
 * only after every backend request touching them has completed.
 */
final class GuestBuffers implements AutoCloseable {
    private final List<GuestMemory.GuestRange> ranges;
    private final long length;

    GuestBuffers(List<GuestMemory.GuestRange> ranges) {
        this.ranges = ranges;
        long total = 0;
        for (GuestMemory.GuestRange r : ranges) {
            total += r.buffer().capacity();
        }
        this.length = total;
    }

    long length() {
        return length;
    }

    /** Each region as its own buffer, position 0; a backend may fill or drain them directly. */
    List<ByteBuffer> buffers() {
        List<ByteBuffer> out = new ArrayList<>(ranges.size());
        for (GuestMemory.GuestRange r : ranges) {
            out.add(r.buffer().duplicate().clear());
        }
        return out;
    }

    /**
     * Whether every region is a whole number of {@code blockSize} blocks, so that backend requests can go to the
     * regions themselves; otherwise the drive bounces through one buffer.
     */
    boolean wholeBlocks(int blockSize) {
        for (GuestMemory.GuestRange r : ranges) {
            if (r.buffer().capacity() % blockSize != 0) {
                return false;
            }
        }
        return true;
    }

    /** Copies {@code src}'s remaining bytes into the regions, in order (device to memory). */
    void copyFrom(ByteBuffer src) {
        for (ByteBuffer b : buffers()) {
            int n = Math.min(b.remaining(), src.remaining());
            b.put(b.position(), src, src.position(), n);
            src.position(src.position() + n);
        }
    }

    /** Fills {@code dst}'s remaining bytes from the regions, in order (memory to device). */
    void copyTo(ByteBuffer dst) {
        for (ByteBuffer b : buffers()) {
            int n = Math.min(b.remaining(), dst.remaining());
            dst.put(dst.position(), b, b.position(), n);
            dst.position(dst.position() + n);
        }
    }

    @Override
    public void close() {
        for (GuestMemory.GuestRange r : ranges) {
            r.close();
        }
    }
}
