package io.stubdm.hypervisor.xen;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import io.stubdm.hypervisor.XenException;

/**
 * JNA direct mappings of Debian's Xen 4.17 libraries (libxendevicemodel.so.1, libxenforeignmemory.so.1,
 * libxenevtchn.so.1, libxenstore.so.4) and the few libc calls the event loop needs. Direct mapping because the
 * event-channel calls sit on the per-request path (about 70-100 ns a call here, against ~300 ns for
 * interface mapping; anchors.md B.1). Signatures follow /usr/include/xen*.h; C {@code domid_t} and
 * {@code ioservid_t} are 16-bit, passed here as int (the C ABI widens them).
 */
final class XenLibs {
    private XenLibs() {}

    /** Why the libraries could not be bound, or null when they were. */
    static final String UNAVAILABLE;

    static {
        String why = null;
        try {
            Native.register(DeviceModel.class, NativeLibrary.getInstance("libxendevicemodel.so.1"));
            Native.register(ForeignMemory.class, NativeLibrary.getInstance("libxenforeignmemory.so.1"));
            Native.register(EventChannel.class, NativeLibrary.getInstance("libxenevtchn.so.1"));
            Native.register(Store.class, NativeLibrary.getInstance("libxenstore.so.4"));
            Native.register(Libc.class, NativeLibrary.getInstance("c"));
        } catch (UnsatisfiedLinkError e) {
            why = "Xen's libraries are not installed (Debian packages libxendevicemodel1, libxenforeignmemory1, "
                    + "libxenevtchn1, libxenstore4): " + e.getMessage();
        }
        UNAVAILABLE = why;
    }

    static void require() {
        if (UNAVAILABLE != null) {
            throw new XenException("load libraries", XenException.ENOSYS, UNAVAILABLE);
        }
    }

    /** Turns a C failure into a XenException with errno. */
    static XenException fail(String operation, String detail) {
        return new XenException(operation, Native.getLastError(), detail);
    }

    static final class DeviceModel {
        static native Pointer xendevicemodel_open(Pointer logger, int flags);
        static native int xendevicemodel_close(Pointer h);
        static native int xendevicemodel_create_ioreq_server(Pointer h, int domid, int handleBufioreq, short[] id);
        static native int xendevicemodel_get_ioreq_server_info(Pointer h, int domid, int id, Pointer ioreqGfn,
                Pointer bufioreqGfn, int[] bufioreqPort);
        static native int xendevicemodel_map_io_range_to_ioreq_server(Pointer h, int domid, int id, int isMmio,
                long start, long end);
        static native int xendevicemodel_unmap_io_range_from_ioreq_server(Pointer h, int domid, int id, int isMmio,
                long start, long end);
        static native int xendevicemodel_map_pcidev_to_ioreq_server(Pointer h, int domid, int id, short segment,
                byte bus, byte device, byte function);
        static native int xendevicemodel_unmap_pcidev_from_ioreq_server(Pointer h, int domid, int id, short segment,
                byte bus, byte device, byte function);
        static native int xendevicemodel_destroy_ioreq_server(Pointer h, int domid, int id);
        static native int xendevicemodel_set_ioreq_server_state(Pointer h, int domid, int id, int enabled);
        static native int xendevicemodel_set_pci_intx_level(Pointer h, int domid, short segment, byte bus, byte device,
                byte intx, int level);
        static native int xendevicemodel_set_isa_irq_level(Pointer h, int domid, byte irq, int level);
        static native int xendevicemodel_set_pci_link_route(Pointer h, int domid, byte link, byte irq);
        static native int xendevicemodel_inject_msi(Pointer h, int domid, long address, int data);
        static native int xendevicemodel_track_dirty_vram(Pointer h, int domid, long firstPfn, int nr, long[] bitmap);
        static native int xendevicemodel_modified_memory(Pointer h, int domid, long firstPfn, int nr);
        static native int xendevicemodel_set_mem_type(Pointer h, int domid, int memType, long firstPfn, int nr);
        static native int xendevicemodel_relocate_memory(Pointer h, int domid, int size, long srcGfn, long dstGfn);
        static native int xendevicemodel_pin_memory_cacheattr(Pointer h, int domid, long start, long end, int type);
        static native int xendevicemodel_shutdown(Pointer h, int domid, int reason);
        static native int xendevicemodel_nr_vcpus(Pointer h, int domid, int[] vcpus);
        static native int xendevicemodel_restrict(Pointer h, int domid);
    }

    /**
     * libxenctrl (Debian's libxenctrl.so.4.17), for the one call a device model needs from it: populating its video
     * RAM. Bound on first use, so that a missing library costs only that.
     */
    static final class Ctrl {
        static final String UNAVAILABLE;

        static {
            String why = null;
            try {
                Native.register(Ctrl.class, NativeLibrary.getInstance("libxenctrl.so.4.17"));
            } catch (UnsatisfiedLinkError e) {
                why = "libxenctrl.so.4.17 is not installed (Debian package libxenmisc4.17): " + e.getMessage();
            }
            UNAVAILABLE = why;
        }

        static native Pointer xc_interface_open(Pointer logger, Pointer dombuildLogger, int openFlags);
        static native int xc_interface_close(Pointer xch);
        static native int xc_domain_populate_physmap_exact(Pointer xch, int domid, long nrExtents, int extentOrder,
                int memFlags, long[] extentStart);
    }

    /** libxengnttab (Debian's libxengnttab1): bound on first use, like {@link Ctrl}. */
    static final class GrantTable {
        static final String UNAVAILABLE;

        static {
            String why = null;
            try {
                Native.register(GrantTable.class, NativeLibrary.getInstance("libxengnttab.so.1"));
            } catch (UnsatisfiedLinkError e) {
                why = "libxengnttab.so.1 is not installed (Debian package libxengnttab1): " + e.getMessage();
            }
            UNAVAILABLE = why;
        }

        static native Pointer xengnttab_open(Pointer logger, int openFlags);
        static native int xengnttab_close(Pointer xgt);
        static native Pointer xengnttab_map_grant_ref(Pointer xgt, int domid, int ref, int prot);
        static native int xengnttab_unmap(Pointer xgt, Pointer startAddress, int count);
    }

    static final class ForeignMemory {
        static native Pointer xenforeignmemory_open(Pointer logger, int flags);
        static native int xenforeignmemory_close(Pointer h);
        static native Pointer xenforeignmemory_map2(Pointer h, int domid, Pointer addr, int prot, int flags,
                long pages, long[] gfns, int[] errors);
        static native int xenforeignmemory_unmap(Pointer h, Pointer addr, long pages);
        static native Pointer xenforeignmemory_map_resource(Pointer h, int domid, int type, int id, long frame,
                long nrFrames, PointerByReference address, int prot, int flags);
        static native int xenforeignmemory_unmap_resource(Pointer h, Pointer resource);
        static native int xenforeignmemory_restrict(Pointer h, int domid);
    }

    static final class EventChannel {
        static native Pointer xenevtchn_open(Pointer logger, int flags);
        static native int xenevtchn_close(Pointer h);
        static native int xenevtchn_fd(Pointer h);
        static native int xenevtchn_bind_interdomain(Pointer h, int domid, int remotePort);
        static native int xenevtchn_unbind(Pointer h, int port);
        static native int xenevtchn_notify(Pointer h, int port);
        static native int xenevtchn_pending(Pointer h);
        static native int xenevtchn_unmask(Pointer h, int port);
    }

    static final class Store {
        static native Pointer xs_open(long flags);
        static native void xs_close(Pointer h);
        static native Pointer xs_read(Pointer h, int transaction, String path, IntByReference length);
        static native boolean xs_write(Pointer h, int transaction, String path, byte[] data, int length);
        static native boolean xs_mkdir(Pointer h, int transaction, String path);
        static native boolean xs_rm(Pointer h, int transaction, String path);
        static native Pointer xs_directory(Pointer h, int transaction, String path, IntByReference count);
        static native Pointer xs_get_permissions(Pointer h, int transaction, String path, IntByReference count);
        static native boolean xs_set_permissions(Pointer h, int transaction, String path, int[] permissions, int count);
        static native boolean xs_watch(Pointer h, String path, String token);
        static native boolean xs_unwatch(Pointer h, String path, String token);
        static native Pointer xs_read_watch(Pointer h, IntByReference count);
        static native int xs_fileno(Pointer h);
    }

    /** libc: freeing what libxenstore returns, and the poll/eventfd pair that lets the loop wait with a timeout. */
    static final class Libc {
        static native void free(Pointer p);
        static native int poll(int[] fds, long nfds, int timeoutMs);
        static native int eventfd(int initval, int flags);
        static native long read(int fd, long[] buf, long count);
        static native long write(int fd, long[] buf, long count);
        static native int close(int fd);
        static native int fcntl(int fd, int cmd, int arg);
    }

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int F_GETFL = 3;
    static final int F_SETFL = 4;
    static final int O_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;
    static final short POLLIN = 0x1;
    static final int XBT_NULL = 0;
    static final int XS_WATCH_PATH = 0;
}
