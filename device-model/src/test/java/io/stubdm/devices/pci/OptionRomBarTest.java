package io.stubdm.devices.pci;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stubdm.firmware.OptionRom;
import io.stubdm.firmware.OptionRomFinder;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.devices.IrqLine;
import io.stubdm.ioreq.EmbeddedEngine;
import java.nio.ByteBuffer;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Debian's real VGA BIOS, found where the seabios package installs it, served through a ROM BAR and read the
 * way SeaBIOS's option-ROM scan reads it: signature, size byte, PCI data structure.
 */
class OptionRomBarTest {

    static final class StdVgaShell extends PciFunction {
        StdVgaShell(byte[] rom) {
            super("stdvga-rom-only", 0x1234, 0x1111, 0x030000, 2);
            defineRom(rom, "vgabios");
        }
    }

    @Test
    void seabiosFindsTheVgaBiosThroughTheRomBar() {
        OptionRomFinder.Lookup lookup = OptionRomFinder.debian(Optional.empty()).find("vgabios-stdvga.bin", 0x1234, 0x1111);
        if (lookup.rom().isEmpty()) {
            assertNotEquals("true", System.getenv("CI"), "CI must install Debian package seabios: " + lookup.warnings());
            assumeTrue(false, "vgabios-stdvga.bin not installed (apt-get install seabios): " + lookup.warnings());
        }
        OptionRom rom = lookup.rom().get();
        ByteBuffer contents = rom.contents();
        byte[] image = new byte[contents.remaining()];
        contents.get(image);

        try (EmbeddedEngine engine = new EmbeddedEngine()) {
            PciBus bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(), (d, p) -> IrqLine.NONE);
            StdVgaShell vga = new StdVgaShell(image);
            bus.plug(3, 0, vga);
            engine.start();
            SimVcpu cpu = engine.vcpu(0);
            cpu.pciConfigWrite(0, 3, 0, PciRegs.ROM_ADDRESS, 4, 0xfffff800L);
            long mask = cpu.pciConfigRead(0, 3, 0, PciRegs.ROM_ADDRESS, 4);
            assertEquals(rom.barSize(), (int) (-(mask & 0xfffff800L) & 0xffffffffL), "ROM BAR size");
            long base = 0xfebc0000L & ~((long) rom.barSize() - 1);
            cpu.pciConfigWrite(0, 3, 0, PciRegs.ROM_ADDRESS, 4, base | PciRegs.ROM_ENABLE);
            cpu.pciConfigWrite(0, 3, 0, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY);

            assertEquals(0xaa55, cpu.mmioRead(base, 2), "option ROM signature");
            assertEquals(rom.imageSize() / 512, cpu.mmioRead(base + 2, 1), "size byte in 512-byte units");
            long pcir = base + cpu.mmioRead(base + 0x18, 2);
            assertEquals(0x52494350L, cpu.mmioRead(pcir, 4), "PCIR");
            assertEquals(0x1111_1234L, cpu.mmioRead(pcir + 4, 4), "vendor and device in the PCI data structure");
            long sum = 0;
            for (int i = 0; i < rom.imageSize(); i += 4) {
                long v = cpu.mmioRead(base + i, 4);
                sum += (v & 0xff) + (v >> 8 & 0xff) + (v >> 16 & 0xff) + (v >> 24 & 0xff);
            }
            assertEquals(0, sum & 0xff, "the image read through the BAR checksums to zero");
        }
    }
}
