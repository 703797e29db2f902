package io.stubdm.devices.xenplatform;

/**
 * Write-protection of the BIOS and option-ROM shadow, guest frames 0xC0-0xFF (0xC0000-0xFFFFF), as the Xen
 * platform device's flag bit 0 asks. The machine implements it with {@code XEN_DMOP_set_mem_type}
 * ({@code HVMMEM_ram_ro} / {@code HVMMEM_ram_rw}) on those 0x40 frames, as QEMU's
 * {@code platform_fixed_ioport_writeb} does.
 */
@FunctionalInterface
public interface BiosRomLock {

    /** First frame and frame count of the shadow area the lock covers. */
    long FIRST_PFN = 0xC0;
    int PAGE_COUNT = 0x40;

    /**
     * Makes the shadow area read-only or read-write. Returns false when Xen refused; the device then keeps its
     * previous flag value, as QEMU does when {@code xen_set_mem_type} fails.
     */
    boolean setRomReadOnly(boolean readOnly);
}
