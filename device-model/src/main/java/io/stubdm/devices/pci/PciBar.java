package io.stubdm.devices.pci;

import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.IoBus;

/**
 * One base address register's definition: what kind of space it decodes, how big (a power of two), and the
 * device window behind it. The current guest-programmed address lives in config space; the mapping onto the
 * bus follows it (and COMMAND's decode bits).
 */
public final class PciBar {
    public enum Kind { IO, MEMORY32, MEMORY64 }

    /**
     * Where a BAR backed by guest RAM goes, instead of ioreq decode: a VGA's video RAM is moved under its BAR
     * (qemu-xen's xen_add_to_physmap), so the guest's framebuffer accesses never reach the device model.
     */
    public interface RamPlacement {
        /** The guest decoded the BAR at {@code address}: the memory must appear there. */
        void placeAt(long address);

        /** The BAR is no longer decoded: the memory leaves the guest's address space. */
        void remove();
    }

    final Kind kind;
    final long size;
    final boolean prefetchable;
    final BusDevice device;
    final RamPlacement placement;
    final String name;
    IoBus.Registration mapping;
    long placedAt = -1;

    private PciBar(Kind kind, long size, boolean prefetchable, BusDevice device, String name) {
        this(kind, size, prefetchable, device, null, name);
    }

    private PciBar(Kind kind, long size, boolean prefetchable, BusDevice device, RamPlacement placement, String name) {
        if (size < (kind == Kind.IO ? 4 : 16) || Long.bitCount(size) != 1) {
            throw new IllegalArgumentException(name + ": BAR size must be a power of two (I/O >= 4, memory >= 16), not " + size);
        }
        if (kind == Kind.IO && size > 256) {
            throw new IllegalArgumentException(name + ": an I/O BAR decodes at most 256 bytes");
        }
        if (kind == Kind.MEMORY32 && size > (1L << 31)) {
            throw new IllegalArgumentException(name + ": a 32-bit BAR cannot be " + size + " bytes");
        }
        this.kind = kind;
        this.size = size;
        this.prefetchable = prefetchable;
        this.device = device;
        this.placement = placement;
        this.name = name;
    }

    public static PciBar io(long size, BusDevice device, String name) {
        return new PciBar(Kind.IO, size, false, device, name);
    }

    public static PciBar memory32(long size, boolean prefetchable, BusDevice device, String name) {
        return new PciBar(Kind.MEMORY32, size, prefetchable, device, name);
    }

    /** A 32-bit memory BAR whose contents are guest RAM that {@code placement} moves where the guest puts it. */
    public static PciBar ram32(long size, boolean prefetchable, RamPlacement placement, String name) {
        return new PciBar(Kind.MEMORY32, size, prefetchable, null, placement, name);
    }

    /** Takes two BAR slots, the second holding the upper 32 address bits. */
    public static PciBar memory64(long size, boolean prefetchable, BusDevice device, String name) {
        return new PciBar(Kind.MEMORY64, size, prefetchable, device, name);
    }

    public Kind kind() {
        return kind;
    }

    public long size() {
        return size;
    }

    /** Where the BAR is decoded now, or -1 when it is not (decode off, unprogrammed, or refused). */
    public long mappedAddress() {
        if (placement != null) {
            return placedAt;
        }
        return mapping == null ? -1 : mapping.mapping().base();
    }

    /** The read-only low bits of the register: space indicator, memory type, prefetchable. */
    int typeBits() {
        switch (kind) {
            case IO: return PciRegs.BAR_IO_SPACE;
            case MEMORY64: return PciRegs.BAR_MEM_TYPE_64 | (prefetchable ? PciRegs.BAR_MEM_PREFETCH : 0);
            default: return prefetchable ? PciRegs.BAR_MEM_PREFETCH : 0;
        }
    }
}
