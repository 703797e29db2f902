package io.stubdm.devices.xenplatform;

import io.stubdm.devices.pci.PciBar;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.hypervisor.ByteValues;
import io.stubdm.ioreq.BusDevice;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The Xen platform PCI device of the xenfv machine (00:02.0), QEMU's {@code xen-platform}
 * ({@code hw/i386/xen/xen_platform.c}): the function PV drivers bind to (FreeBSD's {@code xenpci}, Linux's
 * {@code xen-platform-pci}) and the emulated-device unplug protocol ({@code docs/misc/hvm-emulated-unplug.pandoc}).
 *
 * <p>Config space: 5853:0001, subsystem 5853:0001, revision 1, class 0xFF80, INTA. BAR0 is 256 bytes of I/O,
 * BAR1 16 MiB of prefetchable 32-bit memory that reads 0 and ignores writes: guests only borrow its address
 * range (grant-table and shared-info mappings). The INTA pin is declared but never driven from here: Xen itself
 * raises it when it delivers event-channel upcalls through {@code HVM_CALLBACK_PCI_INTX}.
 *
 * <p>COMMAND starts at 0, not at the IO|MEM QEMU's realize writes: QEMU resets every device before the
 * guest's first instruction ({@code qdev_machine_creation_done} calls {@code qemu_system_reset}) and
 * {@code pci_do_device_reset} clears COMMAND's writable bits, so no guest ever sees that preset, at first boot
 * or after a reset.
 *
 * <p>Fixed ports 0x10-0x1F ({@link #fixedPorts()}, registered on the port bus by the machine), by access width
 * as QEMU decodes them; every other access reads all-ones and writes nothing:
 * <pre>
 *   0x10 read 16   magic 0x49D2 (QEMU never answers 0xD249, "drivers blacklisted")
 *   0x10 read 8    platform flags           0x10 write 8   flags: bit 0 locks the BIOS ROM shadow ({@link BiosRomLock})
 *   0x10 write 16  unplug mask              0x10 write 32  PV driver build number (logged)
 *   0x12 read 8    protocol version 1       0x12 read 16   0xFFFF
 *   0x12 write 16  PV product number (logged)
 *   0x12 write 8   one byte of a guest log line, which goes to the DM log prefixed "xen platform: "
 * </pre>
 * BAR0 answers byte by byte (wider accesses are split, as QEMU's 1-byte {@code impl} size splits them): offset 0
 * reads and writes the flags; 1 written to offset 4 unplugs disks and NICs (old SUSE drivers, which write it
 * with {@code outl}); at offset 8, 1 unplugs disks, 2 NICs, and any other byte is a log byte (old Novell VMDP).
 *
 * <p>Unplug mask bits: 0 all IDE and SCSI disks (never CD-ROMs), 1 all NICs, 2 IDE disks but the primary
 * master (ignored with bit 0), 3 NVMe. The device asks the machine through {@link EmulatedDeviceUnplug} and keeps
 * its own record ({@link #unplugEvents()}). A reset clears the flags, unlocking the ROM shadow; what was
 * unplugged stays unplugged and recorded.
 */
public final class XenPlatformDevice extends PciFunction {
    private static final System.Logger LOG = System.getLogger(XenPlatformDevice.class.getName());

    public static final int VENDOR_XEN = 0x5853;
    public static final int DEVICE_XEN_PLATFORM = 0x0001;
    public static final int FIXED_PORT_BASE = 0x10;
    public static final int FIXED_PORT_COUNT = 0x10;
    public static final int MAGIC = 0x49d2;
    public static final int PROTOCOL_VERSION = 1;
    /** What QEMU's {@code xen_platform_log} trace event puts before each guest line. */
    public static final String GUEST_LOG_PREFIX = "xen platform: ";
    /** A guest line is cut here if it has no newline by then (QEMU's 4 KiB log buffer). */
    public static final int GUEST_LOG_LINE_MAX = 4096;
    /** The guest decides how often it asks to unplug; only this many requests are kept in the record. */
    public static final int MAX_RECORDED_UNPLUGS = 64;

    private static final int IO_BAR_SIZE = 0x100;
    private static final int MMIO_BAR_SIZE = 16 << 20;
    private static final int CLASS_OTHER = 0xff8000;
    private static final int FLAG_ROM_LOCK = 0x01;
    private static final int UNPLUG_IDE_SCSI_DISKS = 0x01;
    private static final int UNPLUG_ALL_NICS = 0x02;
    private static final int UNPLUG_AUX_IDE_DISKS = 0x04;
    private static final int UNPLUG_NVME_DISKS = 0x08;
    private static final int SUSE_UNPLUG_OFFSET = 4;
    private static final int VMDP_OFFSET = 8;
    private static final int VMDP_UNPLUG_DISKS = 1;
    private static final int VMDP_UNPLUG_NICS = 2;

    private final EmulatedDeviceUnplug unplug;
    private final BiosRomLock romLock;
    private final Consumer<String> guestLog;
    private final BusDevice fixedPorts = new FixedPorts();
    private final byte[] logLine = new byte[GUEST_LOG_LINE_MAX];
    private int logLength;
    private final List<UnplugEvent> unplugEvents = new CopyOnWriteArrayList<>();
    private int flags;

    /** A device whose guest log lines go to this class's logger at INFO. */
    public XenPlatformDevice(EmulatedDeviceUnplug unplug, BiosRomLock romLock) {
        this(unplug, romLock, line -> LOG.log(Level.INFO, line));
    }

    /** {@code guestLog} receives each complete guest log line, prefix included, on the device loop. */
    public XenPlatformDevice(EmulatedDeviceUnplug unplug, BiosRomLock romLock, Consumer<String> guestLog) {
        super("xen-platform", VENDOR_XEN, DEVICE_XEN_PLATFORM, CLASS_OTHER, 1);
        this.unplug = unplug;
        this.romLock = romLock;
        this.guestLog = guestLog;
        setSubsystem(VENDOR_XEN, DEVICE_XEN_PLATFORM);
        setInterruptPin(1);
        defineBar(0, PciBar.io(IO_BAR_SIZE, new IoBar(), "xen-pci"));
        defineBar(1, PciBar.memory32(MMIO_BAR_SIZE, true, new MmioBar(), "xen-mmio"));
    }

    /** The window on ports {@link #FIXED_PORT_BASE} to 0x1F, for the machine to register on the port bus. */
    public BusDevice fixedPorts() {
        return fixedPorts;
    }

    /** The unplugs the guest asked for, oldest first (at most {@link #MAX_RECORDED_UNPLUGS}); any thread. */
    public List<UnplugEvent> unplugEvents() {
        return List.copyOf(unplugEvents);
    }

    @Override
    protected void resetDevice() {
        // A line the guest never finished before the reset would otherwise be glued to the next boot's first.
        if (logLength > 0) {
            flushLogLine();
        }
        // QEMU's platform_fixed_ioport_reset: a flags write of 0, so the ROM shadow is writable for the next BIOS.
        writeFlags(0);
    }

    // ---------------------------------------------------------------- the protocol

    private void writeFlags(long value) {
        boolean lock = (value & FLAG_ROM_LOCK) != 0;
        if (romLock.setRomReadOnly(lock)) {
            flags = lock ? FLAG_ROM_LOCK : 0;
        } else {
            LOG.log(Level.WARNING, "could not make the ROM area 0xC0000-0xFFFFF " + (lock ? "read-only" : "writable"));
        }
    }

    /**
     * Bit 3 alone unplugs only NVMe here, as the protocol document says; QEMU's {@code pci_unplug_disks} would
     * also take every IDE and SCSI disk then, since it walks the disk controllers whenever any disk bit is set.
     */
    private void unplugByMask(int mask) {
        if ((mask & UNPLUG_IDE_SCSI_DISKS) != 0) {
            unplugDisks(false, UnplugEvent.Protocol.UNPLUG_MASK);
        } else if ((mask & UNPLUG_AUX_IDE_DISKS) != 0) {
            unplugDisks(true, UnplugEvent.Protocol.UNPLUG_MASK);
        }
        if ((mask & UNPLUG_NVME_DISKS) != 0) {
            record(UnplugEvent.Kind.NVME, UnplugEvent.Protocol.UNPLUG_MASK, unplug.unplugNvme());
        }
        if ((mask & UNPLUG_ALL_NICS) != 0) {
            unplugNics(UnplugEvent.Protocol.UNPLUG_MASK);
        }
    }

    private void unplugDisks(boolean keepPrimaryMaster, UnplugEvent.Protocol protocol) {
        UnplugEvent.Kind kind = keepPrimaryMaster ? UnplugEvent.Kind.DISKS_EXCEPT_PRIMARY_MASTER : UnplugEvent.Kind.DISKS;
        record(kind, protocol, unplug.unplugDisks(keepPrimaryMaster));
    }

    private void unplugNics(UnplugEvent.Protocol protocol) {
        record(UnplugEvent.Kind.NICS, protocol, unplug.unplugNics());
    }

    private void record(UnplugEvent.Kind kind, UnplugEvent.Protocol protocol, List<String> removed) {
        LOG.log(Level.INFO, "guest unplugged " + kind + " (" + protocol + "): " + (removed.isEmpty() ? "none left" : removed));
        if (unplugEvents.size() < MAX_RECORDED_UNPLUGS) {
            unplugEvents.add(new UnplugEvent(kind, protocol, removed));
        }
    }

    private void productNumber(int product) {
        // Product numbers from xen/include/public/hvm/pvdrivers.h.
        String name;
        switch (product) {
            case 0x0001: name = "xensource-windows"; break;
            case 0x0002: name = "gplpv-windows"; break;
            case 0x0003: name = "linux"; break;
            case 0xffff: name = "experimental"; break;
            default: name = "unregistered"; break;
        }
        LOG.log(Level.INFO, String.format("guest PV drivers: product 0x%04x (%s)", product, name));
    }

    private void logByte(int b) {
        if (b == '\n') {
            flushLogLine();
            return;
        }
        logLine[logLength++] = (byte) b;
        if (logLength == GUEST_LOG_LINE_MAX) {
            flushLogLine();
        }
    }

    /** Control and non-ASCII bytes are escaped: the text is the guest's, and it must not forge log lines. */
    private void flushLogLine() {
        StringBuilder line = new StringBuilder(GUEST_LOG_PREFIX.length() + logLength).append(GUEST_LOG_PREFIX);
        for (int i = 0; i < logLength; i++) {
            int b = logLine[i] & 0xff;
            if (b >= 0x20 && b < 0x7f || b == '\t') {
                line.append((char) b);
            } else {
                line.append(String.format("\\x%02x", b));
            }
        }
        logLength = 0;
        guestLog.accept(line.toString());
    }

    // ---------------------------------------------------------------- windows onto buses

    /** Ports 0x10-0x1F: the meaning depends on the access width, as in QEMU's platform_fixed_ioport_read/write. */
    private final class FixedPorts implements BusDevice {
        @Override
        public long read(long offset, int size) {
            switch (size) {
                case 1: return offset == 0 ? flags : offset == 2 ? PROTOCOL_VERSION : 0xff;
                case 2: return offset == 0 ? MAGIC : 0xffff;
                default: return ByteValues.mask(size);
            }
        }

        @Override
        public void write(long offset, int size, long value) {
            if (size == 1 && offset == 0) {
                writeFlags(value);
            } else if (size == 1 && offset == 2) {
                logByte((int) value);
            } else if (size == 2 && offset == 0) {
                unplugByMask((int) value);
            } else if (size == 2 && offset == 2) {
                productNumber((int) value);
            } else if (size == 4 && offset == 0) {
                LOG.log(Level.INFO, String.format("guest PV drivers: build 0x%08x", value));
            }
        }
    }

    /** BAR0: one byte at a time, so an {@code outl(1, bar + 4)} is a byte 1 at offset 4. */
    private final class IoBar implements BusDevice {
        @Override
        public long read(long offset, int size) {
            long value = 0;
            for (int i = 0; i < size; i++) {
                long b = offset + i == 0 ? flags : 0xff;
                value |= b << (8 * i);
            }
            return value;
        }

        @Override
        public void write(long offset, int size, long value) {
            for (int i = 0; i < size; i++) {
                writeByte(offset + i, (int) (value >>> (8 * i)) & 0xff);
            }
        }

        private void writeByte(long offset, int b) {
            if (offset == 0) {
                writeFlags(b);
            } else if (offset == SUSE_UNPLUG_OFFSET && b == 1) {
                unplugDisks(false, UnplugEvent.Protocol.SUSE_BAR0);
                unplugNics(UnplugEvent.Protocol.SUSE_BAR0);
            } else if (offset == VMDP_OFFSET) {
                if (b == VMDP_UNPLUG_DISKS) {
                    unplugDisks(false, UnplugEvent.Protocol.VMDP_BAR0);
                } else if (b == VMDP_UNPLUG_NICS) {
                    unplugNics(UnplugEvent.Protocol.VMDP_BAR0);
                } else {
                    logByte(b);
                }
            }
        }
    }

    /** BAR1: address space for the guest's own mappings; nothing behind it. */
    private static final class MmioBar implements BusDevice {
        @Override
        public long read(long offset, int size) {
            return 0;
        }

        @Override
        public void write(long offset, int size, long value) {
        }
    }
}
