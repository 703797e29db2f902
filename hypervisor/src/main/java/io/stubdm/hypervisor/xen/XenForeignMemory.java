package io.stubdm.hypervisor.xen;

import static io.stubdm.hypervisor.xen.XenLibs.ForeignMemory.*;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.MappedPages;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One guest's frames mapped through libxenforeignmemory. A mapping's buffer points straight at the mapped
 * pages: touching it after {@link ForeignMapping#close()} would fault the JVM, which is why the map cache
 * reference-counts what it hands out.
 */
final class XenForeignMemory implements ForeignMemory {
    private static final int PAGE = 4096;

    private final Pointer handle;
    private final int domid;
    private boolean closed;

    XenForeignMemory(Pointer handle, int domid) {
        this.handle = handle;
        this.domid = domid;
    }

    @Override
    public synchronized ForeignMapping mapPages(long firstGfn, int count, int[] errors) {
        long[] gfns = new long[count];
        for (int i = 0; i < count; i++) {
            gfns[i] = firstGfn + i;
        }
        Pointer p = xenforeignmemory_map2(handle, domid, null, XenLibs.PROT_READ | XenLibs.PROT_WRITE, 0, count, gfns,
                errors);
        if (p == null) {
            throw XenLibs.fail("xenforeignmemory_map2", "gfn 0x" + Long.toHexString(firstGfn) + " + " + count);
        }
        for (int i = 0; i < count; i++) {
            errors[i] = Math.abs(errors[i]); // the library reports -errno per page
        }
        ByteBuffer buffer = p.getByteBuffer(0, (long) count * PAGE).order(ByteOrder.LITTLE_ENDIAN);
        return new MappedPages(buffer, () -> xenforeignmemory_unmap(handle, p, count), "foreign");
    }

    @Override
    public synchronized ForeignMapping mapResource(int type, int id, int firstFrame, int frameCount) {
        PointerByReference address = new PointerByReference();
        Pointer resource = xenforeignmemory_map_resource(handle, domid, type, id, firstFrame, frameCount, address,
                XenLibs.PROT_READ | XenLibs.PROT_WRITE, 0);
        if (resource == null) {
            throw XenLibs.fail("xenforeignmemory_map_resource", "type " + type + " id " + id + " frames "
                    + firstFrame + "+" + frameCount);
        }
        ByteBuffer buffer = address.getValue().getByteBuffer(0, (long) frameCount * PAGE).order(ByteOrder.LITTLE_ENDIAN);
        return new MappedPages(buffer, () -> xenforeignmemory_unmap_resource(handle, resource), "foreign");
    }

    void restrict() {
        if (xenforeignmemory_restrict(handle, domid) != 0) {
            throw XenLibs.fail("xenforeignmemory_restrict", "domain " + domid);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            xenforeignmemory_close(handle);
        }
    }
}
