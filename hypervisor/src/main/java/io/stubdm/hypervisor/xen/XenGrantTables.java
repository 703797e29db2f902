package io.stubdm.hypervisor.xen;

import static io.stubdm.hypervisor.xen.XenLibs.GrantTable.*;

import com.sun.jna.Pointer;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.MappedPages;
import io.stubdm.hypervisor.XenException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Grant mappings through libxengnttab. As with foreign mappings, a mapping's buffer points at the mapped page:
 * it must not be touched after its {@code close()}, and every mapping must be closed before this handle (the
 * gntdev driver would keep the pages mapped otherwise).
 */
final class XenGrantTables implements GrantTables {
    private static final int PAGE = 4096;

    private final Pointer handle;
    private boolean closed;

    private XenGrantTables(Pointer handle) {
        this.handle = handle;
    }

    static XenGrantTables open() {
        if (XenLibs.GrantTable.UNAVAILABLE != null) {
            throw new XenException("load libxengnttab", XenException.ENOSYS, XenLibs.GrantTable.UNAVAILABLE);
        }
        Pointer h = xengnttab_open(null, 0);
        if (h == null) {
            throw XenLibs.fail("xengnttab_open", "/dev/xen/gntdev: is the xen_gntdev module loaded?");
        }
        return new XenGrantTables(h);
    }

    @Override
    public synchronized ForeignMemory.ForeignMapping map(int domid, int ref, boolean writable) {
        if (closed) {
            throw new IllegalStateException("grant table handle is closed");
        }
        int prot = XenLibs.PROT_READ | (writable ? XenLibs.PROT_WRITE : 0);
        Pointer p = xengnttab_map_grant_ref(handle, domid, ref, prot);
        if (p == null) {
            throw XenLibs.fail("xengnttab_map_grant_ref", "domain " + domid + " grant ref " + ref
                    + (writable ? " (writable)" : " (read-only)"));
        }
        ByteBuffer buffer = p.getByteBuffer(0, PAGE).order(ByteOrder.LITTLE_ENDIAN);
        return new MappedPages(buffer, () -> {
            synchronized (XenGrantTables.this) {
                xengnttab_unmap(handle, p, 1);
            }
        }, "grant");
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            xengnttab_close(handle);
        }
    }
}
