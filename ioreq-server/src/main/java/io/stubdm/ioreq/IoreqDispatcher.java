package io.stubdm.ioreq;

import static io.stubdm.hypervisor.IoreqAbi.*;

import io.stubdm.hypervisor.ByteValues;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.GuestMemoryException;
import io.stubdm.hypervisor.IoRangeType;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;

/**
 * Carries out one request against the buses and guest memory, with the semantics of qemu-xen's
 * {@code handle_ioreq}: PIO, MMIO (COPY), PCI_CONFIG, TIMEOFFSET and INVALIDATE; sizes 1, 2, 4 (and 8 for MMIO);
 * {@code rep} with {@code count} and {@code df}; and {@code data_is_ptr}, where {@code data} is the guest-physical
 * address of the items rather than a value.
 *
 * <p>Nothing the request says can make it throw: a malformed request is counted and answered with all-ones
 * (reads) or dropped (writes), a pointer into something other than RAM stops the copy at that item, and a device
 * that throws is counted and answered the same way.
 */
public final class IoreqDispatcher {
    private static final System.Logger LOG = System.getLogger(IoreqDispatcher.class.getName());
    /** Xen clips every rep to 4096 items (hvmemul_linear_to_phys); more means the slot is corrupt. */
    public static final int MAX_REPS = 4096;
    private static final int LOGGED_PER_KIND = 20;

    private final IoBus ports;
    private final IoBus mmio;
    private final PciConfigBus pci;
    private final GuestMemory memory;
    private final IoreqStats stats = new IoreqStats();
    private long lastTimeOffset;
    private int invalidLogged;
    private int faultLogged;
    private int errorLogged;

    public IoreqDispatcher(IoBus ports, IoBus mmio, PciConfigBus pci, GuestMemory memory) {
        if (ports.type() != IoRangeType.PORT || mmio.type() != IoRangeType.MEMORY) {
            throw new IllegalArgumentException("ports and mmio buses are swapped");
        }
        this.ports = ports;
        this.mmio = mmio;
        this.pci = pci;
        this.memory = memory;
    }

    public IoreqStats stats() {
        return stats;
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

    public GuestMemory memory() {
        return memory;
    }

    /** The RTC offset (seconds from host time) the guest last set, from TIMEOFFSET requests. */
    public long lastTimeOffset() {
        return lastTimeOffset;
    }

    /** Serves {@code r}; for reads without data_is_ptr the result is left in {@code r.data}. */
    public void dispatch(Ioreq r) {
        try {
            switch (r.type) {
                case IOREQ_TYPE_PIO:
                    pio(r);
                    break;
                case IOREQ_TYPE_COPY:
                    copy(r);
                    break;
                case IOREQ_TYPE_PCI_CONFIG:
                    pciConfig(r);
                    break;
                case IOREQ_TYPE_TIMEOFFSET:
                    stats.timeOffsets++;
                    lastTimeOffset = r.data;
                    break;
                case IOREQ_TYPE_INVALIDATE:
                    stats.invalidates++;
                    memory.invalidate();
                    break;
                default:
                    invalid(r, "unknown request type");
            }
        } catch (RuntimeException e) {
            stats.deviceErrors++;
            if (errorLogged++ < LOGGED_PER_KIND) {
                LOG.log(Level.WARNING, "device failed serving " + r + "; the guest gets all-ones or a dropped write", e);
            }
            if (r.read && !r.dataIsPtr) {
                r.data = ByteValues.mask(r.size);
            }
        }
    }

    private void pio(Ioreq r) {
        if ((r.size != 1 && r.size != 2 && r.size != 4) || r.addr < 0 || r.addr + r.size > 0x10000) {
            invalid(r, "bad port access");
            return;
        }
        if (r.read) {
            stats.pioReads++;
        } else {
            stats.pioWrites++;
        }
        countFor(ports, r);
        if (!r.dataIsPtr) {
            if (r.read) {
                r.data = ports.read(r.addr, r.size);
            } else {
                ports.write(r.addr, r.size, r.data);
            }
            return;
        }
        if (!validRep(r)) {
            return;
        }
        IoBus.Mapping m = ports.find(r.addr, r.size);
        if (m != null) {
            // String I/O to one device: look it up once, not per item (SeaBIOS and ata(4) move sectors this way).
            fixedSideRep(r, m.device, r.addr - m.base);
        } else {
            fixedSideRep(r, new BusAt(ports, r.addr), 0);
        }
    }

    private void copy(Ioreq r) {
        if ((r.size != 1 && r.size != 2 && r.size != 4 && r.size != 8) || r.addr < 0) {
            invalid(r, "bad MMIO access");
            return;
        }
        if (r.read) {
            stats.mmioReads++;
        } else {
            stats.mmioWrites++;
        }
        countFor(mmio, r);
        if (r.count == 1 && !r.dataIsPtr) {
            if (r.read) {
                r.data = mmio.read(r.addr, r.size);
            } else {
                mmio.write(r.addr, r.size, r.data);
            }
            return;
        }
        if (!validRep(r)) {
            return;
        }
        if (!itemInRange(r.addr, r.count - 1, r.size, r.df)) {
            invalid(r, "MMIO rep leaves the address space");
            return;
        }
        if (!r.dataIsPtr) {
            // rep stos / rep lods against MMIO: every item is the same value; a read keeps the last item's value.
            for (int i = 0; i < r.count; i++) {
                long a = item(r.addr, i, r.size, r.df);
                if (r.read) {
                    r.data = mmio.read(a, r.size);
                } else {
                    mmio.write(a, r.size, r.data);
                }
            }
            return;
        }
        // rep movs between MMIO (addr) and memory (data): item i of each side moves together.
        for (int i = 0; i < r.count; i++) {
            long device = item(r.addr, i, r.size, r.df);
            long other = item(r.data, i, r.size, r.df);
            try {
                if (r.read) {
                    physWrite(other, r.size, mmio.read(device, r.size));
                } else {
                    mmio.write(device, r.size, physRead(other, r.size));
                }
            } catch (GuestMemoryException e) {
                fault(r, e);
                return;
            }
        }
    }

    private void pciConfig(Ioreq r) {
        int sbdf = (int) (r.addr >>> 32);
        long reg = r.addr & 0xffffffffL;
        if ((r.size != 1 && r.size != 2 && r.size != 4) || reg + r.size > PciConfigBus.CONFIG_SPACE_SIZE
                || r.count != 1) {
            invalid(r, "bad PCI config access");
            return;
        }
        if (r.read) {
            stats.pciReads++;
            long v = pci.read(sbdf, (int) reg, r.size);
            if (r.dataIsPtr) {
                guestWrite(r, r.data, v);
            } else {
                r.data = v;
            }
        } else {
            stats.pciWrites++;
            long v = r.data;
            if (r.dataIsPtr) {
                try {
                    v = physRead(r.data, r.size);
                } catch (GuestMemoryException e) {
                    fault(r, e);
                    return;
                }
            }
            pci.write(sbdf, (int) reg, r.size, v);
        }
    }

    /**
     * A rep whose device side stays at one offset (string port I/O) and whose memory side walks guest memory.
     * When the whole run is RAM it is mapped once; otherwise items go one by one and stop at the first fault.
     */
    private void fixedSideRep(Ioreq r, BusDevice device, long offset) {
        int size = r.size;
        int count = r.count;
        if (!itemInRange(r.data, count - 1, size, r.df)) {
            fault(r, new GuestMemoryException(r.data, (long) count * size, "is not a valid string I/O buffer"));
            return;
        }
        long span = (long) count * size;
        long low = r.df ? r.data - span + size : r.data;
        long mask = ByteValues.mask(size);
        GuestMemory.GuestRange range = null;
        if (memory.isRam(low, span) && !mmio.claims(low, span)) {
            try {
                range = memory.map(low, (int) span);
            } catch (GuestMemoryException e) {
                // Memory given back since isRam looked: go item by item below and stop at the hole.
            }
        }
        if (range != null) {
            try (GuestMemory.GuestRange mapped = range) {
                ByteBuffer b = mapped.buffer();
                for (int i = 0; i < count; i++) {
                    int pos = (int) (r.df ? span - size - (long) i * size : (long) i * size);
                    if (r.read) {
                        ByteValues.put(b, pos, size, device.read(offset, size) & mask);
                    } else {
                        device.write(offset, size, ByteValues.get(b, pos, size) & mask);
                    }
                }
            }
            return;
        }
        for (int i = 0; i < count; i++) {
            long a = item(r.data, i, size, r.df);
            try {
                if (r.read) {
                    physWrite(a, size, device.read(offset, size) & mask);
                } else {
                    device.write(offset, size, physRead(a, size) & mask);
                }
            } catch (GuestMemoryException e) {
                fault(r, e);
                return;
            }
        }
    }

    /** Counts the request for the device whose range holds its (first) item, if one does. */
    private static void countFor(IoBus bus, Ioreq r) {
        IoBus.Mapping m = bus.find(r.addr, r.size);
        if (m != null) {
            m.requests.count(r.read);
        }
    }

    /** Guest-physical read for the memory side of a rep: our own MMIO if we claim it, else RAM. */
    private long physRead(long gpa, int size) {
        IoBus.Mapping m = mmio.find(gpa, size);
        if (m != null) {
            return m.device.read(gpa - m.base, size) & ByteValues.mask(size);
        }
        return memory.readValue(gpa, size);
    }

    private void physWrite(long gpa, int size, long value) {
        IoBus.Mapping m = mmio.find(gpa, size);
        if (m != null) {
            m.device.write(gpa - m.base, size, value & ByteValues.mask(size));
            return;
        }
        memory.writeValue(gpa, size, value);
    }

    private void guestWrite(Ioreq r, long gpa, long value) {
        try {
            physWrite(gpa, r.size, value);
        } catch (GuestMemoryException e) {
            fault(r, e);
        }
    }

    private boolean validRep(Ioreq r) {
        if (r.count < 1 || r.count > MAX_REPS) {
            invalid(r, "rep count out of range");
            return false;
        }
        return true;
    }

    /** Whether item {@code index} (and so every item before it) stays inside [0, 2^63). */
    private static boolean itemInRange(long base, int index, int size, boolean df) {
        long offset = (long) index * size;
        if (base < 0) {
            return false;
        }
        return df ? base - offset >= 0 : base + offset + size > 0;
    }

    private static long item(long base, int index, int size, boolean df) {
        long offset = (long) index * size;
        return df ? base - offset : base + offset;
    }

    private void invalid(Ioreq r, String why) {
        stats.invalid++;
        if (invalidLogged++ < LOGGED_PER_KIND) {
            LOG.log(Level.WARNING, "refused " + r + ": " + why);
        }
        if (r.read && !r.dataIsPtr) {
            r.data = r.size >= 1 && r.size <= 8 ? ByteValues.mask(r.size) : -1L;
        }
    }

    private void fault(Ioreq r, GuestMemoryException e) {
        stats.memoryFaults++;
        if (faultLogged++ < LOGGED_PER_KIND) {
            LOG.log(Level.WARNING, "stopped " + r + ": " + e.getMessage());
        }
    }

    /** A bus address treated as one device, for string I/O to a port no single device holds whole. */
    private static final class BusAt implements BusDevice {
        private final IoBus bus;
        private final long addr;

        BusAt(IoBus bus, long addr) {
            this.bus = bus;
            this.addr = addr;
        }

        @Override
        public long read(long offset, int size) {
            return bus.read(addr + offset, size);
        }

        @Override
        public void write(long offset, int size, long value) {
            bus.write(addr + offset, size, value);
        }
    }
}
