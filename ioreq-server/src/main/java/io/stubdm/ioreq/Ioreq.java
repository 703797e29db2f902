package io.stubdm.ioreq;

import io.stubdm.hypervisor.IoreqAbi;

/**
 * One request as the engine handles it, decoded from an {@code ioreq_t} slot or a buffered-ring entry. Mutable
 * and reused per vCPU so that serving a request allocates nothing; {@link #data} carries the result of a read back.
 */
public final class Ioreq {
    public int type;
    public long addr;
    public long data;
    public int count;
    public int size;
    public boolean read;
    public boolean df;
    public boolean dataIsPtr;

    public Ioreq set(int type, long addr, long data, int count, int size, boolean read, boolean df, boolean dataIsPtr) {
        this.type = type;
        this.addr = addr;
        this.data = data;
        this.count = count;
        this.size = size;
        this.read = read;
        this.df = df;
        this.dataIsPtr = dataIsPtr;
        return this;
    }

    @Override
    public String toString() {
        return String.format("%s %s addr=0x%x size=%d count=%d data=0x%x%s%s", IoreqAbi.typeName(type),
                read ? "read" : "write", addr, size, count, data, dataIsPtr ? " data_is_ptr" : "", df ? " df" : "");
    }
}
