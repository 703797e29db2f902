package io.stubdm.ioreq;

import io.stubdm.hypervisor.ByteValues;
import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.IoreqAbi;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * PCI configuration space by SBDF. Xen decodes CF8/CFC cycles itself and sends the device model a PCI_CONFIG
 * request for every function it registered; registers are the conventional 256 bytes, as on i440FX.
 */
public final class PciConfigBus {
    public static final int CONFIG_SPACE_SIZE = 256;

    /** Segment 0, bus 0 holds every device of xenfv; indexed by devfn to keep the lookup allocation-free. */
    private final BusDevice[] bus0 = new BusDevice[256];
    private final Map<Integer, BusDevice> others = new TreeMap<>();
    /** Request counts by SBDF, kept when a function is unplugged (a counter never goes back). */
    private final Map<Integer, DeviceRequests> requests = new LinkedHashMap<>();
    private final DeviceRequests[] requests0 = new DeviceRequests[256];
    private RangeClaimer claimer;
    private long unclaimedReads;
    private long unclaimedWrites;

    /** Registers a function under its SBDF's name ({@code 0000:00:03.0}). */
    public void register(int sbdf, BusDevice configSpace) {
        register(sbdf, configSpace, name(sbdf));
    }

    /** Registers a function; {@code device} names it in {@link #requestsByDevice()}. */
    public synchronized void register(int sbdf, BusDevice configSpace, String device) {
        if (lookup(sbdf) != null) {
            throw new IllegalArgumentException(String.format("PCI function %s is registered already", name(sbdf)));
        }
        if (claimer != null) {
            claimer.claim(IoRangeType.PCI, sbdf & 0xffffffffL, sbdf & 0xffffffffL);
        }
        DeviceRequests counts = requests.computeIfAbsent(sbdf, s -> new DeviceRequests(device));
        if ((sbdf & ~0xff) == 0) {
            requests0[sbdf] = counts;
            bus0[sbdf] = configSpace;
        } else {
            others.put(sbdf, configSpace);
        }
    }

    public synchronized void unregister(int sbdf) {
        if (lookup(sbdf) == null) {
            return;
        }
        if ((sbdf & ~0xff) == 0) {
            bus0[sbdf] = null;
        } else {
            others.remove(sbdf);
        }
        if (claimer != null) {
            claimer.release(IoRangeType.PCI, sbdf & 0xffffffffL, sbdf & 0xffffffffL);
        }
    }

    public synchronized void attach(RangeClaimer claimer) {
        for (int devfn = 0; devfn < 256; devfn++) {
            if (bus0[devfn] != null) {
                claimer.claim(IoRangeType.PCI, devfn, devfn);
            }
        }
        others.keySet().forEach(s -> claimer.claim(IoRangeType.PCI, s & 0xffffffffL, s & 0xffffffffL));
        this.claimer = claimer;
    }

    public BusDevice lookup(int sbdf) {
        if ((sbdf & ~0xff) == 0) {
            return bus0[sbdf];
        }
        synchronized (this) {
            return others.get(sbdf);
        }
    }

    /** A config read; a function that is not there reads all-ones, which is how software finds no device. */
    public long read(int sbdf, int reg, int size) {
        BusDevice d = lookup(sbdf);
        if (d == null) {
            unclaimedReads++;
            return ByteValues.mask(size);
        }
        counted(sbdf, true);
        return d.read(reg, size) & ByteValues.mask(size);
    }

    public void write(int sbdf, int reg, int size, long value) {
        BusDevice d = lookup(sbdf);
        if (d == null) {
            unclaimedWrites++;
            return;
        }
        counted(sbdf, false);
        d.write(reg, size, value & ByteValues.mask(size));
    }

    private void counted(int sbdf, boolean read) {
        DeviceRequests counts;
        if ((sbdf & ~0xff) == 0) {
            counts = requests0[sbdf];
        } else {
            synchronized (this) {
                counts = requests.get(sbdf);
            }
        }
        if (counts != null) {
            counts.count(read);
        }
    }

    /** Config requests each function was sent, in registration order (see {@link DeviceRequests}). */
    public synchronized List<DeviceRequests> requestsByDevice() {
        return new ArrayList<>(requests.values());
    }

    public long unclaimedReads() {
        return unclaimedReads;
    }

    public long unclaimedWrites() {
        return unclaimedWrites;
    }

    public static int sbdf(int segment, int bus, int device, int function) {
        return (int) IoreqAbi.pciSbdf(segment, bus, device, function);
    }

    public static String name(int sbdf) {
        return String.format("%04x:%02x:%02x.%x", sbdf >>> 16, (sbdf >>> 8) & 0xff, (sbdf >>> 3) & 0x1f, sbdf & 7);
    }
}
