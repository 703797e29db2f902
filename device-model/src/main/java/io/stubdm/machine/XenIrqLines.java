package io.stubdm.machine;

import io.stubdm.devices.IrqLine;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.XenException;
import java.lang.System.Logger.Level;

/**
 * Interrupt lines that end in Xen: ISA IRQs through {@code set_isa_irq_level} and PCI pins through
 * {@code set_pci_intx_level} (Xen applies the slot swizzle and the PIIX3 link routes itself). A line only
 * calls Xen when its level changes. A failing call is logged, not thrown: a device raising an interrupt while
 * the domain is being torn down must not fail the guest access it is serving.
 */
public final class XenIrqLines {
    private static final System.Logger LOG = System.getLogger(XenIrqLines.class.getName());

    private final DeviceModelOps dm;

    public XenIrqLines(DeviceModelOps dm) {
        this.dm = dm;
    }

    public IrqLine isa(int irq) {
        if (irq < 0 || irq > 15) {
            throw new IllegalArgumentException("ISA IRQ " + irq);
        }
        return new Line("ISA IRQ " + irq) {
            @Override
            void send(int level) {
                dm.setIsaIrqLevel(irq, level);
            }
        };
    }

    /** {@code pin} 1 (INTA) to 4 (INTD). */
    public IrqLine pciIntx(int device, int pin) {
        if (device < 0 || device > 31 || pin < 1 || pin > 4) {
            throw new IllegalArgumentException("PCI device " + device + " pin " + pin);
        }
        return new Line(String.format("00:%02x INT%c", device, 'A' + pin - 1)) {
            @Override
            void send(int level) {
                dm.setPciIntxLevel(0, 0, device, pin - 1, level);
            }
        };
    }

    private abstract static class Line implements IrqLine {
        private final String name;
        private boolean level;

        Line(String name) {
            this.name = name;
        }

        abstract void send(int level);

        @Override
        public void setLevel(boolean high) {
            if (high == level) {
                return;
            }
            level = high;
            try {
                send(high ? 1 : 0);
            } catch (XenException e) {
                LOG.log(Level.WARNING, name + ": " + e.getMessage());
            }
        }
    }
}
