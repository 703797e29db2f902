package io.stubdm.devices.pci;

/** Type-0 configuration header registers and bits (PCI Local Bus Specification 3.0, §6.2). */
public final class PciRegs {
    private PciRegs() {}

    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    public static final int PROG_IF = 0x09;
    public static final int SUBCLASS = 0x0a;
    public static final int CLASS = 0x0b;
    public static final int CACHE_LINE_SIZE = 0x0c;
    public static final int LATENCY_TIMER = 0x0d;
    public static final int HEADER_TYPE = 0x0e;
    public static final int BAR0 = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int SUBSYSTEM_ID = 0x2e;
    public static final int ROM_ADDRESS = 0x30;
    public static final int CAPABILITY_LIST = 0x34;
    public static final int INTERRUPT_LINE = 0x3c;
    public static final int INTERRUPT_PIN = 0x3d;
    /** Device-specific registers start here; QEMU makes them all writable unless a device says otherwise. */
    public static final int DEVICE_SPECIFIC = 0x40;
    public static final int CONFIG_SPACE_SIZE = 256;

    public static final int COMMAND_IO = 0x0001;
    public static final int COMMAND_MEMORY = 0x0002;
    public static final int COMMAND_MASTER = 0x0004;
    public static final int COMMAND_PARITY = 0x0040;
    public static final int COMMAND_SERR = 0x0100;
    public static final int COMMAND_INTX_DISABLE = 0x0400;

    public static final int STATUS_INTERRUPT = 0x0008;
    public static final int STATUS_CAP_LIST = 0x0010;
    public static final int STATUS_DEVSEL_MEDIUM = 0x0200;
    /** Error bits software clears by writing 1 (§6.2.3): parity, signalled/received aborts, SERR, parity error. */
    public static final int STATUS_WRITE_1_TO_CLEAR = 0xf900;

    public static final int HEADER_TYPE_MULTI_FUNCTION = 0x80;

    public static final int BAR_IO_SPACE = 0x01;
    public static final int BAR_MEM_TYPE_64 = 0x04;
    public static final int BAR_MEM_PREFETCH = 0x08;
    public static final int ROM_ENABLE = 0x01;
}
