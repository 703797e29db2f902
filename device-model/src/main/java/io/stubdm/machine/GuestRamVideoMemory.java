package io.stubdm.machine;

import io.stubdm.devices.vga.VideoMemory;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.XenException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Video RAM as qemu-xen keeps it (xen_ram_alloc, xen_add_to_physmap): frames the device model populates in the
 * guest just above its RAM block, moved under the adapter's BAR when the guest places it there (relocate_memory,
 * then write-back caching pinned) and moved back when the BAR goes away. The guest's framebuffer writes then land
 * in memory without an ioreq each; the device model keeps a mapping of the frames wherever they are, and asks Xen
 * which pages changed (track_dirty_vram) while they are under the BAR.
 *
 * <p>Population needs libxenctrl's unrestricted handle: construct it before the hypervisor handles are
 * restricted to the guest. Placing and removing are dm_ops and work after.
 */
public final class GuestRamVideoMemory implements VideoMemory, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GuestRamVideoMemory.class.getName());
    private static final int PAGE_SHIFT = 12;
    /** Where RAM below 4 GiB ends unless {@code -machine max-ram-below-4g} says otherwise (HVM_BELOW_4G_RAM_END). */
    public static final long DEFAULT_LOW_MEMORY_TOP = 0xf0000000L;
    /** XEN_DOMCTL_MEM_CACHEATTR_WB: what qemu-xen pins the moved frames to. */
    static final int CACHEATTR_WRITE_BACK = 6;

    private final DeviceModelOps dm;
    private final ForeignMemory foreign;
    private final int size;
    private final int pages;
    private final long homeGfn;
    private long currentGfn;
    private ForeignMemory.ForeignMapping mapping;
    private ByteBuffer buffer;
    private boolean tracking;

    /**
     * Populates {@code size} bytes (a power of two, whole pages) of frames from {@code homeGpa} and maps them.
     *
     * @throws XenException when Xen will not give the guest the frames (its allowance is too small)
     */
    public GuestRamVideoMemory(DeviceModelOps dm, ForeignMemory foreign, long homeGpa, int size) {
        if (size < (1 << PAGE_SHIFT) || Integer.bitCount(size) != 1 || (homeGpa & ((1 << PAGE_SHIFT) - 1)) != 0) {
            throw new IllegalArgumentException("video RAM must be a power of two of whole pages at a page boundary, not "
                    + size + " bytes at 0x" + Long.toHexString(homeGpa));
        }
        this.dm = dm;
        this.foreign = foreign;
        this.size = size;
        this.pages = size >> PAGE_SHIFT;
        this.homeGfn = homeGpa >>> PAGE_SHIFT;
        dm.populatePhysmap(homeGfn, pages);
        currentGfn = homeGfn;
        map();
    }

    /**
     * Where qemu-xen's RAM allocator puts the first block after guest RAM: just above the RAM block, whose length
     * is the guest's RAM plus, when RAM reaches {@code lowMemoryTop}, the hole below 4 GiB it is moved around.
     */
    public static long homeAddress(long ramBytes, long lowMemoryTop) {
        long block = ramBytes;
        if (ramBytes >= lowMemoryTop) {
            block += (1L << 32) - lowMemoryTop;
        }
        return (block + (1 << PAGE_SHIFT) - 1) & -(1L << PAGE_SHIFT);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public synchronized ByteBuffer buffer() {
        return buffer;
    }

    /** The guest-physical address the frames are at now. */
    public synchronized long address() {
        return currentGfn << PAGE_SHIFT;
    }

    @Override
    public synchronized void placeAt(long address) {
        long gfn = address >>> PAGE_SHIFT;
        if (gfn == currentGfn) {
            return;
        }
        move(gfn);
        dm.pinMemoryCacheattr(gfn, gfn + pages - 1, CACHEATTR_WRITE_BACK);
        LOG.log(Level.DEBUG, "video RAM moved to 0x" + Long.toHexString(address));
    }

    @Override
    public synchronized void remove() {
        if (currentGfn != homeGfn) {
            move(homeGfn);
        }
    }

    private void move(long gfn) {
        stopTracking();
        unmap();
        try {
            dm.relocateMemory(pages, currentGfn, gfn);
            currentGfn = gfn;
        } finally {
            map();
        }
    }

    @Override
    public synchronized byte[] writtenPages() {
        if (currentGfn == homeGfn) {
            return null; // not under the BAR: only the device model writes it, so every page counts
        }
        try {
            byte[] bitmap = dm.trackDirtyVram(currentGfn, pages);
            tracking = true;
            return bitmap;
        } catch (XenException e) {
            LOG.log(Level.DEBUG, "track_dirty_vram: " + e.getMessage());
            return null;
        }
    }

    private void stopTracking() {
        if (tracking) {
            tracking = false;
            try {
                dm.trackDirtyVram(0, 0);
            } catch (XenException e) {
                LOG.log(Level.DEBUG, "track_dirty_vram stop: " + e.getMessage());
            }
        }
    }

    private void map() {
        int[] errors = new int[pages];
        mapping = foreign.mapPages(currentGfn, pages, errors);
        for (int i = 0; i < pages; i++) {
            if (errors[i] != 0) {
                mapping.close();
                mapping = null;
                throw new XenException("map video RAM", errors[i], "frame 0x" + Long.toHexString(currentGfn + i));
            }
        }
        buffer = mapping.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The buffer goes too: a use after this fails in Java instead of touching unmapped memory. */
    private void unmap() {
        buffer = null;
        if (mapping != null) {
            mapping.close();
            mapping = null;
        }
    }

    @Override
    public synchronized void close() {
        stopTracking();
        unmap();
    }
}
