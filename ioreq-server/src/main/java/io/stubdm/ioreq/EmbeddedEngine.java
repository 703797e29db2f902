package io.stubdm.ioreq;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.MapCacheGuestMemory;
import io.stubdm.hypervisor.sim.SimDomain;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.hypervisor.sim.SimXen;
import java.util.function.Supplier;

/**
 * The ioreq engine wired to a simulated Xen exactly as the device model wires it to the real one (a guest,
 * buses, a map-cache guest memory over foreign mappings, the dispatcher, the device loop and the server), for
 * device tests that replay what guest software does: the counterpart of Netty's {@code EmbeddedChannel}.
 *
 * <p>The test thread plays the guest's vCPUs ({@link #vcpu}); devices run on the loop's own thread, as in
 * production. Register devices before {@link #start()} or from the loop ({@link #onLoop}).
 */
public final class EmbeddedEngine implements AutoCloseable {
    public static final int DEFAULT_DOMID = 7;

    private final SimXen xen = new SimXen();
    private final SimDomain domain;
    private final IoBus ports = IoBus.ports();
    private final IoBus mmio = IoBus.mmio();
    private final PciConfigBus pci = new PciConfigBus();
    private final MapCacheGuestMemory memory;
    private final IoreqDispatcher dispatcher;
    private final DeviceLoop loop;
    private final IoreqServer server;
    private final GuestMemory guestView;

    public EmbeddedEngine(int vcpus, long ramBytes) {
        domain = xen.createDomain(DEFAULT_DOMID, ramBytes, vcpus);
        memory = new MapCacheGuestMemory(xen.foreignMemory(DEFAULT_DOMID));
        dispatcher = new IoreqDispatcher(ports, mmio, pci, memory);
        loop = new DeviceLoop(xen.openEventChannels(), "embedded-device-loop");
        server = new IoreqServer(xen, DEFAULT_DOMID, vcpus, loop, dispatcher);
        guestView = domain.guestMemory();
    }

    /** One vCPU and 64 MiB of RAM. */
    public EmbeddedEngine() {
        this(1, 64L << 20);
    }

    /** Starts the ioreq server and the loop thread. */
    public EmbeddedEngine start() {
        server.start();
        loop.start();
        return this;
    }

    /** Runs {@code action} on the device loop and waits for it: how a test touches device state safely. */
    public <T> T onLoop(Supplier<T> action) {
        return loop.call(action, 10_000);
    }

    public void onLoop(Runnable action) {
        onLoop(() -> {
            action.run();
            return null;
        });
    }

    public SimXen xen() {
        return xen;
    }

    public SimDomain domain() {
        return domain;
    }

    public SimVcpu vcpu(int index) {
        return domain.vcpu(index);
    }

    public IoBus ports() {
        return ports;
    }

    public IoBus mmio() {
        return mmio;
    }

    public PciConfigBus pci() {
        return pci;
    }

    /** Guest memory as the device model sees it (map cache over foreign mappings). */
    public GuestMemory memory() {
        return memory;
    }

    /** Guest memory as the guest sees it, to place buffers and check what devices wrote. */
    public GuestMemory guestMemory() {
        return guestView;
    }

    public IoreqDispatcher dispatcher() {
        return dispatcher;
    }

    public IoreqStats stats() {
        return dispatcher.stats();
    }

    public DeviceLoop loop() {
        return loop;
    }

    public IoreqServer server() {
        return server;
    }

    @Override
    public void close() {
        loop.close();
        server.close();
    }
}
