package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.XenException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A simulated guest's RAM, laid out as Xen's domain builder leaves an HVM guest: RAM from 0 to the top of RAM
 * except the VGA hole {@code [0xA0000, 0xC0000)}, which is not populated. One direct buffer backs the whole
 * range so that contiguous frames map to one contiguous buffer, as privcmd mappings do.
 */
final class SimGuestRam {
    static final long VGA_HOLE_START = 0xA0000;
    static final long VGA_HOLE_END = 0xC0000;
    private static final int PAGE_SHIFT = 12;

    final long ramTop;
    final ByteBuffer backing;
    private final long pages;

    SimGuestRam(long ramBytes) {
        if (ramBytes < (2 << 20) || ramBytes > (1L << 30) || (ramBytes & 0xfffff) != 0) {
            throw new IllegalArgumentException(
                    "simulated guests have 2 MiB to 1 GiB of RAM in whole MiB, not " + ramBytes + " bytes");
        }
        this.ramTop = ramBytes;
        this.backing = ByteBuffer.allocateDirect((int) ramBytes).order(ByteOrder.LITTLE_ENDIAN);
        this.pages = ramBytes >> PAGE_SHIFT;
    }

    boolean isRamFrame(long gfn) {
        long addr = gfn << PAGE_SHIFT;
        return gfn >= 0 && gfn < pages && !(addr >= VGA_HOLE_START && addr < VGA_HOLE_END);
    }

    boolean isRam(long gpa, long length) {
        if (gpa < 0 || length < 0 || gpa + length > ramTop) {
            return false;
        }
        return length == 0 || gpa + length <= VGA_HOLE_START || gpa >= VGA_HOLE_END;
    }

    /** privcmd MMAPBATCH_V2: one buffer for the run, per-frame errors for frames that are not RAM. */
    ByteBuffer mapFrames(long firstGfn, int count, int[] errors) {
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
        if (firstGfn >= pages) {
            // Nothing here is RAM; a private zeroed buffer stands in for the unusable mapping.
            return ByteBuffer.allocateDirect(count << PAGE_SHIFT).order(ByteOrder.LITTLE_ENDIAN);
        }
        throw new XenException("privcmd_mmapbatch_v2", XenException.EINVAL,
                "the simulated Xen cannot map a run that crosses the top of RAM");
    }
}
