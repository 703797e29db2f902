package io.stubdm.hypervisor;

/**
 * Pages that other domains granted to this one (libxengnttab over /dev/xen/gntdev): how a backend reaches a
 * frontend's shared ring without the privilege to map arbitrary frames, and the only way once the device model
 * runs in a stub domain. Each grant reference names one page of the granting domain.
 */
public interface GrantTables extends AutoCloseable {

    /**
     * Maps the page that {@code domid} granted to this domain under reference {@code ref}. Read-only unless
     * {@code writable}; a writable mapping of a read-only grant, a reference not granted to this domain, or one
     * that is not in use fails with a {@link XenException} (EINVAL/EPERM/ENOENT from Xen).
     */
    ForeignMemory.ForeignMapping map(int domid, int ref, boolean writable);

    @Override
    void close();

    /**
     * Grant references that the toolstack fills in for every guest before it starts (xc_dom_gnttab_seed, Xen's
     * public/grant_table.h): the console ring for the console backend's domain, the xenstore ring for
     * xenstored's.
     */
    int RESERVED_CONSOLE = 0;
    int RESERVED_XENSTORE = 1;
}
