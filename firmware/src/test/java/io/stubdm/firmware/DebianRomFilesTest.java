package io.stubdm.firmware;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The ROM files Debian ships, found where {@link OptionRomFinder#debian} looks and checked for the devices they
 * serve. Skipped where the packages are missing, except on CI, where a skip would hide that nothing was checked.
 */
class DebianRomFilesTest {
    private static final String INSTALL = "apt-get install -y seabios ipxe-qemu";

    private final OptionRomFinder finder = OptionRomFinder.debian(Optional.empty());

    @Test
    void seabiosVgaBioses() {
        needs(OptionRomFinder.SEABIOS_DIR.resolve("vgabios-cirrus.bin"), "seabios");
        needs(OptionRomFinder.SEABIOS_DIR.resolve("vgabios-stdvga.bin"), "seabios");
        checkRom("vgabios-cirrus.bin", 0x1013, 0x00B8, 0x030000);
        checkRom("vgabios-stdvga.bin", 0x1234, 0x1111, 0x030000);
    }

    @Test
    void ipxeNicRoms() {
        for (String name : List.of("efi-e1000.rom", "pxe-e1000.rom", "efi-rtl8139.rom", "pxe-rtl8139.rom")) {
            needs(OptionRomFinder.IPXE_QEMU_DIR.resolve(name), "ipxe-qemu");
        }
        checkRom("efi-e1000.rom", 0x8086, 0x100E, 0x020000);
        checkRom("pxe-e1000.rom", 0x8086, 0x100E, 0x020000);
        checkRom("efi-rtl8139.rom", 0x10EC, 0x8139, 0x020000);
        checkRom("pxe-rtl8139.rom", 0x10EC, 0x8139, 0x020000);
    }

    private void checkRom(String name, int vendor, int device, int classCode) {
        OptionRomFinder.Lookup found = finder.find(name, vendor, device);
        assertEquals(List.of(), found.warnings(), name);
        OptionRom rom = found.rom().orElseThrow();
        assertEquals(0xAA55, rom.contents().getShort(0) & 0xffff, name + " signature");
        assertTrue(rom.checksumValid(), name);
        OptionRom.PciData pci = rom.pciData().orElseThrow();
        assertEquals(vendor, pci.vendorId(), name);
        assertEquals(device, pci.deviceId(), name);
        assertEquals(classCode, pci.classCode(), name);
        assertEquals(OptionRom.CODE_TYPE_X86, pci.codeType(), name);
        assertEquals(0, pci.imageOffset(), name + ": the x86 image comes first");
        assertEquals(Integer.bitCount(rom.barSize()), 1, name);
        assertTrue(rom.barSize() >= rom.fileLength(), name);
    }

    private static void needs(Path file, String debianPackage) {
        if (Files.isRegularFile(file)) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI must install Debian packages seabios and ipxe-qemu (" + INSTALL + "); missing " + file
                    + " from package " + debianPackage);
        }
        Assumptions.abort("skipped: " + file + " is missing; install with: sudo " + INSTALL);
    }
}
