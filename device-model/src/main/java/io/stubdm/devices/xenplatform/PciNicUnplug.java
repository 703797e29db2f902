package io.stubdm.devices.xenplatform;

import io.stubdm.devices.pci.PciBus;
import io.stubdm.devices.pci.PciFunction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The machine's NIC unplug: removes every Ethernet controller (class 0x0200) from the PCI bus, so its config
 * space reads all-ones and its BARs stop decoding, as QEMU's {@code pci_unplug_nics} unparents them
 * ({@code hw/i386/xen/xen_platform.c}). QEMU spares {@code xen-pci-passthrough} functions; stubdm passes none
 * through, so every match goes.
 *
 * <p>Listeners hear of each removed function, on the device loop: that is where the machine closes the NIC's
 * network backend (QEMU deletes the tap peer too) and where QMP's {@code DEVICE_DELETED} will come from, which
 * the Qubes stub-domain init waits for.
 */
public final class PciNicUnplug {
    /** Base class and subclass of an Ethernet controller, as QEMU's {@code PCI_CLASS_NETWORK_ETHERNET}. */
    public static final int CLASS_NETWORK_ETHERNET = 0x0200;

    private final PciBus bus;
    private final List<Consumer<? super PciFunction>> listeners = new CopyOnWriteArrayList<>();

    public PciNicUnplug(PciBus bus) {
        this.bus = bus;
    }

    public void addListener(Consumer<? super PciFunction> listener) {
        listeners.add(listener);
    }

    /** Unplugs every Ethernet controller on the bus; returns them in devfn order. */
    public List<PciFunction> unplugNics() {
        List<PciFunction> removed = new ArrayList<>();
        for (PciFunction f : bus.functions()) {
            if (f.classCode() >> 8 == CLASS_NETWORK_ETHERNET) {
                bus.unplug(f.devfn());
                removed.add(f);
                listeners.forEach(l -> l.accept(f));
            }
        }
        return removed;
    }
}
