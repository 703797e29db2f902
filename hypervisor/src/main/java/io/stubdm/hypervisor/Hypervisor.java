package io.stubdm.hypervisor;

/**
 * Everything a device model asks of Xen. Two implementations: the real one over Debian's libxen* libraries, and
 * {@link io.stubdm.hypervisor.sim.SimXen}, an in-process Xen with the same ABI for tests.
 */
public interface Hypervisor extends AutoCloseable {

    DeviceModelOps deviceModel(int domid);

    ForeignMemory foreignMemory(int domid);

    EventChannels openEventChannels();

    XenStore openXenStore();

    /** A handle on the grant tables of other domains, for mapping what they granted to this one. */
    GrantTables openGrantTables();

    @Override
    void close();
}
