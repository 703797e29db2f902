package io.stubdm.hypervisor;

/** {@code XEN_DMOP_IO_RANGE_*}: what an ioreq server claims. */
public enum IoRangeType {
    PORT(0), MEMORY(1), PCI(2);

    public final int code;

    IoRangeType(int code) {
        this.code = code;
    }
}
