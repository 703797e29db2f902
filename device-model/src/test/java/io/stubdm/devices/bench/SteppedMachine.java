package io.stubdm.devices.bench;

import io.stubdm.devices.pci.PciBus;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.IoreqAbi;
import io.stubdm.hypervisor.sim.SimDomain;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.DeviceLoop;
import io.stubdm.ioreq.EmbeddedEngine;
import io.stubdm.machine.XenIrqLines;

/**
 * The ioreq engine over a simulated Xen guest, wired as the xenfv machine wires it (PCI INTx through
 * {@code set_pci_intx_level}, DMA through the map cache), whose device loop is turned by the caller's thread rather
 * than a thread of its own: the thread that plays the guest's vCPU serves its own requests, one loop turn each, so a
 * benchmark measures the work on one core without a hand-off between threads.
 */
final class SteppedMachine implements AutoCloseable {
    final EmbeddedEngine engine = new EmbeddedEngine();
    final DeviceLoop loop = engine.loop();
    final PciBus bus;
    private final SimDomain domain = engine.domain();
    private final SimVcpu vcpu = engine.vcpu(0);
    private int serverId = -1;

    SteppedMachine() {
        XenIrqLines irqs = new XenIrqLines(engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID));
        bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(), irqs::pciIntx);
    }

    /** Starts the ioreq server once the devices are plugged; the loop gets no thread. */
    void start() {
        engine.server().start();
        serverId = engine.server().serverId();
    }

    /** Guest RAM as the guest sees it, to place rings and buffers and map them for plain loads and stores. */
    GuestMemory guestMemory() {
        return engine.guestMemory();
    }

    /** One access as Xen forwards it to the server: the vCPU's slot filled, the loop turned once, the response taken. */
    long access(SimIoreq request) {
        vcpu.post(serverId, request);
        loop.runOnce(0);
        Long data = vcpu.poll(serverId, request);
        if (data == null) {
            throw new IllegalStateException("no response to " + request + " after one loop turn");
        }
        return data;
    }

    long read(SimIoreq request) {
        return access(request);
    }

    void write(SimIoreq request, long value) {
        request.data = value;
        access(request);
    }

    /** What Xen sends for a CF8/CFC write to 00:slot.0: a PCI_CONFIG request keyed by SBDF and register. */
    void pciConfigWrite(int slot, int reg, int size, long value) {
        long sbdf = slot << 3;
        access(SimIoreq.of(IoreqAbi.IOREQ_TYPE_PCI_CONFIG, sbdf << 32 | reg, size, false, value));
    }

    /** The level of 00:slot's pin {@code intx} (0 for INTA) as Xen holds it after the device model's last call. */
    boolean intxAsserted(int slot, int intx) {
        return domain.pciIntxLevel(slot, intx) != 0;
    }

    /** Throws if anything went wrong out of sight: a loop task or ioreq that failed, or DMA outside guest RAM. */
    void checkHealthy(long dmaErrors) {
        if (loop.failures() != 0 || engine.stats().deviceErrors() != 0 || dmaErrors != 0) {
            throw new IllegalStateException("loop failures " + loop.failures() + ", device errors "
                    + engine.stats().deviceErrors() + ", DMA errors " + dmaErrors);
        }
    }

    @Override
    public void close() {
        engine.close();
    }
}
