package io.stubdm.hypervisor;

import java.nio.ByteBuffer;

/**
 * Mappings of one guest's frames into the device model's address space (libxenforeignmemory: privcmd
 * {@code MMAPBATCH_V2} and {@code MMAP_RESOURCE}). Used by the map cache behind {@link GuestMemory} and to map the
 * ioreq server's pages.
 */
public interface ForeignMemory extends AutoCloseable {

    /**
     * Maps {@code count} guest frames starting at {@code firstGfn}. Frames that cannot be mapped (a hole, a frame
     * the guest gave back) get a positive errno in {@code errors[i]} and read as unusable; the others get 0.
     */
    ForeignMapping mapPages(long firstGfn, int count, int[] errors);

    /**
     * Maps frames of a resource Xen owns ({@code XENMEM_acquire_resource}), such as an ioreq server's pages:
     * type {@link IoreqAbi#XENMEM_RESOURCE_IOREQ_SERVER}, id = server id, frame 0 = buffered page, 1 = sync page.
     */
    ForeignMapping mapResource(int type, int id, int firstFrame, int frameCount);

    @Override
    void close();

    /** A live mapping. Its buffer must not be touched after {@link #close()}. */
    interface ForeignMapping extends AutoCloseable {
        /** The mapped bytes, little-endian, position 0, capacity = frames * 4096. */
        ByteBuffer buffer();

        @Override
        void close();
    }
}
