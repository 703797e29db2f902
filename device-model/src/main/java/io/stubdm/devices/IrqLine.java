package io.stubdm.devices;

/**
 * An interrupt line as a device drives it: high while the device wants attention, low otherwise. The machine
 * connects it to Xen (an ISA IRQ through {@code set_isa_irq_level}, a PCI INTx pin through
 * {@code set_pci_intx_level}); devices never see how.
 *
 * <p>Edge-triggered ISA devices (UART, i8042) still drive a level: they lower it when nothing is pending and
 * raise it for the next event, and each low-to-high change is the edge the guest's PIC sees.
 */
public interface IrqLine {

    void setLevel(boolean high);

    default void raise() {
        setLevel(true);
    }

    default void lower() {
        setLevel(false);
    }

    /** A line connected to nothing, for devices whose interrupt is unused. */
    IrqLine NONE = high -> { };
}
