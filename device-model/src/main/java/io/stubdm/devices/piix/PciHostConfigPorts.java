package io.stubdm.devices.piix;

import io.stubdm.ioreq.BusDevice;

/**
 * Ports 0xCF8-0xCFB as the device model sees them under Xen. Xen decodes configuration cycles itself, but it
 * also forwards every access to 0xCF8 (hvm_access_cf8 falls through), so the address register must read back:
 * Linux's pci_check_type1 writes 0x80000000 and expects to read it again before it trusts mechanism #1.
 * Port 0xCF9 inside the window is PIIX3's reset control register.
 */
public final class PciHostConfigPorts implements BusDevice {
    private final BusDevice resetControl;
    private int address;

    public PciHostConfigPorts(BusDevice resetControl) {
        this.resetControl = resetControl;
    }

    @Override
    public long read(long offset, int size) {
        if (offset == 0 && size == 4) {
            return address & 0xffff_ffffL;
        }
        if (offset == 1 && size == 1) {
            return resetControl.read(0, 1);
        }
        return -1L; // other widths decode nothing on i440FX
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset == 0 && size == 4) {
            // Bits 1:0 are reserved and read as 0 (i440FX datasheet §3.1.1).
            address = (int) value & ~3;
        } else if (offset == 1 && size == 1) {
            resetControl.write(0, 1, value);
        }
    }
}
