package io.stubdm.devices.pci;

import io.stubdm.devices.IrqLine;

/** Gives a PCI function the line for its interrupt pin: the machine connects it to Xen's INTx for the slot. */
@FunctionalInterface
public interface IntxRouter {

    /** {@code pin} is 1 (INTA) to 4 (INTD), as in the INTERRUPT_PIN register. */
    IrqLine intx(int device, int pin);
}
