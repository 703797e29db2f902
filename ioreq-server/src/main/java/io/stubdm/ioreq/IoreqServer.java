package io.stubdm.ioreq;

import static io.stubdm.hypervisor.IoreqAbi.*;

import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.Hypervisor;
import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.XenException;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The device model's ioreq server in Xen: set up in qemu-xen's order, then serving each vCPU's requests and
 * the buffered ring on the {@link DeviceLoop}.
 *
 * <p>Set-up ({@code ../shared/reference/xen-dm-protocol.md} §5.3): create the server with an atomic buffered
 * ring, map its two pages, read the buffered port, enable it (Xen writes each vCPU's port into its slot only
 * then), bind the vCPU ports and the buffered port, and claim what the buses hold.
 *
 * <p>Per request (§5.5): READY is read with acquire ordering, the slot goes INPROCESS, the buffered ring is
 * drained first so earlier buffered writes land before this access, the request is served, and IORESP_READY is
 * published with release ordering before the vCPU's port is notified.
 */
public final class IoreqServer implements RangeClaimer, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(IoreqServer.class.getName());
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    /** A drain serves at most two laps of the ring, then yields to the loop so a flood cannot starve vCPUs. */
    private static final int DRAIN_BUDGET = 2 * BUF_SLOT_NUM;

    private final Hypervisor hypervisor;
    private final int domid;
    private final int vcpus;
    private final DeviceLoop loop;
    private final IoreqDispatcher dispatcher;
    private final IoreqStats stats;
    private final Ioreq bufferedRequest = new Ioreq();
    private Ioreq[] requests;
    private DeviceModelOps dm;
    private ForeignMemory foreignMemory;
    private ForeignMemory.ForeignMapping pages;
    private ByteBuffer ioreqPage;
    private ByteBuffer bufPage;
    private EventChannels evtchn;
    private int serverId = -1;
    private int[] vcpuPorts;
    private int[] portToVcpu = new int[0];
    private int bufPort = -1;
    private boolean enabled;
    private boolean drainScheduled;
    private IoreqObserver observer = IoreqObserver.NONE;

    public IoreqServer(Hypervisor hypervisor, int domid, int vcpus, DeviceLoop loop, IoreqDispatcher dispatcher) {
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("vCPUs must be 1.." + MAX_VCPUS + ", not " + vcpus);
        }
        this.hypervisor = hypervisor;
        this.domid = domid;
        this.vcpus = vcpus;
        this.loop = loop;
        this.dispatcher = dispatcher;
        this.stats = dispatcher.stats();
    }

    /**
     * Creates and enables the server, binds its ports to the loop and claims the buses' ranges. On failure,
     * whatever was set up is torn down again and the XenException propagates.
     */
    public void start() {
        try {
            dm = hypervisor.deviceModel(domid);
            foreignMemory = hypervisor.foreignMemory(domid);
            evtchn = loop.eventChannels();
            serverId = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_ATOMIC);
            pages = foreignMemory.mapResource(XENMEM_RESOURCE_IOREQ_SERVER, serverId,
                    XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ, 2);
            ByteBuffer both = pages.buffer();
            bufPage = both.slice(0, PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            ioreqPage = both.slice(PAGE_SIZE, PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            int bufRemotePort = dm.getBufioreqPort(serverId);
            dm.setIoreqServerState(serverId, true);
            enabled = true;
            vcpuPorts = new int[vcpus];
            requests = new Ioreq[vcpus];
            int maxPort = 0;
            for (int i = 0; i < vcpus; i++) {
                int remote = ioreqPage.getInt(i * IOREQ_SIZE + OFF_VP_EPORT);
                vcpuPorts[i] = evtchn.bindInterdomain(domid, remote);
                requests[i] = new Ioreq();
                maxPort = Math.max(maxPort, vcpuPorts[i]);
            }
            bufPort = evtchn.bindInterdomain(domid, bufRemotePort);
            portToVcpu = new int[maxPort + 1];
            java.util.Arrays.fill(portToVcpu, -1);
            for (int i = 0; i < vcpus; i++) {
                portToVcpu[vcpuPorts[i]] = i;
                loop.registerPort(vcpuPorts[i], this::onVcpuPort);
            }
            loop.registerPort(bufPort, this::onBufferedPort);
            dispatcher.ports().attach(this);
            dispatcher.mmio().attach(this);
            dispatcher.pci().attach(this);
            LOG.log(Level.INFO, "ioreq server " + serverId + " for domain " + domid + " serving " + vcpus
                    + " vCPU(s), buffered ring on port " + bufPort);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public int serverId() {
        return serverId;
    }

    public IoreqStats stats() {
        return stats;
    }

    /** Who hears about each answered vCPU request and its service time (metrics); set before the loop starts. */
    public void setObserver(IoreqObserver observer) {
        this.observer = observer == null ? IoreqObserver.NONE : observer;
    }

    /** Whether Xen sends the guest's accesses to this server (QMP {@code stop} turns it off). */
    public boolean enabled() {
        return enabled;
    }

    /** QMP {@code stop}/{@code cont}: a disabled server gets nothing; Xen's null handler answers the guest. */
    public void setEnabled(boolean on) {
        if (on != enabled) {
            dm.setIoreqServerState(serverId, on);
            enabled = on;
        }
    }

    @Override
    public void claim(IoRangeType type, long start, long endInclusive) {
        dm.mapIoRangeToIoreqServer(serverId, type, start, endInclusive);
    }

    @Override
    public void release(IoRangeType type, long start, long endInclusive) {
        try {
            dm.unmapIoRangeFromIoreqServer(serverId, type, start, endInclusive);
        } catch (XenException e) {
            LOG.log(Level.WARNING, "could not release " + type + " range: " + e.getMessage());
        }
    }

    private void onVcpuPort(int port) {
        int vcpu = port < portToVcpu.length ? portToVcpu[port] : -1;
        if (vcpu < 0) {
            stats.unknownPorts++;
            return;
        }
        evtchn.unmask(port);
        serve(vcpu);
    }

    /** Serves vCPU {@code vcpu}'s slot if it holds a request. */
    void serve(int vcpu) {
        ByteBuffer page = ioreqPage;
        int o = vcpu * IOREQ_SIZE;
        int flags = page.get(o + OFF_FLAGS);
        VarHandle.acquireFence(); // READY before the request's fields
        if ((flags & FLAG_STATE_MASK) != STATE_IOREQ_READY) {
            stats.spurious++;
            return;
        }
        long start = System.nanoTime();
        page.put(o + OFF_FLAGS, (byte) ((flags & ~FLAG_STATE_MASK) | STATE_IOREQ_INPROCESS));
        drainBuffered();
        Ioreq r = requests[vcpu].set(page.get(o + OFF_TYPE) & 0xff, page.getLong(o + OFF_ADDR),
                page.getLong(o + OFF_DATA), page.getInt(o + OFF_COUNT), page.getInt(o + OFF_SIZE),
                (flags & FLAG_DIR_READ) != 0, (flags & FLAG_DF) != 0, (flags & FLAG_DATA_IS_PTR) != 0);
        VarHandle.acquireFence();
        dispatcher.dispatch(r);
        int now = page.get(o + OFF_FLAGS);
        if ((now & FLAG_STATE_MASK) != STATE_IOREQ_INPROCESS) {
            // Only Xen writes the slot besides us; answering now could corrupt a newer request.
            stats.protocolErrors++;
            LOG.log(Level.ERROR, "vCPU " + vcpu + " slot left INPROCESS (state " + (now & FLAG_STATE_MASK)
                    + ") while serving " + r + "; not answering it");
            return;
        }
        if (r.read && !r.dataIsPtr) {
            page.putLong(o + OFF_DATA, r.data);
        }
        VarHandle.releaseFence(); // data before IORESP_READY
        page.put(o + OFF_FLAGS, (byte) ((now & ~FLAG_STATE_MASK) | STATE_IORESP_READY));
        evtchn.notify(vcpuPorts[vcpu]);
        observer.served(r, System.nanoTime() - start);
    }

    private void onBufferedPort(int port) {
        drainBuffered();
        // Unmask after draining: an entry Xen adds meanwhile leaves the port pending and it fires again.
        evtchn.unmask(port);
    }

    /** Applies every write in the buffered ring (qemu-xen's handle_buffered_iopage, with Xen 4.17's pointers). */
    void drainBuffered() {
        ByteBuffer page = bufPage;
        for (int budget = DRAIN_BUDGET; ; budget--) {
            int rd = (int) INT.getAcquire(page, BUF_OFF_READ_POINTER);
            int wr = (int) INT.getAcquire(page, BUF_OFF_WRITE_POINTER);
            if (rd != (int) INT.getAcquire(page, BUF_OFF_READ_POINTER)) {
                continue; // Xen rebased both pointers between our two reads
            }
            int queued = wr - rd;
            if (queued == 0) {
                return;
            }
            if (queued < 0 || queued > BUF_SLOT_NUM) {
                stats.bufferedErrors++;
                LOG.log(Level.ERROR, "buffered ring pointers are corrupt (read " + rd + ", write " + wr
                        + "); dropping " + queued + " entries");
                INT.getAndAdd(page, BUF_OFF_READ_POINTER, queued);
                return;
            }
            if (budget == 0) {
                scheduleDrain();
                return;
            }
            int slot = BUF_OFF_SLOTS + Integer.remainderUnsigned(rd, BUF_SLOT_NUM) * BUF_SLOT_SIZE;
            int word0 = page.getInt(slot);
            long data = page.getInt(slot + 4) & 0xffffffffL;
            int size = 1 << ((word0 >>> BUF_SIZE_SHIFT) & 3);
            int consumed = 1;
            if (size == 8) {
                if (queued < 2) {
                    stats.bufferedErrors++;
                    LOG.log(Level.ERROR, "incomplete quad word in the buffered ring; dropped");
                    INT.getAndAdd(page, BUF_OFF_READ_POINTER, 1);
                    continue;
                }
                int slot2 = BUF_OFF_SLOTS + Integer.remainderUnsigned(rd + 1, BUF_SLOT_NUM) * BUF_SLOT_SIZE;
                data |= (page.getInt(slot2 + 4) & 0xffffffffL) << 32;
                consumed = 2;
            }
            VarHandle.acquireFence();
            if (((word0 >>> BUF_DIR_SHIFT) & 1) == IOREQ_READ) {
                stats.bufferedErrors++; // nobody could receive the value
            } else {
                stats.buffered++;
                dispatcher.dispatch(bufferedRequest.set(word0 & BUF_TYPE_MASK, (word0 >>> BUF_ADDR_SHIFT) & 0xfffffL,
                        data, 1, size, false, false, false));
            }
            INT.getAndAdd(page, BUF_OFF_READ_POINTER, consumed);
        }
    }

    private void scheduleDrain() {
        if (!drainScheduled) {
            drainScheduled = true;
            loop.execute(() -> {
                drainScheduled = false;
                drainBuffered();
            });
        }
    }

    /** Destroys the server in Xen and releases its ports and pages. Safe to call more than once. */
    @Override
    public void close() {
        if (vcpuPorts != null) {
            for (int p : vcpuPorts) {
                if (p > 0) {
                    loop.unregisterPort(p);
                    quietly(() -> evtchn.unbind(p));
                }
            }
            vcpuPorts = null;
        }
        if (bufPort > 0) {
            int p = bufPort;
            loop.unregisterPort(p);
            quietly(() -> evtchn.unbind(p));
            bufPort = -1;
        }
        if (serverId >= 0) {
            int id = serverId;
            quietly(() -> dm.destroyIoreqServer(id));
            serverId = -1;
        }
        if (pages != null) {
            pages.close();
            pages = null;
        }
        if (foreignMemory != null) {
            foreignMemory.close();
            foreignMemory = null;
        }
    }

    private static void quietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "while closing the ioreq server: " + e.getMessage());
        }
    }
}
