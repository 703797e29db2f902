package io.stubdm.hypervisor.sim;

import static io.stubdm.hypervisor.IoreqAbi.*;

import io.stubdm.hypervisor.ByteValues;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.MapCacheGuestMemory;
import io.stubdm.hypervisor.MemType;
import io.stubdm.hypervisor.ShutdownReason;
import io.stubdm.hypervisor.XenException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A simulated HVM guest: its RAM, its vCPUs, the ioreq servers device models created for it, and what those
 * device models asked of Xen (interrupt levels, link routes, MSIs, shutdowns), for tests to inspect.
 *
 * <p>Routing follows {@code xen/common/ioreq.c: ioreq_server_select} and
 * {@code xen/arch/x86/hvm/ioreq.c: arch_ioreq_server_get_type_addr}: an access goes to the first enabled server
 * whose range contains it entirely; a config-data access while CF8 is enabled becomes a PCI_CONFIG request for
 * the server that claimed the SBDF; anything unclaimed goes to Xen's null handler.
 */
public final class SimDomain {
    /** MAX_NR_IOREQ_SERVERS in Xen 4.17. */
    static final int MAX_IOREQ_SERVERS = 8;
    /** Xen refuses track_dirty_vram ranges over 1 GiB. */
    private static final long MAX_VRAM_PAGES = (1L << 30) >> 12;

    final SimXen xen;
    private final int domid;
    private final SimGuestRam ram;
    private final SimVcpu[] vcpus;
    private final Map<Integer, SimXenPort> xenPorts = new HashMap<>();
    private final LinkedHashMap<Integer, SimIoreqServer> servers = new LinkedHashMap<>();
    private final SimDeviceModelOps dmOps = new SimDeviceModelOps();
    private volatile SimIoreqServer[] serverTable = new SimIoreqServer[0];
    private int nextXenPort = 1;
    private int nextServerId = 0;
    /** This domain's grant table: reference -> what it grants (grant_entry_v1's frame, domid and flags). */
    private final Map<Integer, Grant> grants = new java.util.concurrent.ConcurrentHashMap<>();
    /** The last 4-byte write to port 0xCF8 (d->arch.hvm.pci_cf8). */
    private volatile int pciCf8;

    // What device models asked for; guarded by this.
    private final int[] isaIrqLevels = new int[16];
    private final Map<Integer, Integer> pciIntxLevels = new TreeMap<>();
    private final int[] pciLinkRoutes = new int[4];
    private final List<long[]> msis = new ArrayList<>();
    private final List<ShutdownReason> shutdowns = new ArrayList<>();
    private final List<String> dmOpLog = new ArrayList<>();
    private final Map<Long, MemType> memTypes = new TreeMap<>();
    private long nullReads;
    private long nullWrites;
    private String crashReason;
    private long trackedFirstPfn = -1;
    private int trackedCount;
    private byte[] trackedSnapshot;

    SimDomain(SimXen xen, int domid, long ramBytes, int vcpuCount) {
        if (vcpuCount < 1 || vcpuCount > MAX_VCPUS) {
            throw new IllegalArgumentException("vCPUs must be 1.." + MAX_VCPUS + ", not " + vcpuCount);
        }
        this.xen = xen;
        this.domid = domid;
        this.ram = new SimGuestRam(ramBytes);
        this.vcpus = new SimVcpu[vcpuCount];
        for (int i = 0; i < vcpuCount; i++) {
            vcpus[i] = new SimVcpu(this, i);
        }
    }

    public int domid() {
        return domid;
    }

    public int vcpuCount() {
        return vcpus.length;
    }

    public SimVcpu vcpu(int index) {
        return vcpus[index];
    }

    public long ramBytes() {
        return ram.ramTop;
    }

    SimGuestRam ram() {
        return ram;
    }

    /**
     * The guest's own view of its RAM, for a test to put buffers where string I/O and DMA will find them and to
     * check what the device model wrote. Not a device model's mapping: it is not counted in
     * {@link SimXen#liveForeignMappings()}.
     */
    public GuestMemory guestMemory() {
        return new MapCacheGuestMemory(new SimForeignMemory(this));
    }

    /** One grant table entry in use: {@code gfn} granted to domain {@code grantee}. */
    public record Grant(long gfn, int grantee, boolean readOnly) {
    }

    /**
     * The guest (or its toolstack, for the reserved references) grants its frame {@code gfn} to {@code grantee}
     * under {@code ref}, as writing a grant_entry_v1 does.
     */
    public void grantAccess(int ref, long gfn, int grantee, boolean readOnly) {
        if (ref < 0 || gfn < 0) {
            throw new IllegalArgumentException("grant ref " + ref + ", gfn " + gfn);
        }
        grants.put(ref, new Grant(gfn, grantee, readOnly));
    }

    /**
     * The guest allocates a port of its own for {@code remoteDomid} to bind (EVTCHNOP_alloc_unbound), as a PV
     * frontend does for its backend or the domain builder does for the console and xenstore rings. Only domain 0,
     * where the simulated device models run, can bind it.
     */
    public SimGuestPort allocUnboundPort(int remoteDomid) {
        if (remoteDomid < 0 || remoteDomid >= 0x7ff0) {
            throw new IllegalArgumentException("remote domain " + remoteDomid);
        }
        SimGuestPort guestPort = new SimGuestPort();
        guestPort.attach(allocXenPort(remoteDomid, guestPort::notified));
        return guestPort;
    }

    /** The guest takes a grant back. */
    public void endAccess(int ref) {
        grants.remove(ref);
    }

    Grant grant(int ref) {
        return grants.get(ref);
    }

    DeviceModelOps deviceModelOps() {
        return dmOps;
    }

    // ---------------------------------------------------------------- routing (what Xen does on an exit)

    /** Remembers CF8 as hvm_access_cf8 does; the write still goes on to whichever server claims port 0xCF8. */
    void observePortAccess(SimIoreq r) {
        if (r.type == IOREQ_TYPE_PIO && r.addr == 0xCF8 && r.size == 4 && !r.read) {
            pciCf8 = (int) r.data;
        }
    }

    /**
     * Picks the server for {@code r} and rewrites it into what that server receives (a PCI_CONFIG request for
     * config-data cycles). Returns null for Xen's null handler.
     */
    synchronized SimIoreqServer select(SimIoreq r) {
        IoRangeType kind;
        long key = r.addr;
        int cf8 = pciCf8;
        if (r.type == IOREQ_TYPE_PIO && (r.addr & ~3L) == 0xCFC && cf8 < 0) {
            kind = IoRangeType.PCI;
            long sbdf = (cf8 >>> 8) & 0xffff; // bus 23:16, devfn 15:8
            long reg = (cf8 & 0xfc) | (r.addr & 3);
            key = (sbdf << 32) | reg;
        } else if (r.type == IOREQ_TYPE_PIO) {
            kind = IoRangeType.PORT;
        } else if (r.type == IOREQ_TYPE_COPY) {
            kind = IoRangeType.MEMORY;
        } else {
            return null;
        }
        for (SimIoreqServer s : servers.values()) {
            if (!s.enabled) {
                continue;
            }
            RangeSet set = s.ranges(kind);
            switch (kind) {
                case PORT:
                    if (set.containsRange(r.addr, r.addr + r.size - 1)) {
                        return s;
                    }
                    break;
                case MEMORY: {
                    long span = (long) r.size * Math.max(r.count, 1);
                    long first = r.df ? r.addr - span + r.size : r.addr;
                    if (set.containsRange(first, first + span - 1)) {
                        return s;
                    }
                    break;
                }
                default:
                    if (set.containsRange(key >>> 32, key >>> 32)) {
                        r.type = IOREQ_TYPE_PCI_CONFIG;
                        r.addr = key;
                        return s;
                    }
            }
        }
        return null;
    }

    /** Xen's null handler: reads give all-ones (into the buffer for string reads), writes vanish. */
    void nullHandle(SimIoreq r) {
        synchronized (this) {
            if (r.read) {
                nullReads++;
            } else {
                nullWrites++;
            }
        }
        if (!r.read) {
            return;
        }
        long ones = ByteValues.mask(r.size);
        if (!r.dataIsPtr) {
            r.data = ones;
            return;
        }
        for (int i = 0; i < r.count; i++) {
            long gpa = r.df ? r.data - (long) i * r.size : r.data + (long) i * r.size;
            for (int b = 0; b < r.size; b++) {
                ByteBuffer frame = ram.frame((gpa + b) >>> 12);
                if (frame != null) {
                    frame.put((int) ((gpa + b) & 0xfff), (byte) 0xff);
                }
            }
        }
    }

    /** The servers a broadcast (TIMEOFFSET, INVALIDATE) goes to. */
    synchronized List<SimIoreqServer> enabledServers() {
        List<SimIoreqServer> out = new ArrayList<>();
        for (SimIoreqServer s : servers.values()) {
            if (s.enabled) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * The guest wrote Xen's RTC: {@code send_timeoffset_req} puts a TIMEOFFSET into every enabled server's
     * buffered ring. Returns how many rings took it.
     */
    public int sendTimeOffset(long offsetSeconds) {
        int sent = 0;
        for (SimIoreqServer s : enabledServers()) {
            SimIoreq r = SimIoreq.of(IOREQ_TYPE_TIMEOFFSET, 0, 8, false, offsetSeconds);
            if (s.sendBuffered(r)) {
                sent++;
            }
        }
        return sent;
    }

    /** The guest gave memory back: Xen sends INVALIDATE synchronously to every enabled server from a vCPU. */
    public void sendInvalidate(int vcpu) {
        for (SimIoreqServer s : enabledServers()) {
            SimIoreq r = SimIoreq.of(IOREQ_TYPE_INVALIDATE, 0, 4, false, -1L);
            vcpus[vcpu].sendTo(s, r);
        }
    }

    // ---------------------------------------------------------------- what tests inspect

    public synchronized int isaIrqLevel(int irq) {
        return isaIrqLevels[irq];
    }

    public synchronized int pciIntxLevel(int device, int intx) {
        return pciIntxLevels.getOrDefault(device << 2 | intx, 0);
    }

    public synchronized int pciLinkRoute(int link) {
        return pciLinkRoutes[link];
    }

    /** Each injected MSI as {address, data}. */
    public synchronized List<long[]> msis() {
        return new ArrayList<>(msis);
    }

    public synchronized List<ShutdownReason> shutdowns() {
        return new ArrayList<>(shutdowns);
    }

    /** Every dm_op Xen accepted for this domain, in order, as {@code name(arg, ...)} with hex arguments. */
    public synchronized List<String> dmOpLog() {
        return new ArrayList<>(dmOpLog);
    }

    public synchronized MemType memType(long pfn) {
        return memTypes.getOrDefault(pfn, MemType.RAM_RW);
    }

    public synchronized long nullReads() {
        return nullReads;
    }

    public synchronized long nullWrites() {
        return nullWrites;
    }

    /** Why Xen crashed this domain (a device model broke the ioreq protocol), or null. */
    public synchronized String crashReason() {
        return crashReason;
    }

    synchronized void crash(String why) {
        if (crashReason == null) {
            crashReason = why;
        }
    }

    /** Port, memory and PCI ranges of a server as Xen holds them (merged), for assertions. */
    public synchronized String claimedRanges(int serverId, IoRangeType type) {
        SimIoreqServer s = servers.get(serverId);
        return s == null ? "" : s.ranges(type).toString();
    }

    public synchronized boolean serverEnabled(int serverId) {
        SimIoreqServer s = servers.get(serverId);
        return s != null && s.enabled;
    }

    public synchronized List<Integer> serverIds() {
        return new ArrayList<>(servers.keySet());
    }

    /** Lock-free: the vCPU hot path looks its server up on every request. */
    SimIoreqServer server(int id) {
        SimIoreqServer[] table = serverTable;
        return id >= 0 && id < table.length ? table[id] : null;
    }

    private void publishServers() {
        SimIoreqServer[] table = new SimIoreqServer[nextServerId];
        servers.forEach((id, s) -> table[id] = s);
        serverTable = table;
    }

    synchronized SimXenPort xenPort(int port) {
        SimXenPort p = xenPorts.get(port);
        return p == null || p.isBound() ? null : p;
    }

    private SimXenPort allocXenPort(Runnable onNotify) {
        return allocXenPort(0, onNotify);
    }

    private synchronized SimXenPort allocXenPort(int remoteDomid, Runnable onNotify) {
        SimXenPort p = new SimXenPort(nextXenPort++, remoteDomid, onNotify);
        xenPorts.put(p.port, p);
        return p;
    }

    private synchronized void log(String op, long... args) {
        StringBuilder sb = new StringBuilder(op).append('(');
        for (int i = 0; i < args.length; i++) {
            sb.append(i == 0 ? "" : ", ").append("0x").append(Long.toHexString(args[i]));
        }
        dmOpLog.add(sb.append(')').toString());
    }

    // ---------------------------------------------------------------- dm_op, with Xen's checks (xen/arch/x86/hvm/dm.c)

    private final class SimDeviceModelOps implements DeviceModelOps {
        @Override
        public int domid() {
            return domid;
        }

        private SimIoreqServer serverOrThrow(String op, int id) {
            SimIoreqServer s = servers.get(id);
            if (s == null) {
                throw new XenException(op, XenException.ENOENT, "no ioreq server " + id);
            }
            return s;
        }

        @Override
        public int createIoreqServer(int handleBufioreq) {
            synchronized (SimDomain.this) {
                if (handleBufioreq < HVM_IOREQSRV_BUFIOREQ_OFF || handleBufioreq > HVM_IOREQSRV_BUFIOREQ_ATOMIC) {
                    throw new XenException("create_ioreq_server", XenException.EINVAL, "handle_bufioreq " + handleBufioreq);
                }
                if (servers.size() >= MAX_IOREQ_SERVERS) {
                    throw new XenException("create_ioreq_server", XenException.ENOSPC, "already " + servers.size());
                }
                int id = nextServerId++;
                SimXenPort[] ports = new SimXenPort[vcpus.length];
                for (int i = 0; i < vcpus.length; i++) {
                    ports[i] = allocXenPort(vcpus[i]::wake);
                }
                SimXenPort bufPort = handleBufioreq == HVM_IOREQSRV_BUFIOREQ_OFF ? null : allocXenPort(() -> { });
                servers.put(id, new SimIoreqServer(id, handleBufioreq, ports, bufPort));
                publishServers();
                log("create_ioreq_server", handleBufioreq, id);
                return id;
            }
        }

        @Override
        public int getBufioreqPort(int serverId) {
            synchronized (SimDomain.this) {
                SimIoreqServer s = serverOrThrow("get_ioreq_server_info", serverId);
                if (!s.hasBufferedRing()) {
                    throw new XenException("get_ioreq_server_info", XenException.ENOENT, "server has no buffered ring");
                }
                return s.bufPort.port;
            }
        }

        @Override
        public void mapIoRangeToIoreqServer(int serverId, IoRangeType type, long start, long end) {
            synchronized (SimDomain.this) {
                SimIoreqServer s = serverOrThrow("map_io_range_to_ioreq_server", serverId);
                if (start > end || start < 0) {
                    throw new XenException("map_io_range_to_ioreq_server", XenException.EINVAL,
                            String.format("%s 0x%x-0x%x", type, start, end));
                }
                RangeSet set = s.ranges(type);
                if (set.overlaps(start, end)) {
                    throw new XenException("map_io_range_to_ioreq_server", XenException.EEXIST,
                            String.format("%s 0x%x-0x%x overlaps %s", type, start, end, set));
                }
                set.add(start, end);
                log("map_io_range_to_ioreq_server", serverId, type.code, start, end);
            }
        }

        @Override
        public void unmapIoRangeFromIoreqServer(int serverId, IoRangeType type, long start, long end) {
            synchronized (SimDomain.this) {
                SimIoreqServer s = serverOrThrow("unmap_io_range_from_ioreq_server", serverId);
                RangeSet set = s.ranges(type);
                if (start > end || !set.containsRange(start, end)) {
                    throw new XenException("unmap_io_range_from_ioreq_server", XenException.ENOENT,
                            String.format("%s 0x%x-0x%x not in %s", type, start, end, set));
                }
                set.remove(start, end);
                log("unmap_io_range_from_ioreq_server", serverId, type.code, start, end);
            }
        }

        @Override
        public void setIoreqServerState(int serverId, boolean enabled) {
            synchronized (SimDomain.this) {
                SimIoreqServer s = serverOrThrow("set_ioreq_server_state", serverId);
                if (enabled && !s.enabled) {
                    s.enable();
                } else if (!enabled) {
                    s.enabled = false;
                }
                log("set_ioreq_server_state", serverId, enabled ? 1 : 0);
            }
        }

        @Override
        public void destroyIoreqServer(int serverId) {
            synchronized (SimDomain.this) {
                SimIoreqServer s = serverOrThrow("destroy_ioreq_server", serverId);
                s.enabled = false;
                servers.remove(serverId);
                publishServers();
                for (SimXenPort p : s.vcpuPorts) {
                    xenPorts.remove(p.port);
                }
                if (s.bufPort != null) {
                    xenPorts.remove(s.bufPort.port);
                }
                log("destroy_ioreq_server", serverId);
            }
            // Wake vCPUs that wait on this server, so they see the emulator is gone.
            for (SimVcpu v : vcpus) {
                v.wake();
            }
        }

        @Override
        public void setIsaIrqLevel(int isaIrq, int level) {
            synchronized (SimDomain.this) {
                if (isaIrq < 0 || isaIrq > 15 || (level != 0 && level != 1)) {
                    throw new XenException("set_isa_irq_level", XenException.EINVAL, "irq " + isaIrq + " level " + level);
                }
                isaIrqLevels[isaIrq] = level;
                log("set_isa_irq_level", isaIrq, level);
            }
        }

        @Override
        public void setPciIntxLevel(int segment, int bus, int device, int intx, int level) {
            synchronized (SimDomain.this) {
                if (segment != 0 || bus != 0 || device < 0 || device > 0x1f || intx < 0 || intx > 3
                        || (level != 0 && level != 1)) {
                    throw new XenException("set_pci_intx_level", XenException.EINVAL,
                            String.format("%04x:%02x:%02x INT%c level %d", segment, bus, device, 'A' + intx, level));
                }
                pciIntxLevels.put(device << 2 | intx, level);
                log("set_pci_intx_level", segment, bus, device, intx, level);
            }
        }

        @Override
        public void setPciLinkRoute(int link, int isaIrq) {
            synchronized (SimDomain.this) {
                if (link < 0 || link > 3 || isaIrq < 0 || isaIrq > 15) {
                    throw new XenException("set_pci_link_route", XenException.EINVAL, "link " + link + " irq " + isaIrq);
                }
                pciLinkRoutes[link] = isaIrq;
                log("set_pci_link_route", link, isaIrq);
            }
        }

        @Override
        public void injectMsi(long address, int data) {
            synchronized (SimDomain.this) {
                msis.add(new long[] {address, data & 0xffffffffL});
                log("inject_msi", address, data & 0xffffffffL);
            }
        }

        @Override
        public void remoteShutdown(ShutdownReason reason) {
            synchronized (SimDomain.this) {
                shutdowns.add(reason);
                log("remote_shutdown", reason.code);
            }
        }

        @Override
        public byte[] trackDirtyVram(long firstPfn, int count) {
            synchronized (SimDomain.this) {
                if (count < 0 || count > MAX_VRAM_PAGES || firstPfn < 0 || firstPfn + count < firstPfn) {
                    throw new XenException("track_dirty_vram", XenException.EINVAL, "pfn " + firstPfn + " nr " + count);
                }
                log("track_dirty_vram", firstPfn, count);
                if (count == 0) {
                    trackedFirstPfn = -1;
                    trackedSnapshot = null;
                    return new byte[0];
                }
                byte[] now = snapshotPages(firstPfn, count);
                byte[] bitmap = new byte[(count + 7) / 8];
                boolean newRange = firstPfn != trackedFirstPfn || count != trackedCount;
                for (int i = 0; i < count; i++) {
                    // A new range starts with every page dirty, as Xen's hap_track_dirty_vram reports it.
                    if (newRange || !Arrays.equals(now, i << 12, (i + 1) << 12, trackedSnapshot, i << 12, (i + 1) << 12)) {
                        bitmap[i >> 3] |= (byte) (1 << (i & 7));
                    }
                }
                trackedFirstPfn = firstPfn;
                trackedCount = count;
                trackedSnapshot = now;
                return bitmap;
            }
        }

        private byte[] snapshotPages(long firstPfn, int count) {
            byte[] copy = new byte[count << 12];
            for (int i = 0; i < count; i++) {
                long pfn = firstPfn + i;
                ByteBuffer frame = ram.frame(pfn);
                if (frame != null) {
                    frame.get(0, copy, i << 12, 4096);
                }
            }
            return copy;
        }

        @Override
        public void modifiedMemory(long firstPfn, int count) {
            synchronized (SimDomain.this) {
                long last = firstPfn + count - 1;
                if (count <= 0 || firstPfn < 0 || last < firstPfn || last >= (ram.ramTop >> 12)) {
                    throw new XenException("modified_memory", XenException.EINVAL, "pfn " + firstPfn + " nr " + count);
                }
                log("modified_memory", firstPfn, count);
            }
        }

        @Override
        public void setMemType(MemType type, long firstPfn, int count) {
            synchronized (SimDomain.this) {
                if (type == MemType.UNUSED || count < 0 || firstPfn < 0 || firstPfn + count < firstPfn) {
                    throw new XenException("set_mem_type", XenException.EINVAL, type + " pfn " + firstPfn + " nr " + count);
                }
                for (int i = 0; i < count; i++) {
                    memTypes.put(firstPfn + i, type);
                }
                log("set_mem_type", type.code, firstPfn, count);
            }
        }

        @Override
        public void relocateMemory(int count, long srcGfn, long dstGfn) {
            synchronized (SimDomain.this) {
                if (count <= 0 || srcGfn < 0 || dstGfn < 0) {
                    throw new XenException("relocate_memory", XenException.EINVAL, "nr " + count);
                }
                ram.relocate(count, srcGfn, dstGfn);
                log("relocate_memory", count, srcGfn, dstGfn);
            }
        }

        @Override
        public void populatePhysmap(long firstGfn, int count) {
            synchronized (SimDomain.this) {
                ram.populate(firstGfn, count);
                log("populate_physmap", firstGfn, count);
            }
        }

        @Override
        public void pinMemoryCacheattr(long startGfn, long endGfn, int type) {
            synchronized (SimDomain.this) {
                if (startGfn > endGfn || startGfn < 0) {
                    throw new XenException("pin_memory_cacheattr", XenException.EINVAL, startGfn + "-" + endGfn);
                }
                log("pin_memory_cacheattr", startGfn, endGfn, type);
            }
        }

        @Override
        public int nrVcpus() {
            return vcpus.length;
        }
    }

    /** The frames of a server that {@code XENMEM_acquire_resource} hands out. */
    synchronized ByteBuffer resourceFrames(int serverId, int firstFrame, int count) {
        SimIoreqServer s = servers.get(serverId);
        if (s == null) {
            throw new XenException("acquire_resource", XenException.ENOENT, "no ioreq server " + serverId);
        }
        if (firstFrame < 0 || count < 1 || firstFrame + count > 2) {
            throw new XenException("acquire_resource", XenException.EINVAL,
                    "frames " + firstFrame + "+" + count + " (a server has 2)");
        }
        if (firstFrame == 0 && !s.hasBufferedRing()) {
            throw new XenException("acquire_resource", XenException.ENOENT, "server has no buffered ring");
        }
        return s.frames.slice(firstFrame * PAGE_SIZE, count * PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    }
}
