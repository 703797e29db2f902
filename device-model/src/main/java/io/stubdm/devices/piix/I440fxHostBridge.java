package io.stubdm.devices.piix;

import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.pci.PciRegs;

/**
 * Intel 82441FX PCI and memory controller (i440FX), the host bridge at 00:00.0 (8086:1237 rev 2). Under Xen
 * its memory-attribute registers (PAM0-6, SMRAM) are written by firmware but have no effect: Xen owns guest
 * memory. They are kept so firmware reads back what it wrote.
 *
 * <p>Subsystem 1AF4:1100 is what SeaBIOS's qemu_detect looks for; QEMU sets it on every i440FX.
 */
public final class I440fxHostBridge extends PciFunction {
    public static final int VENDOR_INTEL = 0x8086;
    public static final int DEVICE_82441 = 0x1237;
    /** Programmable attribute map registers, 82441FX datasheet §3.2.16. */
    public static final int PAM0 = 0x59;
    public static final int PAM6 = 0x5f;
    /** System management RAM control, §3.2.19. */
    public static final int SMRAM = 0x72;

    public I440fxHostBridge() {
        super("i440fx", VENDOR_INTEL, DEVICE_82441, 0x060000, 0x02);
        setSubsystem(0x1af4, 0x1100);
        set16(PciRegs.STATUS, PciRegs.STATUS_DEVSEL_MEDIUM);
        config[SMRAM] = 0x02; // C_BASE_SEG = 010b: SMRAM at 0xA0000, the only legal value
        setWritable(SMRAM, 1, 0x78); // D_OPEN, D_CLS, D_LCK, G_SMRAME; C_BASE_SEG is fixed
    }
}
