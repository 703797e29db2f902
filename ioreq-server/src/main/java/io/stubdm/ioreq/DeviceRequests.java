package io.stubdm.ioreq;

/**
 * The requests one device has been sent, by direction: a named bus range (all of its registrations, so a BAR the
 * guest moves keeps counting) or a PCI function's configuration space. A rep request counts once, as one ioreq.
 * Written only by the device loop's thread; other threads read values that may be a request or two behind.
 */
public final class DeviceRequests {
    private final String device;
    // Plain fields, as in IoreqStats: a volatile write on every request would put a fence on the ioreq hot path.
    private long reads;
    private long writes;

    DeviceRequests(String device) {
        this.device = device;
    }

    public String device() {
        return device;
    }

    public long reads() {
        return reads;
    }

    public long writes() {
        return writes;
    }

    void count(boolean read) {
        if (read) {
            reads++;
        } else {
            writes++;
        }
    }

    @Override
    public String toString() {
        return device + " r/w " + reads + "/" + writes;
    }
}
