package io.stubdm.devices.xenplatform;

import static io.stubdm.devices.pci.PciRegs.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.pci.PciBar;
import io.stubdm.devices.pci.PciBus;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.xenplatform.UnplugEvent.Kind;
import io.stubdm.devices.xenplatform.UnplugEvent.Protocol;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.MemType;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.EmbeddedEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Xen platform device as hvmloader, Linux, FreeBSD and older PV drivers drive it, through the ioreq engine
 * over the simulated Xen, with the machine side of unplug (PCI NIC removal, a disk target) and the ROM lock
 * wired as the machine wires them.
 */
class XenPlatformDeviceTest {
    private static final int PLATFORM_SLOT = 2;
    private static final int NIC_SLOT = 4;
    private static final long IO_BAR = 0xc000;
    private static final long MMIO_BAR = 0xf0000000L;
    private static final long NIC_MMIO = 0xf1000000L;
    private static final long NIC_IO = 0xc100;

    private final EmbeddedEngine engine = new EmbeddedEngine();
    private final SimVcpu cpu = engine.vcpu(0);
    private final PciBus bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(), (dev, pin) -> IrqLine.NONE);
    private final PciNicUnplug nicUnplug = new PciNicUnplug(bus);
    private final List<PciFunction> deletedNics = new CopyOnWriteArrayList<>();
    private final List<Boolean> diskUnplugs = new CopyOnWriteArrayList<>();
    private final List<String> guestLog = new CopyOnWriteArrayList<>();
    private final DeviceModelOps dmOps = engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID);
    private final BiosRomLock romLock = readOnly -> {
        dmOps.setMemType(readOnly ? MemType.RAM_RO : MemType.RAM_RW, BiosRomLock.FIRST_PFN, BiosRomLock.PAGE_COUNT);
        return true;
    };
    /** Stands in for the IDE controller: one hard disk per channel position. */
    private final DiskUnplugTarget ide = keepPrimaryMaster -> {
        diskUnplugs.add(keepPrimaryMaster);
        return keepPrimaryMaster ? List.of("ide0-hd1") : List.of("ide0-hd0", "ide0-hd1");
    };
    private final XenPlatformDevice platform =
            new XenPlatformDevice(new PciDeviceUnplug(nicUnplug, ide), romLock, guestLog::add);
    private final FakeNic nic = new FakeNic();

    /** An e1000-shaped function: class 0x020000, a memory and an I/O BAR that answer with a constant. */
    static final class FakeNic extends PciFunction {
        static final BusDevice REGISTERS = new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return 0x1234_5678L;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        };

        FakeNic() {
            super("fake-nic", 0x8086, 0x100e, 0x020000, 3);
            setInterruptPin(1);
            defineBar(0, PciBar.memory32(0x20000, false, REGISTERS, "mmio"));
            defineBar(1, PciBar.io(0x40, REGISTERS, "io"));
        }
    }

    /** Something on the bus that is no NIC (a PIIX IDE function) and must survive a NIC unplug. */
    static final class FakeIde extends PciFunction {
        FakeIde() {
            super("fake-ide", 0x8086, 0x7010, 0x010180, 0);
        }
    }

    private void start() {
        nicUnplug.addListener(deletedNics::add);
        bus.plug(PLATFORM_SLOT, 0, platform);
        bus.plug(NIC_SLOT, 0, nic);
        engine.ports().register(XenPlatformDevice.FIXED_PORT_BASE, XenPlatformDevice.FIXED_PORT_COUNT,
                platform.fixedPorts(), "xen-platform fixed");
        engine.start();
    }

    @AfterEach
    void nothingEscaped() {
        assertEquals(0, engine.loop().failures(), "nothing escaped from a handler into the loop");
        assertEquals(0, engine.stats().deviceErrors());
        engine.close();
    }

    private long cfg(int slot, int reg, int size) {
        return cpu.pciConfigRead(0, slot, 0, reg, size);
    }

    private void cfgw(int slot, int reg, int size, long value) {
        cpu.pciConfigWrite(0, slot, 0, reg, size, value);
    }

    /** pci_setup's sizing of one BAR: save, write all-ones, read the mask back, restore. */
    private long sizeBar(int slot, int index) {
        int reg = BAR0 + 4 * index;
        long saved = cfg(slot, reg, 4);
        cfgw(slot, reg, 4, 0xffffffffL);
        long mask = cfg(slot, reg, 4);
        cfgw(slot, reg, 4, saved);
        return mask;
    }

    private void programPlatform() {
        cfgw(PLATFORM_SLOT, BAR0, 4, IO_BAR);
        cfgw(PLATFORM_SLOT, BAR0 + 4, 4, MMIO_BAR);
        cfgw(PLATFORM_SLOT, COMMAND, 2, COMMAND_IO | COMMAND_MEMORY);
    }

    private void programNic() {
        cfgw(NIC_SLOT, BAR0, 4, NIC_MMIO);
        cfgw(NIC_SLOT, BAR0 + 4, 4, NIC_IO);
        cfgw(NIC_SLOT, COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER);
        assertEquals(0x1234_5678L, cpu.mmioRead(NIC_MMIO, 4), "the NIC decodes before the unplug");
        assertEquals(0x1234_5678L, cpu.inl((int) NIC_IO));
    }

    private void assertNicGone() {
        assertEquals(0xffffffffL, cfg(NIC_SLOT, VENDOR_ID, 4), "an unplugged slot reads as empty");
        assertEquals(0xffffffffL, cfg(NIC_SLOT, BAR0, 4));
        assertEquals(0xffffffffL, cpu.mmioRead(NIC_MMIO, 4), "its memory BAR no longer decodes");
        assertEquals(0xffffffffL, cpu.inl((int) NIC_IO), "nor its I/O BAR");
        assertEquals(List.of(nic), deletedNics, "the listener heard of it once");
        assertFalse(nic.isPlugged());
        assertEquals(0x00015853L, cfg(PLATFORM_SLOT, VENDOR_ID, 4), "the platform device itself stays");
    }

    private List<UnplugEvent> events() {
        return engine.onLoop(platform::unplugEvents);
    }

    private void guestLogs(String text) {
        for (char c : text.toCharArray()) {
            cpu.outb(0x12, c);
        }
    }

    @Test
    void hvmloaderFindsSizesAndPlacesTheDevice() {
        start();
        // pci_setup scans every devfn by vendor/device.
        List<String> found = new ArrayList<>();
        for (int devfn = 0; devfn < 256; devfn++) {
            long id = cpu.pciConfigRead(0, devfn >> 3, devfn & 7, VENDOR_ID, 4);
            if (id != 0xffffffffL) {
                found.add(String.format("%02x.%x=%08x", devfn >> 3, devfn & 7, id));
            }
        }
        assertEquals(List.of("02.0=00015853", "04.0=100e8086"), found);
        assertEquals(0xff800001L, cfg(PLATFORM_SLOT, REVISION_ID, 4), "class 0xFF80, prog-if 0, revision 1");
        assertEquals(0x00015853L, cfg(PLATFORM_SLOT, SUBSYSTEM_VENDOR_ID, 4));
        assertEquals(1, cfg(PLATFORM_SLOT, INTERRUPT_PIN, 1), "INTA");
        assertEquals(0, cfg(PLATFORM_SLOT, HEADER_TYPE, 1));
        assertEquals(0, cfg(PLATFORM_SLOT, COMMAND, 2), "no IO|MEM preset: QEMU's reset clears it before boot");

        cfgw(PLATFORM_SLOT, COMMAND, 2, cfg(PLATFORM_SLOT, COMMAND, 2) & ~(COMMAND_IO | COMMAND_MEMORY));
        assertEquals(0xffffff01L, sizeBar(PLATFORM_SLOT, 0), "BAR0: 256 bytes of I/O");
        assertEquals(0xff000008L, sizeBar(PLATFORM_SLOT, 1), "BAR1: 16 MiB, prefetchable, 32-bit");
        for (int i = 2; i < 6; i++) {
            assertEquals(0, sizeBar(PLATFORM_SLOT, i), "BAR" + i + " is not implemented");
        }
        long savedRom = cfg(PLATFORM_SLOT, ROM_ADDRESS, 4);
        cfgw(PLATFORM_SLOT, ROM_ADDRESS, 4, (savedRom | 0xfffff800L) & ~1L);
        assertEquals(0, cfg(PLATFORM_SLOT, ROM_ADDRESS, 4), "no expansion ROM");
        cfgw(PLATFORM_SLOT, ROM_ADDRESS, 4, savedRom);

        // Largest first from the bottom of the windows; INTA of slot 2 goes to link 2 = IRQ 11.
        cfgw(PLATFORM_SLOT, BAR0 + 4, 4, MMIO_BAR);
        cfgw(PLATFORM_SLOT, BAR0, 4, IO_BAR);
        cfgw(PLATFORM_SLOT, INTERRUPT_LINE, 1, 11);
        assertEquals(-1L, (long) engine.onLoop(() -> platform.barMappedAt(0)), "no decode before COMMAND enables it");
        cfgw(PLATFORM_SLOT, COMMAND, 2, cfg(PLATFORM_SLOT, COMMAND, 2) | COMMAND_IO | COMMAND_MEMORY);
        assertEquals(IO_BAR | 1, cfg(PLATFORM_SLOT, BAR0, 4));
        assertEquals(MMIO_BAR | 8, cfg(PLATFORM_SLOT, BAR0 + 4, 4));
        assertEquals(11, cfg(PLATFORM_SLOT, INTERRUPT_LINE, 1));

        assertEquals(0, cpu.inb((int) IO_BAR), "BAR0 + 0: the flags");
        assertEquals(0xff, cpu.inb((int) IO_BAR + 1));
        assertEquals(0xffffff00L, cpu.inl((int) IO_BAR), "wider reads are byte by byte");
        assertEquals(0xffffffffL, cpu.inl((int) IO_BAR + 0xfc));
        assertEquals(0, cpu.mmioRead(MMIO_BAR, 4), "BAR1 reads zero");
        cpu.mmioWrite(MMIO_BAR + 0xfff000, 8, -1L);
        assertEquals(0, cpu.mmioRead(MMIO_BAR + 0xfff000, 8), "and ignores writes");
        assertEquals(0, cpu.mmioRead(MMIO_BAR + 0xfffffc, 4));
        assertEquals(XenPlatformDevice.MAGIC, cpu.inw(0x10), "the fixed ports need no BAR");
    }

    @Test
    void linuxCheckPlatformMagicThenUnplugAll() {
        start();
        programNic();
        // arch/x86/xen/platform-pci-unplug.c: check_platform_magic()
        assertEquals(0x49d2, cpu.inw(0x10), "XEN_IOPORT_MAGIC");
        assertEquals(1, cpu.inb(0x12), "XEN_IOPORT_PROTOVER");
        cpu.outw(0x12, 0x0003); // XEN_IOPORT_PRODNUM = XEN_IOPORT_LINUX_PRODNUM
        cpu.outl(0x10, 0x0001); // XEN_IOPORT_DRVVER = XEN_IOPORT_LINUX_DRVVER
        assertEquals(0x49d2, cpu.inw(0x10), "not blacklisted");
        assertTrue(events().isEmpty(), "product and build numbers unplug nothing");
        assertEquals(0, cpu.inb(0x10), "nor touch the flags");
        // xen_unplug_emulated_devices() with xen_emul_unplug=all
        cpu.outw(0x10, 0x1 | 0x2 | 0x4);

        assertEquals(List.of(false), diskUnplugs, "bit 0 overrides bit 2: every disk, primary master included");
        assertNicGone();
        assertEquals(List.of(
                new UnplugEvent(Kind.DISKS, Protocol.UNPLUG_MASK, List.of("ide0-hd0", "ide0-hd1")),
                new UnplugEvent(Kind.NICS, Protocol.UNPLUG_MASK, List.of(nic.toString()))), events());
    }

    @Test
    void freeBsdDisablesEmulatedDevices() {
        start();
        programNic();
        // sys/x86/xen/hvm.c: xen_hvm_disable_emulated_devices()
        assertEquals(0x49d2, cpu.inw(0x10), "XMI_MAGIC");
        cpu.outw(0x10, 0x01 | 0x02); // XMI_UNPLUG_IDE_DISKS | XMI_UNPLUG_NICS

        assertNicGone();
        cfgw(NIC_SLOT, COMMAND, 2, COMMAND_MEMORY);
        assertEquals(0xffffffffL, cpu.mmioRead(NIC_MMIO, 4), "config writes to the empty slot bring nothing back");
        assertEquals(List.of(false), diskUnplugs);
        List<UnplugEvent> events = events();
        assertEquals(2, events.size());
        assertEquals(Kind.NICS, events.get(1).kind());
        assertEquals(List.of("fake-nic 8086:100e at 04.0"), events.get(1).removed());

        // A second unplug (a kexec'd kernel, a driver reload) finds nothing more to remove.
        cpu.outw(0x10, 0x02);
        assertEquals(new UnplugEvent(Kind.NICS, Protocol.UNPLUG_MASK, List.of()), events().get(2));
        assertEquals(1, deletedNics.size());
    }

    @Test
    void auxDiskAndNvmeBitsAskOnlyForTheirKind() {
        start();
        cpu.outw(0x10, 0x04);
        assertEquals(List.of(true), diskUnplugs, "bit 2 alone keeps the primary master");
        cpu.outw(0x10, 0x08);
        assertEquals(List.of(true), diskUnplugs, "bit 3 is NVMe only (the protocol document, not QEMU's walk)");
        cpu.outw(0x10, 0xfff0);
        assertEquals(List.of(
                new UnplugEvent(Kind.DISKS_EXCEPT_PRIMARY_MASTER, Protocol.UNPLUG_MASK, List.of("ide0-hd1")),
                new UnplugEvent(Kind.NVME, Protocol.UNPLUG_MASK, List.of())), events(), "undefined bits do nothing");
        assertTrue(nic.isPlugged());
        assertTrue(deletedNics.isEmpty());
    }

    @Test
    void nicUnplugTakesOnlyEthernetControllers() {
        FakeIde ideFunction = new FakeIde();
        bus.plug(1, 1, ideFunction);
        start();
        assertEquals(List.of(nic), engine.onLoop(nicUnplug::unplugNics));
        assertTrue(ideFunction.isPlugged());
        assertTrue(platform.isPlugged());
        assertEquals(0x70108086L, cpu.pciConfigRead(0, 1, 1, VENDOR_ID, 4));
    }

    @Test
    void oldSuseDriversUnplugWithOutlToBar0PlusFour() {
        start();
        programPlatform();
        programNic();
        cpu.outb((int) IO_BAR + 4, 2);
        assertTrue(events().isEmpty(), "only the value 1 unplugs");
        cpu.outl((int) IO_BAR + 4, 1); // xen-kmp's outl(1, ioaddr + 4), split into bytes 1, 0, 0, 0
        assertNicGone();
        assertEquals(List.of(
                new UnplugEvent(Kind.DISKS, Protocol.SUSE_BAR0, List.of("ide0-hd0", "ide0-hd1")),
                new UnplugEvent(Kind.NICS, Protocol.SUSE_BAR0, List.of(nic.toString()))), events());
    }

    @Test
    void oldVmdpDriversUnplugAndLogThroughBar0PlusEight() {
        start();
        programPlatform();
        programNic();
        cpu.outb((int) IO_BAR + 8, 1);
        assertEquals(List.of(false), diskUnplugs);
        assertTrue(nic.isPlugged());
        cpu.outb((int) IO_BAR + 8, 2);
        assertNicGone();
        assertEquals(List.of(Protocol.VMDP_BAR0, Protocol.VMDP_BAR0),
                events().stream().map(UnplugEvent::protocol).toList());
        for (char c : "vmdp\n".toCharArray()) {
            cpu.outb((int) IO_BAR + 8, c);
        }
        assertEquals(List.of("xen platform: vmdp"), guestLog, "other bytes at BAR0 + 8 are log bytes");
    }

    @Test
    void guestLogIsLineBufferedWithQemusPrefix() {
        start();
        guestLogs("XENVIF|PdoCreate: vif 0");
        assertTrue(guestLog.isEmpty(), "nothing until the newline");
        guestLogs("\n");
        assertEquals(List.of("xen platform: XENVIF|PdoCreate: vif 0"), guestLog);

        guestLog.clear();
        guestLogs("fake\r\nxen platform: forged\u001b[2J\n");
        assertEquals(List.of("xen platform: fake\\x0d", "xen platform: xen platform: forged\\x1b[2J"), guestLog,
                "control bytes are escaped, so a guest cannot rewrite or forge log lines");

        guestLog.clear();
        guestLogs("x".repeat(XenPlatformDevice.GUEST_LOG_LINE_MAX + 10) + "\n");
        assertEquals(List.of("xen platform: " + "x".repeat(XenPlatformDevice.GUEST_LOG_LINE_MAX),
                "xen platform: " + "x".repeat(10)), guestLog, "a line without a newline is cut at 4 KiB, no byte lost");

        guestLog.clear();
        guestLogs("half a line");
        engine.onLoop(bus::reset);
        assertEquals(List.of("xen platform: half a line"), guestLog, "a reset flushes the unfinished line");
    }

    @Test
    void romLockGoesToXenAsSetMemType() {
        start();
        programPlatform();
        cpu.outb(0x10, 0xff);
        assertEquals(1, cpu.inb(0x10), "only bit 0 is kept");
        assertEquals(MemType.RAM_RO, engine.domain().memType(0xc0));
        assertEquals(MemType.RAM_RO, engine.domain().memType(0xff));
        assertEquals(MemType.RAM_RW, engine.domain().memType(0xbf), "the VGA hole below is not touched");
        assertEquals(MemType.RAM_RW, engine.domain().memType(0x100));
        assertTrue(engine.domain().dmOpLog().contains("set_mem_type(0x1, 0xc0, 0x40)"), engine.domain().dmOpLog().toString());
        assertEquals(1, cpu.inb((int) IO_BAR), "BAR0 + 0 reads the same flags");

        cpu.outb((int) IO_BAR, 0);
        assertEquals(0, cpu.inb(0x10));
        assertEquals(MemType.RAM_RW, engine.domain().memType(0xc0));
        assertEquals(0x49d2, cpu.inw(0x10), "the flags byte and the magic word share port 0x10");
    }

    @Test
    void refusedRomLockKeepsTheOldFlags() {
        XenPlatformDevice refused = new XenPlatformDevice(new PciDeviceUnplug(nicUnplug, ide), readOnly -> false);
        refused.fixedPorts().write(0, 1, 1);
        assertEquals(0, refused.fixedPorts().read(0, 1), "QEMU only updates the flags when set_mem_type worked");
    }

    @Test
    void resetUnlocksTheRomButUnpluggedDevicesStayGone() {
        start();
        programPlatform();
        programNic();
        cpu.outb(0x10, 1);
        cpu.outw(0x10, 0x03);
        List<UnplugEvent> before = events();

        engine.onLoop(bus::reset);

        assertEquals(0, cpu.inb(0x10), "flags back to 0");
        assertEquals(MemType.RAM_RW, engine.domain().memType(0xc0), "the ROM shadow is writable for the next BIOS run");
        assertEquals(0, cfg(PLATFORM_SLOT, COMMAND, 2), "decode off after reset, as QEMU's pci_do_device_reset leaves it");
        assertEquals(1, cfg(PLATFORM_SLOT, BAR0, 4), "BARs unprogrammed");
        assertEquals(0x49d2, cpu.inw(0x10));
        assertNicGone();
        assertEquals(before, events(), "the record survives the reset");
    }

    @Test
    void theDefaultDiskTargetOnlySaysThereIsNothing() {
        List<String> logged = new CopyOnWriteArrayList<>();
        Logger logger = Logger.getLogger(DiskUnplugTarget.class.getName());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Level savedLevel = logger.getLevel();
        logger.setLevel(Level.INFO); // the test logging configuration silences everything
        logger.addHandler(capture);
        try {
            XenPlatformDevice withoutDisks = new XenPlatformDevice(
                    new PciDeviceUnplug(nicUnplug, DiskUnplugTarget.none()), romLock, guestLog::add);
            bus.plug(PLATFORM_SLOT, 0, withoutDisks);
            engine.ports().register(0x10, 0x10, withoutDisks.fixedPorts(), "xen-platform fixed");
            engine.start();
            cpu.outw(0x10, 0x01);
            assertEquals(List.of(new UnplugEvent(Kind.DISKS, Protocol.UNPLUG_MASK, List.of())),
                    engine.onLoop(withoutDisks::unplugEvents));
            assertEquals(List.of("no emulated disks to unplug"), logged);
        } finally {
            logger.removeHandler(capture);
            logger.setLevel(savedLevel);
        }
    }

    @Test
    void garbageOfEveryWidthLeavesTheDeviceConsistent() {
        start();
        programPlatform();
        Random random = new Random(0x49d2);
        int[] widths = {1, 2, 4};
        for (int i = 0; i < 3000; i++) {
            int size = widths[random.nextInt(widths.length)];
            boolean toBar = random.nextBoolean();
            int port = toBar ? (int) IO_BAR + random.nextInt(0x100) : 0x0e + random.nextInt(0x14);
            if (random.nextBoolean()) {
                cpu.out(port, size, random.nextLong());
            } else {
                cpu.in(port, size);
            }
        }
        assertEquals(0x49d2, cpu.inw(0x10), "magic");
        assertEquals(1, cpu.inb(0x12), "protocol version");
        assertEquals(0xffff, cpu.inw(0x12));
        assertEquals(0xffffffffL, cpu.inl(0x10));
        int flags = cpu.inb(0x10);
        assertTrue(flags == 0 || flags == 1, "flags hold bit 0 only");
        assertEquals(flags == 1 ? MemType.RAM_RO : MemType.RAM_RW, engine.domain().memType(0xc0),
                "the flags and Xen's view of the ROM area agree");
        assertEquals(0x00015853L, cfg(PLATFORM_SLOT, VENDOR_ID, 4));
        assertEquals(IO_BAR | 1, cfg(PLATFORM_SLOT, BAR0, 4), "port writes do not move the BARs");
        assertTrue(events().size() <= XenPlatformDevice.MAX_RECORDED_UNPLUGS);
        assertTrue(guestLog.stream().allMatch(l -> l.startsWith(XenPlatformDevice.GUEST_LOG_PREFIX)
                && l.chars().allMatch(c -> c >= 0x20 && c < 0x7f || c == '\t')));
        assertTrue(deletedNics.size() <= 1);
    }
}
