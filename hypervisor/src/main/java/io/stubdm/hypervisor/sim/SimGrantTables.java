package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.MappedPages;
import io.stubdm.hypervisor.XenException;
import java.nio.ByteBuffer;

/**
 * Grant mappings for a device model in domain 0 of the simulated Xen, with the checks Xen's
 * gnttab_map_grant_ref makes: the reference must be in use and granted to the mapping domain, and a read-only
 * grant cannot be mapped writable. The page is the guest's own frame, so both sides see each other's writes.
 */
final class SimGrantTables implements GrantTables {
    /** Device models of the simulated Xen run in domain 0. */
    private static final int MAPPING_DOMAIN = 0;

    private final SimXen xen;
    private volatile boolean closed;

    SimGrantTables(SimXen xen) {
        this.xen = xen;
    }

    @Override
    public ForeignMemory.ForeignMapping map(int domid, int ref, boolean writable) {
        if (closed) {
            throw new IllegalStateException("grant table handle is closed");
        }
        SimDomain d = xen.domainOrThrow("gnttab_map_grant_ref", domid);
        SimDomain.Grant g = d.grant(ref);
        String what = "domain " + domid + " grant ref " + ref;
        if (g == null) {
            throw new XenException("gnttab_map_grant_ref", XenException.EINVAL, what + " is not in use");
        }
        if (g.grantee() != MAPPING_DOMAIN) {
            throw new XenException("gnttab_map_grant_ref", XenException.EPERM, what + " is granted to domain "
                    + g.grantee());
        }
        if (writable && g.readOnly()) {
            throw new XenException("gnttab_map_grant_ref", XenException.EPERM, what + " is read-only");
        }
        int[] errors = new int[1];
        ByteBuffer page = d.ram().mapFrames(g.gfn(), 1, errors);
        if (errors[0] != 0) {
            throw new XenException("gnttab_map_grant_ref", XenException.EINVAL, what + ": gfn 0x"
                    + Long.toHexString(g.gfn()) + " is not RAM");
        }
        ByteBuffer view = writable ? page : page.asReadOnlyBuffer().order(page.order());
        return new MappedPages(view, () -> { }, "grant");
    }

    @Override
    public void close() {
        closed = true;
    }
}
