package io.stubdm.firmware;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A PCI option ROM image as a device's expansion ROM BAR serves it: the file checked the way SeaBIOS will judge
 * it, and padded to the BAR's power-of-two size.
 *
 * <p>SeaBIOS on {@code xenfv} runs option ROMs only from ROM BARs (src/optionroms.c): {@code map_pcirom} walks
 * the images in the ROM for one whose "PCIR" data structure names the device's vendor and device and the x86
 * code type, and {@code is_valid_rom} then requires the 0x55 0xAA signature, a non-zero size byte and, because
 * {@code etc/optionroms-checksum} defaults to 1 and {@code xenfv} has no fw_cfg to change it, an 8-bit checksum
 * of 0 over the declared size. A file that is not a ROM at all (no signature, sizes beyond the file, more than a
 * ROM BAR can map) is refused with IllegalArgumentException. Problems that only make SeaBIOS skip the ROM (bad
 * checksum, no PCIR, PCIR for another device, no x86 image) become {@link #warnings()} and the file is served
 * as it is: QEMU loads ROM files without checking them either (hw/pci/pci.c {@code pci_add_option_rom}).
 */
public final class OptionRom {
    /** The smallest ROM BAR: address bits 10-1 are reserved, so a ROM BAR decodes at least 2 KiB. */
    public static final int MIN_BAR_SIZE = 2 * 1024;
    /** The largest expansion ROM the PCI Local Bus specification (6.2.5.2) allows. */
    public static final int MAX_BAR_SIZE = 16 * 1024 * 1024;
    /** PCIR code type of a legacy PC-AT (x86) image, the only kind SeaBIOS runs. */
    public static final int CODE_TYPE_X86 = 0;

    private static final int HEADER_PCIR_POINTER = 0x18;
    private static final int PCIR_MIN_LENGTH = 0x18;

    /**
     * One image's PCI data structure ("PCIR", PCI Firmware Specification 5.1.2).
     *
     * @param imageOffset where the image starts in the file
     * @param classCode   base class, subclass and programming interface, as in config space bytes 0x0B-0x09
     * @param imageLength the image's length in bytes (the structure counts 512-byte units)
     * @param lastImage   bit 7 of the indicator: no image follows
     */
    public record PciData(int imageOffset, int vendorId, int deviceId, int classCode, int codeType, int imageLength,
                          boolean lastImage) {
        @Override
        public String toString() {
            return String.format("%04x:%04x class %06x %s", vendorId, deviceId, classCode, codeTypeName(codeType));
        }
    }

    private final String name;
    private final int fileLength;
    private final int imageSize;
    private final boolean checksumValid;
    private final Optional<PciData> pciData;
    private final List<String> warnings;
    private final ByteBuffer contents;

    private OptionRom(String name, byte[] file, int imageSize, boolean checksumValid, Optional<PciData> pciData,
                      List<String> warnings) {
        this.name = name;
        this.fileLength = file.length;
        this.imageSize = imageSize;
        this.checksumValid = checksumValid;
        this.pciData = pciData;
        this.warnings = List.copyOf(warnings);
        // Past the file the BAR reads zeros, as QEMU's freshly allocated ROM region does.
        byte[] padded = new byte[barSize(file.length)];
        System.arraycopy(file, 0, padded, 0, file.length);
        this.contents = ByteBuffer.wrap(padded).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Checks {@code file} (named {@code name} in messages) as the ROM of PCI device {@code vendorId:deviceId}.
     *
     * @throws IllegalArgumentException if the file is not an option ROM that a ROM BAR could hold
     */
    public static OptionRom parse(String name, byte[] file, int vendorId, int deviceId) {
        Objects.requireNonNull(name, "name");
        if (file.length > MAX_BAR_SIZE) {
            throw new IllegalArgumentException(String.format(
                    "ROM %s: %d bytes, more than the 16 MiB a ROM BAR can map", name, file.length));
        }
        checkImageHeader(name, file, 0);

        List<String> warnings = new ArrayList<>();
        List<PciData> images = readImages(name, file, warnings);
        PciData served = images.stream()
                .filter(p -> p.vendorId() == vendorId && p.deviceId() == deviceId && p.codeType() == CODE_TYPE_X86)
                .findFirst()
                .orElse(null);
        if (served == null && !images.isEmpty()) {
            PciData first = images.get(0);
            String others = images.size() > 1 ? " (and " + (images.size() - 1) + " more images, none matching)" : "";
            warnings.add(String.format("ROM %s: its PCI data structure says %s%s, but it is served for %04x:%04x:"
                            + " SeaBIOS runs only an x86 image whose PCIR matches the device, so it will skip this ROM",
                    name, first, others, vendorId, deviceId));
        }
        int offset = served == null ? 0 : served.imageOffset();
        int size = (file[offset + 2] & 0xff) * 512;
        int sum = 0;
        for (int i = offset; i < offset + size; i++) {
            sum += file[i];
        }
        boolean checksumValid = (sum & 0xff) == 0;
        if (!checksumValid) {
            warnings.add(String.format("ROM %s: the 8-bit sum of its %d bytes at 0x%x is 0x%02x, not 0:"
                    + " SeaBIOS refuses a ROM with a bad checksum (etc/optionroms-checksum defaults to 1)",
                    name, size, offset, sum & 0xff));
        }
        return new OptionRom(name, file, size,
                checksumValid, Optional.ofNullable(served).or(() -> images.stream().findFirst()), warnings);
    }

    /** The 0x55 0xAA signature and a size byte (512-byte units) that is non-zero and within the file. */
    private static void checkImageHeader(String name, byte[] file, int offset) {
        if (file.length - offset < 3 || (file[offset] & 0xff) != 0x55 || (file[offset + 1] & 0xff) != 0xAA) {
            throw new IllegalArgumentException(String.format(
                    "ROM %s: no 0x55 0xAA option ROM signature at 0x%x", name, offset));
        }
        int size = (file[offset + 2] & 0xff) * 512;
        if (size == 0) {
            throw new IllegalArgumentException(String.format(
                    "ROM %s: the image at 0x%x declares size 0", name, offset));
        }
        if (size > file.length - offset) {
            throw new IllegalArgumentException(String.format(
                    "ROM %s: truncated: the image at 0x%x declares %d bytes, the file has %d from there",
                    name, offset, size, file.length - offset));
        }
    }

    /**
     * The PCI data structures of the images, followed as SeaBIOS's {@code map_pcirom} does: through each PCIR's
     * image length until one has the last-image bit. An image without a PCIR ends the walk with a warning.
     */
    private static List<PciData> readImages(String name, byte[] file, List<String> warnings) {
        List<PciData> images = new ArrayList<>();
        int offset = 0;
        while (true) {
            // checkImageHeader left at least 512 bytes from offset, so the header's pointer is in the file.
            int pcir = offset + u16(file, offset + HEADER_PCIR_POINTER);
            if (pcir + PCIR_MIN_LENGTH > file.length
                    || file[pcir] != 'P' || file[pcir + 1] != 'C' || file[pcir + 2] != 'I' || file[pcir + 3] != 'R') {
                warnings.add(String.format("ROM %s: the image at 0x%x has no PCI data structure (\"PCIR\" at the"
                        + " offset in bytes 0x18-0x19): SeaBIOS will not run it from a ROM BAR", name, offset));
                return images;
            }
            int imageLength = u16(file, pcir + 0x10) * 512;
            if (imageLength > MAX_BAR_SIZE) {
                throw new IllegalArgumentException(String.format("ROM %s: the PCI data structure at 0x%x claims an"
                        + " image of %d bytes, more than the 16 MiB a ROM BAR can map", name, pcir, imageLength));
            }
            if (imageLength > file.length - offset) {
                throw new IllegalArgumentException(String.format("ROM %s: truncated: the PCI data structure at 0x%x"
                        + " claims an image of %d bytes, the file has %d from 0x%x",
                        name, pcir, imageLength, file.length - offset, offset));
            }
            PciData data = new PciData(offset, u16(file, pcir + 4), u16(file, pcir + 6),
                    (file[pcir + 0x0F] & 0xff) << 16 | (file[pcir + 0x0E] & 0xff) << 8 | (file[pcir + 0x0D] & 0xff),
                    file[pcir + 0x14] & 0xff, imageLength, (file[pcir + 0x15] & 0x80) != 0);
            images.add(data);
            if (data.lastImage() || imageLength == 0 || offset + imageLength >= file.length) {
                return images;
            }
            offset += imageLength;
            checkImageHeader(name, file, offset);
        }
    }

    private static int u16(byte[] b, int offset) {
        return (b[offset] & 0xff) | (b[offset + 1] & 0xff) << 8;
    }

    /** The ROM BAR size for a file of {@code length} bytes: the next power of two, at least 2 KiB. */
    public static int barSize(int length) {
        if (length <= MIN_BAR_SIZE) {
            return MIN_BAR_SIZE;
        }
        return Integer.highestOneBit(length - 1) << 1;
    }

    private static String codeTypeName(int codeType) {
        return switch (codeType) {
            case 0 -> "x86";
            case 1 -> "Open Firmware";
            case 2 -> "PA-RISC";
            case 3 -> "EFI";
            default -> "code type " + codeType;
        };
    }

    /** The file name it was loaded as, for messages. */
    public String name() {
        return name;
    }

    public int fileLength() {
        return fileLength;
    }

    /** The declared size (byte 2 × 512) of the image SeaBIOS would run, or of the first image if none matched. */
    public int imageSize() {
        return imageSize;
    }

    /** Whether that image's bytes sum to 0 modulo 256. */
    public boolean checksumValid() {
        return checksumValid;
    }

    /** The PCIR of the image served for the device, or of the first image if none matched; empty without one. */
    public Optional<PciData> pciData() {
        return pciData;
    }

    /** What will keep SeaBIOS from running this ROM, one sentence each; empty for a good ROM. */
    public List<String> warnings() {
        return warnings;
    }

    /** The ROM BAR's size: a power of two of at least 2 KiB that holds the whole file. */
    public int barSize() {
        return contents.capacity();
    }

    /** The BAR's contents, {@link #barSize()} bytes, little-endian and read-only: the file, then zeros. */
    public ByteBuffer contents() {
        return contents.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public String toString() {
        return name + " (" + fileLength + " bytes, BAR " + barSize() + pciData.map(p -> ", " + p).orElse("") + ")";
    }
}
