package io.stubdm.ioreq;

import io.stubdm.hypervisor.IoRangeType;

/**
 * Tells Xen which accesses to send here: a bus calls it as devices come and go, and the ioreq server turns it
 * into {@code map_io_range_to_ioreq_server} / {@code unmap_io_range_from_ioreq_server}.
 */
public interface RangeClaimer {

    void claim(IoRangeType type, long start, long endInclusive);

    void release(IoRangeType type, long start, long endInclusive);
}
