package io.stubdm.firmware;

import static io.stubdm.firmware.OptionRomTest.CIRRUS_DEVICE;
import static io.stubdm.firmware.OptionRomTest.CIRRUS_VENDOR;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ROM lookup over a search path of temporary directories. */
class OptionRomFinderTest {
    @TempDir
    Path tmp;

    private Path dir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    @Test
    void debianPlacesComeAfterTheCommandLineDirectory() {
        assertEquals(List.of(Path.of("/opt/roms"), Path.of("/usr/share/seabios"), Path.of("/usr/lib/ipxe/qemu"),
                        Path.of("/usr/share/qemu")),
                OptionRomFinder.debian(Optional.of(Path.of("/opt/roms"))).searchPath());
        assertEquals(List.of(Path.of("/usr/share/seabios"), Path.of("/usr/lib/ipxe/qemu"), Path.of("/usr/share/qemu")),
                OptionRomFinder.debian(Optional.empty()).searchPath());
    }

    @Test
    void theFirstDirectoryHoldingTheNameWins() throws IOException {
        Path user = dir("user");
        Path seabios = dir("seabios");
        byte[] mine = OptionRomTest.image(4, CIRRUS_VENDOR, CIRRUS_DEVICE, 0, true);
        Files.write(seabios.resolve("vgabios-cirrus.bin"), OptionRomTest.cirrusRom());
        OptionRomFinder finder = new OptionRomFinder(List.of(user, seabios));

        OptionRomFinder.Lookup fromSeabios = finder.find("vgabios-cirrus.bin", CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertEquals(Optional.of(seabios.resolve("vgabios-cirrus.bin")), fromSeabios.path());
        assertEquals(1024, fromSeabios.rom().orElseThrow().fileLength());
        assertEquals(List.of(), fromSeabios.warnings());

        Files.write(user.resolve("vgabios-cirrus.bin"), mine);
        OptionRomFinder.Lookup fromUser = finder.find("vgabios-cirrus.bin", CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertEquals(Optional.of(user.resolve("vgabios-cirrus.bin")), fromUser.path());
        assertEquals(2048, fromUser.rom().orElseThrow().fileLength());
    }

    @Test
    void anAbsoluteNameIsTakenAsItIs() throws IOException {
        Path file = dir("elsewhere").resolve("my.rom");
        Files.write(file, OptionRomTest.cirrusRom());
        OptionRomFinder.Lookup found = new OptionRomFinder(List.of(dir("empty")))
                .find(file.toString(), CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertEquals(Optional.of(file), found.path());
        assertTrue(found.rom().isPresent());
    }

    @Test
    void aMissingVgaBiosNamesItsPackageAndWhatTheGuestLoses() throws IOException {
        Path a = dir("a");
        Path b = dir("b");
        OptionRomFinder.Lookup missing = new OptionRomFinder(List.of(a, b))
                .find("vgabios-cirrus.bin", CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertTrue(missing.rom().isEmpty());
        assertTrue(missing.path().isEmpty());
        assertEquals(List.of("ROM vgabios-cirrus.bin not found in " + a + ", " + b
                + ": install Debian package seabios; the guest will have no VGA BIOS"), missing.warnings());
    }

    @Test
    void aMissingNicRomNamesIpxeQemu() throws IOException {
        OptionRomFinder finder = new OptionRomFinder(List.of(dir("a")));
        for (String name : List.of("efi-e1000.rom", "pxe-rtl8139.rom")) {
            String w = finder.find(name, 0x8086, 0x100E).warnings().get(0);
            assertTrue(w.contains("install Debian package ipxe-qemu") && w.contains("network"), w);
        }
        String other = finder.find("something.rom", 1, 2).warnings().get(0);
        assertTrue(other.contains("no option ROM"), other);
    }

    @Test
    void aMalformedFileIsReportedNotThrown() throws IOException {
        Path d = dir("a");
        Files.write(d.resolve("vgabios-stdvga.bin"), new byte[] {1, 2, 3});
        OptionRomFinder.Lookup bad = new OptionRomFinder(List.of(d)).find("vgabios-stdvga.bin", 0x1234, 0x1111);
        assertTrue(bad.rom().isEmpty());
        String w = bad.warnings().get(0);
        assertTrue(w.contains(d.resolve("vgabios-stdvga.bin").toString()) && w.contains("unusable")
                && w.contains("0x55 0xAA") && w.contains("no VGA BIOS"), w);
    }

    @Test
    void anOversizedFileIsNotRead() throws IOException {
        Path d = dir("a");
        try (RandomAccessFile f = new RandomAccessFile(d.resolve("big.rom").toFile(), "rw")) {
            f.setLength(OptionRom.MAX_BAR_SIZE + 1L); // sparse: costs no disk
        }
        OptionRomFinder.Lookup big = new OptionRomFinder(List.of(d)).find("big.rom", 1, 2);
        assertTrue(big.rom().isEmpty());
        assertTrue(big.warnings().get(0).contains("16 MiB"), big.warnings().get(0));
    }

    @Test
    void aDirectoryWithTheNameIsNotAFile() throws IOException {
        Path d = dir("a");
        Files.createDirectory(d.resolve("pxe-e1000.rom"));
        assertTrue(new OptionRomFinder(List.of(d)).find("pxe-e1000.rom", 0x8086, 0x100E).rom().isEmpty());
    }

    @Test
    void aRomWithProblemsIsServedAndItsWarningsPassedOn() throws IOException {
        Path d = dir("a");
        Files.write(d.resolve("vgabios-cirrus.bin"), OptionRomTest.cirrusRom());
        OptionRomFinder.Lookup forStdvga = new OptionRomFinder(List.of(d)).find("vgabios-cirrus.bin", 0x1234, 0x1111);
        assertTrue(forStdvga.rom().isPresent());
        assertEquals(forStdvga.rom().get().warnings(), forStdvga.warnings());
        assertEquals(1, forStdvga.warnings().size());
    }

    @Test
    void anEmptyNameIsAProgrammingError() {
        assertThrows(IllegalArgumentException.class, () -> OptionRomFinder.debian(Optional.empty()).find(" ", 1, 2));
    }
}
