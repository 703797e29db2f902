package io.stubdm.hypervisor.xen;

import static io.stubdm.hypervisor.xen.XenLibs.DeviceModel.*;

import com.sun.jna.Pointer;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.MemType;
import io.stubdm.hypervisor.ShutdownReason;
import io.stubdm.hypervisor.XenException;

/** dm_ops for one guest through libxendevicemodel. */
final class XenDeviceModel implements DeviceModelOps {
    private final Pointer handle;
    private final int domid;

    XenDeviceModel(Pointer handle, int domid) {
        this.handle = handle;
        this.domid = domid;
    }

    private void check(int rc, String op, String detail) {
        if (rc != 0) {
            throw XenLibs.fail(op, detail);
        }
    }

    @Override
    public int domid() {
        return domid;
    }

    @Override
    public int createIoreqServer(int handleBufioreq) {
        short[] id = new short[1];
        check(xendevicemodel_create_ioreq_server(handle, domid, handleBufioreq, id), "create_ioreq_server",
                "domain " + domid);
        return id[0] & 0xffff;
    }

    @Override
    public int getBufioreqPort(int serverId) {
        int[] port = new int[1];
        check(xendevicemodel_get_ioreq_server_info(handle, domid, serverId, null, null, port),
                "get_ioreq_server_info", "server " + serverId);
        return port[0];
    }

    @Override
    public void mapIoRangeToIoreqServer(int serverId, IoRangeType type, long start, long end) {
        if (type == IoRangeType.PCI) {
            int sbdf = (int) start;
            check(xendevicemodel_map_pcidev_to_ioreq_server(handle, domid, serverId, (short) (sbdf >>> 16),
                    (byte) (sbdf >>> 8), (byte) ((sbdf >>> 3) & 0x1f), (byte) (sbdf & 7)), "map_pcidev",
                    String.format("%04x:%02x:%02x.%x", sbdf >>> 16, (sbdf >>> 8) & 0xff, (sbdf >>> 3) & 0x1f, sbdf & 7));
            return;
        }
        check(xendevicemodel_map_io_range_to_ioreq_server(handle, domid, serverId, type == IoRangeType.MEMORY ? 1 : 0,
                start, end), "map_io_range_to_ioreq_server", String.format("%s 0x%x-0x%x", type, start, end));
    }

    @Override
    public void unmapIoRangeFromIoreqServer(int serverId, IoRangeType type, long start, long end) {
        if (type == IoRangeType.PCI) {
            int sbdf = (int) start;
            check(xendevicemodel_unmap_pcidev_from_ioreq_server(handle, domid, serverId, (short) (sbdf >>> 16),
                    (byte) (sbdf >>> 8), (byte) ((sbdf >>> 3) & 0x1f), (byte) (sbdf & 7)), "unmap_pcidev",
                    Integer.toHexString(sbdf));
            return;
        }
        check(xendevicemodel_unmap_io_range_from_ioreq_server(handle, domid, serverId,
                type == IoRangeType.MEMORY ? 1 : 0, start, end), "unmap_io_range_from_ioreq_server",
                String.format("%s 0x%x-0x%x", type, start, end));
    }

    @Override
    public void setIoreqServerState(int serverId, boolean enabled) {
        check(xendevicemodel_set_ioreq_server_state(handle, domid, serverId, enabled ? 1 : 0), "set_ioreq_server_state",
                "server " + serverId);
    }

    @Override
    public void destroyIoreqServer(int serverId) {
        check(xendevicemodel_destroy_ioreq_server(handle, domid, serverId), "destroy_ioreq_server", "server " + serverId);
    }

    @Override
    public void setIsaIrqLevel(int isaIrq, int level) {
        check(xendevicemodel_set_isa_irq_level(handle, domid, (byte) isaIrq, level), "set_isa_irq_level", "IRQ " + isaIrq);
    }

    @Override
    public void setPciIntxLevel(int segment, int bus, int device, int intx, int level) {
        check(xendevicemodel_set_pci_intx_level(handle, domid, (short) segment, (byte) bus, (byte) device, (byte) intx,
                level), "set_pci_intx_level", "device " + device + " INT" + (char) ('A' + intx));
    }

    @Override
    public void setPciLinkRoute(int link, int isaIrq) {
        check(xendevicemodel_set_pci_link_route(handle, domid, (byte) link, (byte) isaIrq), "set_pci_link_route",
                "link " + link + " -> IRQ " + isaIrq);
    }

    @Override
    public void injectMsi(long address, int data) {
        check(xendevicemodel_inject_msi(handle, domid, address, data), "inject_msi", Long.toHexString(address));
    }

    @Override
    public void remoteShutdown(ShutdownReason reason) {
        check(xendevicemodel_shutdown(handle, domid, reason.code), "remote_shutdown", reason.name());
    }

    @Override
    public byte[] trackDirtyVram(long firstPfn, int count) {
        long[] words = new long[Math.max(1, (count + 63) / 64)];
        int rc = xendevicemodel_track_dirty_vram(handle, domid, firstPfn, count, count == 0 ? null : words);
        if (rc != 0) {
            XenException e = XenLibs.fail("track_dirty_vram", "pfn " + firstPfn + " nr " + count);
            if (e.errno() == XenException.ENODATA) {
                return null;
            }
            throw e;
        }
        byte[] bitmap = new byte[(count + 7) / 8];
        for (int i = 0; i < bitmap.length; i++) {
            bitmap[i] = (byte) (words[i / 8] >>> (8 * (i % 8)));
        }
        return bitmap;
    }

    @Override
    public void modifiedMemory(long firstPfn, int count) {
        check(xendevicemodel_modified_memory(handle, domid, firstPfn, count), "modified_memory", "pfn " + firstPfn);
    }

    @Override
    public void setMemType(MemType type, long firstPfn, int count) {
        check(xendevicemodel_set_mem_type(handle, domid, type.code, firstPfn, count), "set_mem_type", type.name());
    }

    /**
     * Through a libxenctrl handle opened for the call and closed after it: an open one would be a privcmd handle
     * that {@link #restrict()} does not cover.
     */
    @Override
    public void populatePhysmap(long firstGfn, int count) {
        if (XenLibs.Ctrl.UNAVAILABLE != null) {
            throw new XenException("populate_physmap", XenException.ENOSYS, XenLibs.Ctrl.UNAVAILABLE);
        }
        if (count <= 0) {
            throw new XenException("populate_physmap", XenException.EINVAL, "count " + count);
        }
        Pointer xch = XenLibs.Ctrl.xc_interface_open(null, null, 0);
        if (xch == null) {
            throw XenLibs.fail("xc_interface_open", "/dev/xen/privcmd");
        }
        try {
            long[] gfns = new long[count];
            for (int i = 0; i < count; i++) {
                gfns[i] = firstGfn + i;
            }
            check(XenLibs.Ctrl.xc_domain_populate_physmap_exact(xch, domid, count, 0, 0, gfns), "populate_physmap",
                    String.format("domain %d gfns 0x%x+%d", domid, firstGfn, count));
        } finally {
            XenLibs.Ctrl.xc_interface_close(xch);
        }
    }

    @Override
    public void relocateMemory(int count, long srcGfn, long dstGfn) {
        check(xendevicemodel_relocate_memory(handle, domid, count, srcGfn, dstGfn), "relocate_memory",
                count + " pages");
    }

    @Override
    public void pinMemoryCacheattr(long startGfn, long endGfn, int type) {
        check(xendevicemodel_pin_memory_cacheattr(handle, domid, startGfn, endGfn, type), "pin_memory_cacheattr",
                startGfn + "-" + endGfn);
    }

    @Override
    public int nrVcpus() {
        int[] n = new int[1];
        check(xendevicemodel_nr_vcpus(handle, domid, n), "nr_vcpus", "domain " + domid);
        return n[0];
    }

    /** After set-up: this handle may touch only this guest from now on. */
    void restrict() {
        check(xendevicemodel_restrict(handle, domid), "xendevicemodel_restrict", "domain " + domid);
    }
}
