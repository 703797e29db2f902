package io.stubdm.ioreq;

import io.stubdm.hypervisor.ByteValues;
import io.stubdm.hypervisor.IoRangeType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The port or MMIO address space of the device model: non-overlapping ranges, each served by a {@link BusDevice}.
 * Lookups are a binary search over an immutable sorted array that registration replaces, so the hot path neither
 * locks nor allocates.
 *
 * <p>An access that no range holds whole is split into byte accesses (Xen merges adjacent claimed ranges, so it
 * can forward an access straddling two devices); a byte no device holds reads as 0xFF and swallows writes,
 * as on a real bus with nothing to answer.
 */
public final class IoBus {
    private static final Mapping[] NONE = new Mapping[0];

    private final IoRangeType type;
    private final long limit;
    private volatile Mapping[] mappings = NONE;
    private RangeClaimer claimer;
    private long unclaimedReads;
    private long unclaimedWrites;
    /** Request counts by range name, kept across registrations (a BAR that moves is still the same device). */
    private final Map<String, DeviceRequests> requests = new LinkedHashMap<>();

    private IoBus(IoRangeType type, long limit) {
        this.type = type;
        this.limit = limit;
    }

    /** The 64 KiB x86 I/O port space. */
    public static IoBus ports() {
        return new IoBus(IoRangeType.PORT, 0x10000);
    }

    /** Guest-physical MMIO space. */
    public static IoBus mmio() {
        return new IoBus(IoRangeType.MEMORY, Long.MAX_VALUE);
    }

    public IoRangeType type() {
        return type;
    }

    /** One registered range. */
    public static final class Mapping {
        final long base;
        final long end; // exclusive
        final BusDevice device;
        final String name;
        final DeviceRequests requests;

        Mapping(long base, long length, BusDevice device, String name, DeviceRequests requests) {
            this.base = base;
            this.end = base + length;
            this.device = device;
            this.name = name;
            this.requests = requests;
        }

        public long base() {
            return base;
        }

        public long length() {
            return end - base;
        }

        public String name() {
            return name;
        }

        @Override
        public String toString() {
            return String.format("%s [0x%x, 0x%x)", name, base, end);
        }
    }

    /** Handle to remove a range again (a BAR moving or disabled, a device unplugged). */
    public final class Registration {
        private final Mapping mapping;
        private boolean active = true;

        Registration(Mapping mapping) {
            this.mapping = mapping;
        }

        public Mapping mapping() {
            return mapping;
        }

        public void unregister() {
            if (active) {
                active = false;
                remove(mapping);
            }
        }
    }

    /**
     * Adds {@code [base, base + length)}. Throws IllegalArgumentException if it overlaps a registered range or
     * leaves the address space, and whatever the claimer throws if Xen refuses it; the bus is unchanged then.
     */
    public synchronized Registration register(long base, long length, BusDevice device, String name) {
        if (length <= 0 || base < 0 || base + length > limit || base + length < base) {
            throw new IllegalArgumentException(String.format("%s: bad %s range 0x%x+0x%x", name, type, base, length));
        }
        Mapping m = new Mapping(base, length, device, name, requests.getOrDefault(name, new DeviceRequests(name)));
        for (Mapping other : mappings) {
            if (other.base < m.end && m.base < other.end) {
                throw new IllegalArgumentException(name + " " + m + " overlaps " + other);
            }
        }
        if (claimer != null) {
            claimer.claim(type, m.base, m.end - 1);
        }
        requests.putIfAbsent(name, m.requests);
        Mapping[] next = Arrays.copyOf(mappings, mappings.length + 1);
        next[next.length - 1] = m;
        Arrays.sort(next, (a, b) -> Long.compare(a.base, b.base));
        mappings = next;
        return new Registration(m);
    }

    private synchronized void remove(Mapping m) {
        List<Mapping> rest = new ArrayList<>(Arrays.asList(mappings));
        if (!rest.remove(m)) {
            return;
        }
        mappings = rest.toArray(NONE);
        if (claimer != null) {
            claimer.release(type, m.base, m.end - 1);
        }
    }

    /** Connects the bus to Xen: everything registered so far is claimed now, later ranges as they come. */
    public synchronized void attach(RangeClaimer claimer) {
        for (Mapping m : mappings) {
            claimer.claim(type, m.base, m.end - 1);
        }
        this.claimer = claimer;
    }

    /** The range holding all of {@code [addr, addr + size)}, or null. */
    public Mapping find(long addr, int size) {
        Mapping[] ms = mappings;
        int lo = 0;
        int hi = ms.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Mapping m = ms[mid];
            if (addr < m.base) {
                hi = mid - 1;
            } else if (addr >= m.end) {
                lo = mid + 1;
            } else {
                return addr + size <= m.end ? m : null;
            }
        }
        return null;
    }

    public long read(long addr, int size) {
        Mapping m = find(addr, size);
        if (m != null) {
            return m.device.read(addr - m.base, size) & ByteValues.mask(size);
        }
        long value = 0;
        for (int i = 0; i < size; i++) {
            Mapping b = find(addr + i, 1);
            long v;
            if (b == null) {
                unclaimedReads++;
                v = 0xff;
            } else {
                v = b.device.read(addr + i - b.base, 1) & 0xff;
            }
            value |= v << (8 * i);
        }
        return value;
    }

    public void write(long addr, int size, long value) {
        long v = value & ByteValues.mask(size);
        Mapping m = find(addr, size);
        if (m != null) {
            m.device.write(addr - m.base, size, v);
            return;
        }
        for (int i = 0; i < size; i++) {
            Mapping b = find(addr + i, 1);
            if (b == null) {
                unclaimedWrites++;
            } else {
                b.device.write(addr + i - b.base, 1, (v >>> (8 * i)) & 0xff);
            }
        }
    }

    /** Whether any byte of {@code [addr, addr + size)} belongs to a device. */
    public boolean claims(long addr, long size) {
        for (Mapping m : mappings) {
            if (m.base < addr + size && addr < m.end) {
                return true;
            }
        }
        return false;
    }

    /** Bytes read where no device answers (each reads 0xFF). */
    public long unclaimedReads() {
        return unclaimedReads;
    }

    /** Bytes written where no device listens (each dropped). */
    public long unclaimedWrites() {
        return unclaimedWrites;
    }

    public List<Mapping> mappings() {
        return List.of(mappings);
    }

    /** Requests sent to each range name ever registered, in registration order (see {@link DeviceRequests}). */
    public synchronized List<DeviceRequests> requestsByDevice() {
        return List.copyOf(requests.values());
    }
}
