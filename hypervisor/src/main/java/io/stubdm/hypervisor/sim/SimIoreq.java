package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.IoreqAbi;

/**
 * An I/O request as the simulated Xen builds it for a vCPU: the fields of {@code ioreq_t} less its state.
 * Mutable and reusable so that a benchmark can post requests without allocating.
 */
public final class SimIoreq {
    public long addr;
    public long data;
    public int count = 1;
    public int size;
    public int type;
    public boolean read;
    public boolean df;
    public boolean dataIsPtr;
    /** Raw override for the bits 4-7 of the flags byte; only malformed-request tests set it. */
    public int extraFlagBits;

    public static SimIoreq pio(int port, int size, boolean read, long data) {
        return of(IoreqAbi.IOREQ_TYPE_PIO, port, size, read, data);
    }

    public static SimIoreq mmio(long addr, int size, boolean read, long data) {
        return of(IoreqAbi.IOREQ_TYPE_COPY, addr, size, read, data);
    }

    public static SimIoreq of(int type, long addr, int size, boolean read, long data) {
        SimIoreq r = new SimIoreq();
        r.type = type;
        r.addr = addr;
        r.size = size;
        r.read = read;
        r.data = data;
        return r;
    }

    public SimIoreq rep(int count, boolean df, boolean dataIsPtr) {
        this.count = count;
        this.df = df;
        this.dataIsPtr = dataIsPtr;
        return this;
    }

    public SimIoreq copy() {
        SimIoreq r = new SimIoreq();
        r.addr = addr;
        r.data = data;
        r.count = count;
        r.size = size;
        r.type = type;
        r.read = read;
        r.df = df;
        r.dataIsPtr = dataIsPtr;
        r.extraFlagBits = extraFlagBits;
        return r;
    }

    int flagsWithState(int state) {
        return (state & IoreqAbi.FLAG_STATE_MASK)
                | (dataIsPtr ? IoreqAbi.FLAG_DATA_IS_PTR : 0)
                | (read ? IoreqAbi.FLAG_DIR_READ : 0)
                | (df ? IoreqAbi.FLAG_DF : 0)
                | (extraFlagBits & 0x80);
    }

    @Override
    public String toString() {
        return String.format("%s %s addr=0x%x size=%d count=%d data=0x%x%s%s", IoreqAbi.typeName(type),
                read ? "read" : "write", addr, size, count, data, dataIsPtr ? " ptr" : "", df ? " df" : "");
    }
}
