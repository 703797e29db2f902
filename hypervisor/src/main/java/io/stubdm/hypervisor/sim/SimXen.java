package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.Hypervisor;
import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An in-process Xen with the real shared-memory ABI: ioreq pages laid out byte for byte as Xen lays them out,
 * the buffered ring with Xen's pointer canonicalisation, event channels with the Linux driver's masking, dm_ops
 * with Xen's argument checks, and a xenstore. Tests create guests, act as their vCPUs, and look at what the
 * device model asked of Xen.
 */
public final class SimXen implements Hypervisor {
    private final Map<Integer, SimDomain> domains = new ConcurrentHashMap<>();
    private final SimXenStoreDaemon xenStore = new SimXenStoreDaemon();
    private final List<SimForeignMemory> foreignHandles = new ArrayList<>();

    /** Creates an HVM guest with {@code ramBytes} of RAM (whole MiB, up to 1 GiB) and {@code vcpus} vCPUs. */
    public SimDomain createDomain(int domid, long ramBytes, int vcpus) {
        if (domid <= 0 || domid >= 0x7ff0) {
            throw new IllegalArgumentException("guest domain ids are 1..0x7fef, not " + domid);
        }
        SimDomain d = new SimDomain(this, domid, ramBytes, vcpus);
        if (domains.putIfAbsent(domid, d) != null) {
            throw new IllegalArgumentException("domain " + domid + " exists");
        }
        xenStore.introduceDomain(domid);
        return d;
    }

    public SimDomain domain(int domid) {
        return domains.get(domid);
    }

    public SimXenStoreDaemon xenStoreDaemon() {
        return xenStore;
    }

    SimDomain domainOrThrow(String op, int domid) {
        SimDomain d = domains.get(domid);
        if (d == null) {
            throw new XenException(op, XenException.ESRCH, "no domain " + domid);
        }
        return d;
    }

    @Override
    public DeviceModelOps deviceModel(int domid) {
        return domainOrThrow("xendevicemodel", domid).deviceModelOps();
    }

    @Override
    public ForeignMemory foreignMemory(int domid) {
        SimForeignMemory f = new SimForeignMemory(domainOrThrow("xenforeignmemory", domid));
        synchronized (foreignHandles) {
            foreignHandles.add(f);
        }
        return f;
    }

    /** Foreign mappings that device models opened and have not closed, over all handles. */
    public long liveForeignMappings() {
        synchronized (foreignHandles) {
            return foreignHandles.stream().mapToLong(SimForeignMemory::liveMappings).sum();
        }
    }

    @Override
    public EventChannels openEventChannels() {
        return new SimEventChannels(this);
    }

    @Override
    public XenStore openXenStore() {
        return xenStore.connect(0);
    }

    @Override
    public GrantTables openGrantTables() {
        return new SimGrantTables(this);
    }

    @Override
    public void close() {
        domains.clear();
    }
}
