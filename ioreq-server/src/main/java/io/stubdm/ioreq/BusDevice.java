package io.stubdm.ioreq;

/**
 * A device's window on a bus: port I/O, MMIO or PCI configuration space. The bus hands it the offset into the
 * range it registered, never the absolute address, so a device can be moved (a BAR reprogrammed) without knowing.
 * Called only on the device loop's thread.
 */
public interface BusDevice {

    /** Reads {@code size} (1, 2, 4 or 8) bytes at {@code offset}; the bus masks the result to {@code size}. */
    long read(long offset, int size);

    /** Writes the low {@code size} bytes of {@code value} (already masked) at {@code offset}. */
    void write(long offset, int size, long value);
}
