package io.stubdm.ioreq;

/**
 * What the engine has served and refused. Written only by the device loop's thread; other threads read values
 * that may be a request or two behind.
 */
public final class IoreqStats {
    long pioReads;
    long pioWrites;
    long mmioReads;
    long mmioWrites;
    long pciReads;
    long pciWrites;
    long buffered;
    long timeOffsets;
    long invalidates;
    long invalid;
    long memoryFaults;
    long deviceErrors;
    long spurious;
    long protocolErrors;
    long unknownPorts;
    long bufferedErrors;

    public long pioReads() { return pioReads; }
    public long pioWrites() { return pioWrites; }
    public long mmioReads() { return mmioReads; }
    public long mmioWrites() { return mmioWrites; }
    public long pciReads() { return pciReads; }
    public long pciWrites() { return pciWrites; }
    /** Requests taken from the buffered ring (each also counted by type). */
    public long buffered() { return buffered; }
    public long timeOffsets() { return timeOffsets; }
    public long invalidates() { return invalidates; }
    /** Requests refused as malformed: bad size, count, type, direction or address. */
    public long invalid() { return invalid; }
    /** String I/O or rep movs that pointed at guest memory that is not RAM; the copy stopped there. */
    public long memoryFaults() { return memoryFaults; }
    /** Requests a device threw on; the guest got all-ones or a dropped write. */
    public long deviceErrors() { return deviceErrors; }
    /** Notifications whose slot was not READY. */
    public long spurious() { return spurious; }
    /** Slots whose state changed under the engine while it served them. */
    public long protocolErrors() { return protocolErrors; }
    /** Event-channel ports that nothing is bound to. */
    public long unknownPorts() { return unknownPorts; }
    /** Buffered-ring entries that were dropped: incomplete quad words, reads, corrupt pointers. */
    public long bufferedErrors() { return bufferedErrors; }

    public long served() {
        return pioReads + pioWrites + mmioReads + mmioWrites + pciReads + pciWrites + timeOffsets + invalidates;
    }

    @Override
    public String toString() {
        return "pio r/w " + pioReads + "/" + pioWrites + ", mmio r/w " + mmioReads + "/" + mmioWrites
                + ", pci r/w " + pciReads + "/" + pciWrites + ", buffered " + buffered + ", timeoffset " + timeOffsets
                + ", invalidate " + invalidates + ", invalid " + invalid + ", memory faults " + memoryFaults
                + ", device errors " + deviceErrors + ", spurious " + spurious + ", protocol errors " + protocolErrors
                + ", unknown ports " + unknownPorts + ", buffered errors " + bufferedErrors;
    }
}
