package io.stubdm.devices.pci;

import static io.stubdm.devices.pci.PciRegs.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.EmbeddedEngine;
import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.sim.SimVcpu;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The configuration-space model under the sizing and programming sequences hvmloader's pci_setup and
 * Linux's and FreeBSD's BAR probes use, through the ioreq engine and the simulated Xen.
 */
class PciFunctionTest {
    private final EmbeddedEngine engine = new EmbeddedEngine();
    private final List<String> intx = new ArrayList<>();
    private final PciBus bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(),
            (dev, pin) -> high -> intx.add(dev + "/" + pin + "=" + (high ? 1 : 0)));
    private final SimVcpu cpu = engine.vcpu(0);

    /** A function with one BAR of every kind and a ROM, whose registers answer with their offset. */
    static final class TestFunction extends PciFunction {
        static final BusDevice ECHO = new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return 0x5a000000L | offset;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        };

        TestFunction() {
            super("test", 0x1234, 0x5678, 0x020000, 0x07);
            setInterruptPin(1);
            defineBar(0, PciBar.memory32(0x20000, false, ECHO, "mmio"));
            defineBar(1, PciBar.io(0x40, ECHO, "io"));
            defineBar(2, PciBar.memory64(0x4000, true, ECHO, "mem64"));
            byte[] rom = new byte[3000];
            rom[0] = 0x55;
            rom[1] = (byte) 0xaa;
            defineRom(rom, "rom");
            addCapability(0x01, 8);
            addCapability(0x05, 14);
        }

        void interrupt(boolean on) {
            setInterruptRequest(on);
        }
    }

    private final TestFunction f = new TestFunction();

    @AfterEach
    void close() {
        engine.close();
    }

    private long cfg(int reg, int size) {
        return cpu.pciConfigRead(0, 4, 0, reg, size);
    }

    private void cfgw(int reg, int size, long v) {
        cpu.pciConfigWrite(0, 4, 0, reg, size, v);
    }

    @Test
    void identityAndReadOnlyHeader() {
        bus.plug(4, 0, f);
        engine.start();
        assertEquals(0x56781234L, cfg(VENDOR_ID, 4));
        assertEquals(0x02000007L, cfg(REVISION_ID, 4));
        cfgw(VENDOR_ID, 4, 0);
        cfgw(REVISION_ID, 4, 0);
        assertEquals(0x56781234L, cfg(VENDOR_ID, 4), "IDs are read-only");
        assertEquals(0x02000007L, cfg(REVISION_ID, 4));
        assertEquals(0xffffffffL, cpu.pciConfigRead(0, 5, 0, 0, 4), "an empty slot reads all-ones");
        assertEquals("{0x20-0x20}", engine.domain().claimedRanges(engine.server().serverId(), IoRangeType.PCI));
    }

    @Test
    void hvmloaderBarSizingAndPlacement() {
        bus.plug(4, 0, f);
        engine.start();
        // hvmloader: clear decode, then for each BAR save, write all-ones, read back, restore.
        cfgw(COMMAND, 2, 0);
        long[] expected = {0xfffe0000L, 0xffffffc1L, 0xffffc00cL, 0xffffffffL, 0, 0};
        for (int i = 0; i < 6; i++) {
            int reg = BAR0 + 4 * i;
            long saved = cfg(reg, 4);
            cfgw(reg, 4, 0xffffffffL);
            assertEquals(expected[i], cfg(reg, 4), "BAR" + i + " size mask");
            cfgw(reg, 4, saved);
        }
        long savedRom = cfg(ROM_ADDRESS, 4);
        cfgw(ROM_ADDRESS, 4, (savedRom | 0xfffff800L) & ~1L);
        assertEquals(0xfffff000L, cfg(ROM_ADDRESS, 4), "3000-byte ROM is served in a 4 KiB BAR");
        cfgw(ROM_ADDRESS, 4, savedRom);

        // Program the BARs where pci_setup would, then enable decode.
        cfgw(BAR0, 4, 0xf0000000L);
        cfgw(BAR0 + 4, 4, 0xc040);
        cfgw(BAR0 + 8, 4, 0xf0020000L);
        cfgw(BAR0 + 12, 4, 0);
        cfgw(ROM_ADDRESS, 4, 0xf0030000L | ROM_ENABLE);
        assertEquals(-1, f.barMappedAt(0), "no decode before COMMAND enables it");
        cfgw(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER);
        assertEquals(0xf0000000L, f.barMappedAt(0));
        assertEquals(0xc040, f.barMappedAt(1));
        assertEquals(0xf0020000L, f.barMappedAt(2));
        assertEquals(0xf0030000L, f.romMappedAt());
        assertEquals(0x5a000010L, cpu.mmioRead(0xf0000010L, 4));
        assertEquals(0x5a000004L, cpu.inl(0xc044));
        assertEquals(0x5a000008L, cpu.mmioRead(0xf0020008L, 4));
        assertEquals(0xaa55, cpu.mmioRead(0xf0030000L, 2), "the ROM image through the ROM BAR");
        assertEquals(0, cpu.mmioRead(0xf0030ffcL, 4), "padding reads zero");

        // Moving a BAR moves the decode, and Xen's ranges with it.
        cfgw(BAR0 + 4, 4, 0xc080);
        assertEquals(0xffffffffL, cpu.inl(0xc044), "the old I/O range is gone (Xen's null handler answers)");
        assertEquals(0x5a000000L, cpu.inl(0xc080));
        cfgw(COMMAND, 2, 0);
        assertEquals(-1, f.barMappedAt(0));
        assertEquals(0xffffffffL, cpu.mmioRead(0xf0000010L, 4));
    }

    @Test
    void sixtyFourBitBarAboveFourGigabytes() {
        bus.plug(4, 0, f);
        engine.start();
        cfgw(BAR0 + 8, 4, 0xffffffffL);
        cfgw(BAR0 + 12, 4, 0xffffffffL);
        assertEquals(0xffffc00cL, cfg(BAR0 + 8, 4));
        assertEquals(0xffffffffL, cfg(BAR0 + 12, 4), "the upper half of a small 64-bit BAR is all address");
        cfgw(COMMAND, 2, COMMAND_MEMORY);
        assertEquals(-1, f.barMappedAt(2), "the sizing pattern is never decoded");
        cfgw(BAR0 + 8, 4, 0x0000c000L);
        cfgw(BAR0 + 12, 4, 0x1);
        assertEquals(0x1_0000_c000L, f.barMappedAt(2));
    }

    @Test
    void capabilityListWalks() {
        bus.plug(4, 0, f);
        engine.start();
        assertNotEquals(0, cfg(STATUS, 2) & STATUS_CAP_LIST);
        int ptr = (int) cfg(CAPABILITY_LIST, 1);
        assertEquals(0x40, ptr);
        assertEquals(0x01, cfg(ptr, 1));
        int next = (int) cfg(ptr + 1, 1);
        assertEquals(0x48, next);
        assertEquals(0x05, cfg(next, 1));
        assertEquals(0, cfg(next + 1, 1), "end of list");
        cfgw(ptr, 2, 0xffff);
        assertEquals(0x4801, cfg(ptr, 2), "capability ID and next pointer are read-only");
    }

    @Test
    void intxFollowsTheDeviceAndInterruptDisable() {
        bus.plug(4, 0, f);
        engine.start();
        engine.onLoop(() -> f.interrupt(true));
        assertEquals(List.of("4/1=1"), intx);
        assertNotEquals(0, cfg(STATUS, 2) & STATUS_INTERRUPT);
        cfgw(COMMAND, 2, COMMAND_INTX_DISABLE);
        assertEquals(List.of("4/1=1", "4/1=0"), intx, "INTX_DISABLE masks the pin");
        assertNotEquals(0, cfg(STATUS, 2) & STATUS_INTERRUPT, "the status bit still shows the condition");
        cfgw(COMMAND, 2, 0);
        engine.onLoop(() -> f.interrupt(false));
        assertEquals(List.of("4/1=1", "4/1=0", "4/1=1", "4/1=0"), intx);
    }

    @Test
    void statusErrorBitsAreWriteOneToClear() {
        bus.plug(4, 0, f);
        engine.start();
        engine.onLoop(() -> f.config[STATUS + 1] |= (byte) 0x20); // received master abort
        cfgw(STATUS, 2, 0x0000);
        assertEquals(0x20, cfg(STATUS + 1, 1), "writing 0 leaves it");
        cfgw(STATUS, 2, 0x2000);
        assertEquals(0, cfg(STATUS + 1, 1) & 0x20);
    }

    @Test
    void barOverAnotherDeviceIsLeftUndecodedNotFatal() {
        engine.ports().register(0xc000, 0x100, TestFunction.ECHO, "occupant");
        bus.plug(4, 0, f);
        engine.start();
        cfgw(BAR0 + 4, 4, 0xc040);
        cfgw(COMMAND, 2, COMMAND_IO);
        assertEquals(-1, f.barMappedAt(1));
        assertEquals(0, engine.stats().deviceErrors());
        cfgw(BAR0 + 4, 4, 0xd000);
        assertEquals(0xd000, f.barMappedAt(1), "a later free address works");
    }

    @Test
    void unplugMakesTheFunctionVanish() {
        bus.plug(4, 0, f);
        engine.start();
        cfgw(BAR0 + 4, 4, 0xc040);
        cfgw(COMMAND, 2, COMMAND_IO);
        engine.onLoop(() -> f.interrupt(true));
        engine.onLoop(() -> bus.unplug(4 << 3));
        assertEquals(0xffffffffL, cfg(VENDOR_ID, 4));
        assertEquals(0xffffffffL, cpu.inl(0xc040));
        assertEquals(List.of("4/1=1", "4/1=0"), intx, "an unplugged device drops its interrupt");
        assertFalse(f.isPlugged());
    }

    @Test
    void resetReturnsToPowerOnConfig() {
        bus.plug(4, 0, f);
        engine.start();
        cfgw(BAR0 + 4, 4, 0xc040);
        cfgw(COMMAND, 2, COMMAND_IO);
        cfgw(INTERRUPT_LINE, 1, 11);
        engine.onLoop(bus::reset);
        assertEquals(0, cfg(COMMAND, 2));
        assertEquals(1, cfg(BAR0 + 4, 4), "only the I/O space bit remains");
        assertEquals(0, cfg(INTERRUPT_LINE, 1));
        assertEquals(-1, f.barMappedAt(1));
    }

    @Test
    void garbageToEveryRegisterLeavesItConsistent() {
        bus.plug(4, 0, f);
        engine.start();
        java.util.Random random = new java.util.Random(42);
        int[] sizes = {1, 2, 4};
        for (int i = 0; i < 3000; i++) {
            int size = sizes[random.nextInt(3)];
            int reg = random.nextInt(256) & ~(size - 1);
            cfgw(reg, size, random.nextLong());
        }
        assertEquals(0x56781234L, cfg(VENDOR_ID, 4));
        assertEquals(0, engine.stats().deviceErrors());
        assertEquals(0, engine.loop().failures());
    }
}
