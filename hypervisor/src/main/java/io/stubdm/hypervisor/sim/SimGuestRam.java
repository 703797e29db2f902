package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.XenException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A simulated guest's RAM, laid out as Xen's domain builder leaves an HVM guest: RAM from 0 to the top of RAM
 * except the VGA hole {@code [0xA0000, 0xC0000)}, which is not populated. One direct buffer backs the whole
 * range so that contiguous frames map to one contiguous buffer, as privcmd mappings do.
 *
 * <p>Frames a device model populates later (video RAM, {@code XENMEM_populate_physmap}) are extents of their own,
 * each with its own buffer, which {@code relocate_memory} moves (whole or in part) to other frame numbers: the
 * source frames become holes, the contents travel, as with Xen's {@code XENMAPSPACE_gmfn_range}.
 */
final class SimGuestRam {
    static final long VGA_HOLE_START = 0xA0000;
    static final long VGA_HOLE_END = 0xC0000;
    private static final int PAGE_SHIFT = 12;
    private static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    /** What libxl leaves a guest beyond the domain builder's RAM (its video RAM, 16 MiB for stdvga), and some. */
    static final int MAX_EXTRA_PAGES = (64 << 20) >> PAGE_SHIFT;

    final long ramTop;
    final ByteBuffer backing;
    private final long pages;
    /** Populated after build; guarded by this. */
    private final List<Extent> extents = new ArrayList<>();

    /** A run of populated frames and the memory behind them. */
    private static final class Extent {
        long firstGfn;
        final int count;
        final ByteBuffer memory;

        Extent(long firstGfn, int count, ByteBuffer memory) {
            this.firstGfn = firstGfn;
            this.count = count;
            this.memory = memory;
        }

        boolean contains(long gfn, long n) {
            return gfn >= firstGfn && gfn + n <= firstGfn + count;
        }

        boolean overlaps(long gfn, long n) {
            return gfn < firstGfn + count && firstGfn < gfn + n;
        }

        ByteBuffer frames(long gfn, int n) {
            return memory.slice((int) ((gfn - firstGfn) << PAGE_SHIFT), n << PAGE_SHIFT).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    SimGuestRam(long ramBytes) {
        if (ramBytes < (2 << 20) || ramBytes > (1L << 30) || (ramBytes & 0xfffff) != 0) {
            throw new IllegalArgumentException(
                    "simulated guests have 2 MiB to 1 GiB of RAM in whole MiB, not " + ramBytes + " bytes");
        }
        this.ramTop = ramBytes;
        this.backing = ByteBuffer.allocateDirect((int) ramBytes).order(ByteOrder.LITTLE_ENDIAN);
        this.pages = ramBytes >> PAGE_SHIFT;
    }

    /** A frame the domain builder populated (not one added later). */
    private boolean isBuiltFrame(long gfn) {
        long addr = gfn << PAGE_SHIFT;
        return gfn >= 0 && gfn < pages && !(addr >= VGA_HOLE_START && addr < VGA_HOLE_END);
    }

    synchronized boolean isRamFrame(long gfn) {
        return isBuiltFrame(gfn) || extentAt(gfn, 1) != null;
    }

    synchronized boolean isRam(long gpa, long length) {
        if (gpa < 0 || length < 0 || gpa + length < gpa) {
            return false;
        }
        if (gpa + length <= ramTop) {
            return length == 0 || gpa + length <= VGA_HOLE_START || gpa >= VGA_HOLE_END;
        }
        long first = gpa >>> PAGE_SHIFT;
        return extentAt(first, ((gpa + length - 1) >>> PAGE_SHIFT) - first + 1) != null;
    }

    /** The 4 KiB frame's contents, or null when it is a hole; the buffer aliases the frame. */
    synchronized ByteBuffer frame(long gfn) {
        if (isBuiltFrame(gfn)) {
            return backing.slice((int) (gfn << PAGE_SHIFT), PAGE_SIZE);
        }
        Extent e = extentAt(gfn, 1);
        return e == null ? null : e.frames(gfn, 1);
    }

    /** privcmd MMAPBATCH_V2: one buffer for the run, per-frame errors for frames that are not RAM. */
    synchronized ByteBuffer mapFrames(long firstGfn, int count, int[] errors) {
        if (count <= 0 || firstGfn < 0) {
            throw new XenException("privcmd_mmapbatch_v2", XenException.EINVAL, "count " + count);
        }
        for (int i = 0; i < count; i++) {
            errors[i] = isRamFrame(firstGfn + i) ? 0 : XenException.EFAULT;
        }
        long lastGfn = firstGfn + count - 1;
        if (lastGfn < pages) {
            return backing.slice((int) (firstGfn << PAGE_SHIFT), count << PAGE_SHIFT).order(ByteOrder.LITTLE_ENDIAN);
        }
        Extent e = extentAt(firstGfn, count);
        if (e != null) {
            return e.frames(firstGfn, count);
        }
        boolean anyRam = false;
        for (int i = 0; i < count; i++) {
            anyRam |= errors[i] == 0;
        }
        if (!anyRam) {
            // Nothing here is RAM; a private zeroed buffer stands in for the unusable mapping.
            return ByteBuffer.allocateDirect(count << PAGE_SHIFT).order(ByteOrder.LITTLE_ENDIAN);
        }
        throw new XenException("privcmd_mmapbatch_v2", XenException.EINVAL,
                "the simulated Xen maps a run only inside the built RAM or inside one populated extent");
    }

    /** XENMEM_populate_physmap of {@code count} order-0 frames from {@code firstGfn}, zero-filled. */
    synchronized void populate(long firstGfn, int count) {
        if (count <= 0 || firstGfn < 0) {
            throw new XenException("populate_physmap", XenException.EINVAL, "gfn 0x" + Long.toHexString(firstGfn)
                    + " count " + count);
        }
        int extra = count;
        for (Extent e : extents) {
            extra += e.count;
        }
        if (extra > MAX_EXTRA_PAGES) {
            throw new XenException("populate_physmap", XenException.ENOMEM, count + " frames would take the domain "
                    + "past its allowance");
        }
        if (overlapsAnything(firstGfn, count)) {
            throw new XenException("populate_physmap", XenException.EEXIST, "gfns 0x" + Long.toHexString(firstGfn)
                    + "+" + count + " are populated already");
        }
        extents.add(new Extent(firstGfn, count, ByteBuffer.allocateDirect(count << PAGE_SHIFT)));
    }

    /**
     * XEN_DMOP_relocate_memory: the frames {@code [srcGfn, srcGfn + count)}, which must lie in one populated
     * extent, move to {@code dstGfn}, which must be a hole (the simulated Xen refuses to replace RAM there, which
     * a device model never means to do).
     */
    synchronized void relocate(int count, long srcGfn, long dstGfn) {
        Extent e = extentAt(srcGfn, count);
        if (e == null) {
            throw new XenException("relocate_memory", XenException.EINVAL, "gfns 0x" + Long.toHexString(srcGfn) + "+"
                    + count + " are not one populated run (the simulated Xen moves only populated extents)");
        }
        extents.remove(e);
        if (overlapsAnything(dstGfn, count) || (dstGfn != srcGfn && e.overlaps(dstGfn, count))) {
            extents.add(e);
            throw new XenException("relocate_memory", XenException.EEXIST, "gfns 0x" + Long.toHexString(dstGfn)
                    + "+" + count + " are RAM already");
        }
        long before = srcGfn - e.firstGfn;
        long after = e.firstGfn + e.count - (srcGfn + count);
        if (before > 0) {
            extents.add(new Extent(e.firstGfn, (int) before, e.frames(e.firstGfn, (int) before)));
        }
        if (after > 0) {
            extents.add(new Extent(srcGfn + count, (int) after, e.frames(srcGfn + count, (int) after)));
        }
        extents.add(new Extent(dstGfn, count, e.frames(srcGfn, count)));
    }

    private boolean overlapsAnything(long gfn, long count) {
        for (long g = gfn; g < gfn + count && g < pages; g++) {
            if (isBuiltFrame(g)) {
                return true;
            }
        }
        for (Extent e : extents) {
            if (e.overlaps(gfn, count)) {
                return true;
            }
        }
        return false;
    }

    private Extent extentAt(long gfn, long count) {
        for (Extent e : extents) {
            if (e.contains(gfn, count)) {
                return e;
            }
        }
        return null;
    }
}
