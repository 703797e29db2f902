package io.stubdm.hypervisor;

/**
 * The {@code dm_op}s a device model issues for one guest ({@code xen/include/public/hvm/dm_op.h}, libxendevicemodel).
 * Every method throws {@link XenException} with Xen's errno when Xen refuses.
 */
public interface DeviceModelOps {

    int domid();

    /** {@code XEN_DMOP_create_ioreq_server}; returns the server id. */
    int createIoreqServer(int handleBufioreq);

    /** {@code XEN_DMOP_get_ioreq_server_info} without gfns; returns the buffered ring's event-channel port in Xen. */
    int getBufioreqPort(int serverId);

    void mapIoRangeToIoreqServer(int serverId, IoRangeType type, long start, long endInclusive);

    void unmapIoRangeFromIoreqServer(int serverId, IoRangeType type, long start, long endInclusive);

    default void mapPcidevToIoreqServer(int serverId, int segment, int bus, int device, int function) {
        long sbdf = IoreqAbi.pciSbdf(segment, bus, device, function);
        mapIoRangeToIoreqServer(serverId, IoRangeType.PCI, sbdf, sbdf);
    }

    default void unmapPcidevFromIoreqServer(int serverId, int segment, int bus, int device, int function) {
        long sbdf = IoreqAbi.pciSbdf(segment, bus, device, function);
        unmapIoRangeFromIoreqServer(serverId, IoRangeType.PCI, sbdf, sbdf);
    }

    void setIoreqServerState(int serverId, boolean enabled);

    void destroyIoreqServer(int serverId);

    /** ISA IRQ 0-15, level 0 or 1. */
    void setIsaIrqLevel(int isaIrq, int level);

    /** Segment 0 and bus 0 only (Xen refuses others); device 0-31, intx 0 (INTA) to 3 (INTD). */
    void setPciIntxLevel(int segment, int bus, int device, int intx, int level);

    /** PCI link 0-3 (PIRQA-D) to ISA IRQ 1-15, or 0 to disconnect. */
    void setPciLinkRoute(int link, int isaIrq);

    void injectMsi(long address, int data);

    void remoteShutdown(ShutdownReason reason);

    /**
     * {@code XEN_DMOP_track_dirty_vram}: which of {@code count} pages from {@code firstPfn} the guest wrote since
     * the last call, one bit per page, or {@code null} when Xen cannot tell ({@code ENODATA}: treat all as dirty).
     * {@code count == 0} stops tracking.
     */
    byte[] trackDirtyVram(long firstPfn, int count);

    /** {@code XEN_DMOP_modified_memory}: tell log-dirty mode that the device model wrote these pages. */
    void modifiedMemory(long firstPfn, int count);

    void setMemType(MemType type, long firstPfn, int count);

    /**
     * {@code XENMEM_populate_physmap} (libxenctrl's {@code xc_domain_populate_physmap_exact}) of {@code count}
     * 4 KiB frames from {@code firstGfn}: memory the domain builder left to the device model, its video RAM. Not a
     * dm_op: only possible before the hypervisor handles are restricted to the guest.
     */
    void populatePhysmap(long firstGfn, int count);

    /** {@code XEN_DMOP_relocate_memory}: move {@code count} pages from {@code srcGfn} to {@code dstGfn}. */
    void relocateMemory(int count, long srcGfn, long dstGfn);

    /** {@code XEN_DMOP_pin_memory_cacheattr} for gfns {@code [start, end]}; type 6 is write-back. */
    void pinMemoryCacheattr(long startGfn, long endGfn, int type);

    /** {@code XEN_DMOP_nr_vcpus}. */
    int nrVcpus();
}
