package io.stubdm.devices.vga;

import io.stubdm.devices.pci.PciBar;
import java.nio.ByteBuffer;

/**
 * A graphics adapter's video RAM. Under Xen it is guest RAM that the device model populated and moves under the
 * adapter's framebuffer BAR ({@link PciBar.RamPlacement}): the guest's framebuffer writes then go straight to
 * memory, and the device model reads what they left for display.
 */
public interface VideoMemory extends PciBar.RamPlacement {

    /** Bytes, a power of two. */
    int size();

    /**
     * The memory, position 0, little-endian, {@link #size()} bytes. Call it for each use: placing or removing the
     * memory may replace the buffer.
     */
    ByteBuffer buffer();

    /**
     * The pages written since the last call, one bit per 4 KiB page (bit {@code p % 8} of byte {@code p / 8}), or
     * null when that cannot be told and every page counts as written.
     */
    byte[] writtenPages();

    /** Whether any page was written since the last call (or that cannot be told). */
    default boolean anyPageWritten() {
        byte[] pages = writtenPages();
        if (pages == null) {
            return true;
        }
        for (byte b : pages) {
            if (b != 0) {
                return true;
            }
        }
        return false;
    }
}
