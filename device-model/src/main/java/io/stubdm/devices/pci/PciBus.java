package io.stubdm.devices.pci;

import static io.stubdm.devices.pci.PciRegs.HEADER_TYPE;
import static io.stubdm.devices.pci.PciRegs.HEADER_TYPE_MULTI_FUNCTION;
import static io.stubdm.devices.pci.PciRegs.INTERRUPT_PIN;

import io.stubdm.devices.IrqLine;
import io.stubdm.ioreq.IoBus;
import io.stubdm.ioreq.PciConfigBus;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * PCI bus 0 of segment 0, where every xenfv device sits: functions by devfn, their config space registered with
 * Xen by SBDF, their BARs mapped on the port and MMIO buses, their pins routed by the machine.
 */
public final class PciBus {
    private static final System.Logger LOG = System.getLogger(PciBus.class.getName());

    private final PciConfigBus configBus;
    private final IoBus ports;
    private final IoBus mmio;
    private final IntxRouter intxRouter;
    private final PciFunction[] functions = new PciFunction[256];

    public PciBus(PciConfigBus configBus, IoBus ports, IoBus mmio, IntxRouter intxRouter) {
        this.configBus = configBus;
        this.ports = ports;
        this.mmio = mmio;
        this.intxRouter = intxRouter;
    }

    IoBus ports() {
        return ports;
    }

    IoBus mmio() {
        return mmio;
    }

    /** Puts {@code function} at device {@code device}, function {@code fn}. */
    public void plug(int device, int fn, PciFunction function) {
        int devfn = device << 3 | fn;
        if (device < 0 || device > 31 || fn < 0 || fn > 7 || functions[devfn] != null) {
            throw new IllegalArgumentException(String.format("%s: slot %02x.%x is taken or invalid", function.name(), device, fn));
        }
        int pin = function.config[INTERRUPT_PIN] & 0xff;
        IrqLine line = pin >= 1 && pin <= 4 ? intxRouter.intx(device, pin) : IrqLine.NONE;
        functions[devfn] = function;
        function.attach(this, devfn, line);
        configBus.register(PciConfigBus.sbdf(0, 0, device, fn), function, function.name());
        if (fn != 0 && functions[device << 3] != null) {
            // Software only looks past function 0 when it says the slot is multi-function.
            PciFunction f0 = functions[device << 3];
            f0.config[HEADER_TYPE] |= HEADER_TYPE_MULTI_FUNCTION;
        }
    }

    /**
     * Removes the function at {@code devfn}: its config space reads as absent (all-ones) and its BARs and
     * interrupt are gone. Returns what was there, or null.
     */
    public PciFunction unplug(int devfn) {
        PciFunction f = functions[devfn];
        if (f == null) {
            return null;
        }
        functions[devfn] = null;
        configBus.unregister(PciConfigBus.sbdf(0, 0, devfn >> 3, devfn & 7));
        f.detach();
        LOG.log(Level.INFO, "unplugged " + f);
        return f;
    }

    public PciFunction function(int devfn) {
        return functions[devfn];
    }

    public List<PciFunction> functions() {
        List<PciFunction> out = new ArrayList<>();
        for (PciFunction f : functions) {
            if (f != null) {
                out.add(f);
            }
        }
        return out;
    }

    /** Device-model reset (port 0xCF9, i8042 0xFE): every function back to power-on config. */
    public void reset() {
        for (PciFunction f : functions) {
            if (f != null) {
                f.reset();
            }
        }
    }
}
