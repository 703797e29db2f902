package io.stubdm.hypervisor;

/**
 * A device model touched guest-physical memory that is not RAM (a hole, an MMIO window, or past the end of RAM).
 * It names the guest-physical range so that the log says which DMA or string I/O went wrong.
 */
public class GuestMemoryException extends RuntimeException {
    private final long address;
    private final long length;

    public GuestMemoryException(long address, long length, String why) {
        super(String.format("guest memory [0x%x, +0x%x) %s", address, length, why));
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }
}
