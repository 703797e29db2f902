package io.stubdm.ioreq;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.MapCacheGuestMemory;
import io.stubdm.hypervisor.sim.SimDomain;
import io.stubdm.hypervisor.sim.SimXen;

/**
 * The ioreq engine wired to a simulated Xen exactly as the device model wires it to the real one: a guest,
 * buses, a map-cache guest memory over foreign mappings, the dispatcher, the device loop and the server.
 */
final class EngineRig implements AutoCloseable {
    static final int DOMID = 7;

    final SimXen xen = new SimXen();
    final SimDomain domain;
    final IoBus ports = IoBus.ports();
    final IoBus mmio = IoBus.mmio();
    final PciConfigBus pci = new PciConfigBus();
    final MapCacheGuestMemory memory;
    final IoreqDispatcher dispatcher;
    final DeviceLoop loop;
    final IoreqServer server;
    final GuestMemory guest;

    EngineRig(int vcpus) {
        domain = xen.createDomain(DOMID, 64 << 20, vcpus);
        memory = new MapCacheGuestMemory(xen.foreignMemory(DOMID));
        dispatcher = new IoreqDispatcher(ports, mmio, pci, memory);
        loop = new DeviceLoop(xen.openEventChannels(), "test-device-loop");
        server = new IoreqServer(xen, DOMID, vcpus, loop, dispatcher);
        guest = domain.guestMemory();
    }

    /** Starts the server and runs the loop on its own thread. */
    EngineRig startThreaded() {
        server.start();
        loop.start();
        return this;
    }

    /** Starts the server only; the test steps the loop with {@code loop.runOnce}. */
    EngineRig startStepped() {
        server.start();
        return this;
    }

    IoreqStats stats() {
        return dispatcher.stats();
    }

    @Override
    public void close() {
        loop.close();
        server.close();
    }
}
