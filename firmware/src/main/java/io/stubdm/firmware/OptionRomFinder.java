package io.stubdm.firmware;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Finds option ROM files by name where Debian installs them, the way QEMU's {@code qemu_find_file} searches its
 * firmware directories: the first directory holding the name wins.
 *
 * <p>A ROM that is missing or unusable is not an error: the guest still boots, only without that ROM (no VGA
 * BIOS, no PXE). {@link #find} then returns no ROM and a warning for the caller to log that says which Debian
 * package provides the file.
 */
public final class OptionRomFinder {
    /** vgabios-cirrus.bin, vgabios-stdvga.bin, ...: Debian package seabios. */
    public static final Path SEABIOS_DIR = Path.of("/usr/share/seabios");
    /** efi-e1000.rom, pxe-e1000.rom, efi-rtl8139.rom, pxe-rtl8139.rom, ...: Debian package ipxe-qemu. */
    public static final Path IPXE_QEMU_DIR = Path.of("/usr/lib/ipxe/qemu");
    /** QEMU's own firmware directory, where Debian's qemu-system-data links the two above. */
    public static final Path QEMU_DIR = Path.of("/usr/share/qemu");

    private final List<Path> searchPath;

    /** Searches exactly {@code searchPath}, in order. */
    public OptionRomFinder(List<Path> searchPath) {
        this.searchPath = List.copyOf(searchPath);
    }

    /** Debian's places, after {@code userDirectory} (a {@code -L}-like directory from the command line) if given. */
    public static OptionRomFinder debian(Optional<Path> userDirectory) {
        List<Path> path = new ArrayList<>();
        userDirectory.ifPresent(path::add);
        path.addAll(List.of(SEABIOS_DIR, IPXE_QEMU_DIR, QEMU_DIR));
        return new OptionRomFinder(path);
    }

    public List<Path> searchPath() {
        return searchPath;
    }

    /**
     * What {@link #find} found: the ROM and its path, or neither; and the warnings to log either way (a found
     * ROM can still carry {@link OptionRom#warnings()}, which are repeated here).
     */
    public record Lookup(Optional<OptionRom> rom, Optional<Path> path, List<String> warnings) {
        public Lookup {
            warnings = List.copyOf(warnings);
        }
    }

    /**
     * Looks up {@code fileName} (an absolute path is taken as it is) and checks it as the ROM of PCI device
     * {@code vendorId:deviceId}. Never throws for a missing, unreadable or malformed file.
     *
     * @throws IllegalArgumentException if {@code fileName} is blank: a caller's bug, not a missing ROM
     */
    public Lookup find(String fileName, int vendorId, int deviceId) {
        if (fileName.isBlank()) {
            throw new IllegalArgumentException("empty ROM file name");
        }
        Path given = Path.of(fileName);
        List<Path> candidates = given.isAbsolute()
                ? List.of(given)
                : searchPath.stream().map(dir -> dir.resolve(given)).collect(Collectors.toList());
        Optional<Path> found = candidates.stream().filter(Files::isRegularFile).findFirst();
        if (found.isEmpty()) {
            String where = given.isAbsolute() ? "" : " in " + searchPath.stream().map(Path::toString)
                    .collect(Collectors.joining(", "));
            return new Lookup(Optional.empty(), Optional.empty(), List.of(String.format(
                    "ROM %s not found%s: %s; %s", fileName, where, installHint(given), consequence(given))));
        }
        Path path = found.get();
        try {
            long size = Files.size(path);
            if (size > OptionRom.MAX_BAR_SIZE) {
                return unusable(fileName, path, size + " bytes, more than the 16 MiB a ROM BAR can map");
            }
            OptionRom rom = OptionRom.parse(fileName, Files.readAllBytes(path), vendorId, deviceId);
            return new Lookup(Optional.of(rom), found, rom.warnings());
        } catch (IOException e) {
            return unusable(fileName, path, "cannot read it: " + e);
        } catch (IllegalArgumentException e) {
            return unusable(fileName, path, e.getMessage());
        }
    }

    private static Lookup unusable(String fileName, Path path, String why) {
        return new Lookup(Optional.empty(), Optional.empty(), List.of(String.format(
                "ROM %s at %s is unusable (%s); %s", fileName, path, why, consequence(Path.of(fileName)))));
    }

    /** Which Debian package ships a ROM, told from its name as Debian's packages name them. */
    private static String installHint(Path name) {
        String file = name.getFileName().toString();
        if (file.startsWith("vgabios-")) {
            return "install Debian package seabios";
        }
        if (Stream.of("efi-", "pxe-").anyMatch(file::startsWith)) {
            return "install Debian package ipxe-qemu";
        }
        return "install the package that provides it or give its directory on the command line";
    }

    private static String consequence(Path name) {
        String file = name.getFileName().toString();
        if (file.startsWith("vgabios-")) {
            return "the guest will have no VGA BIOS";
        }
        if (Stream.of("efi-", "pxe-").anyMatch(file::startsWith)) {
            return "the guest cannot boot from the network through this NIC";
        }
        return "the device will have no option ROM";
    }
}
