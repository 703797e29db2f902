package io.stubdm.firmware;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Option ROM checks against small images built here, each broken in one way. */
class OptionRomTest {
    static final int CIRRUS_VENDOR = 0x1013;
    static final int CIRRUS_DEVICE = 0x00B8;
    private static final int PCIR_AT = 0x40;

    /**
     * A one-image ROM of {@code blocks} × 512 bytes: signature, size byte, a PCIR at 0x40 for
     * {@code vendor:device} with VGA class and {@code codeType}, and a checksum byte at the end making the sum 0.
     */
    static byte[] image(int blocks, int vendor, int device, int codeType, boolean last) {
        byte[] b = new byte[blocks * 512];
        b[0] = 0x55;
        b[1] = (byte) 0xAA;
        b[2] = (byte) blocks;
        b[3] = (byte) 0xCB; // a far return as init vector, as a do-nothing ROM would have
        putU16(b, 0x18, PCIR_AT);
        b[PCIR_AT] = 'P';
        b[PCIR_AT + 1] = 'C';
        b[PCIR_AT + 2] = 'I';
        b[PCIR_AT + 3] = 'R';
        putU16(b, PCIR_AT + 4, vendor);
        putU16(b, PCIR_AT + 6, device);
        putU16(b, PCIR_AT + 0x0A, 0x18); // structure length
        b[PCIR_AT + 0x0C] = 0; // structure revision
        b[PCIR_AT + 0x0D] = 0x00; // programming interface
        b[PCIR_AT + 0x0E] = 0x00; // subclass: VGA
        b[PCIR_AT + 0x0F] = 0x03; // base class: display
        putU16(b, PCIR_AT + 0x10, blocks);
        b[PCIR_AT + 0x14] = (byte) codeType;
        b[PCIR_AT + 0x15] = (byte) (last ? 0x80 : 0);
        fixChecksum(b, 0, blocks * 512);
        return b;
    }

    static byte[] cirrusRom() {
        return image(2, CIRRUS_VENDOR, CIRRUS_DEVICE, OptionRom.CODE_TYPE_X86, true);
    }

    private static void putU16(byte[] b, int offset, int value) {
        b[offset] = (byte) value;
        b[offset + 1] = (byte) (value >>> 8);
    }

    private static void fixChecksum(byte[] b, int from, int length) {
        b[from + length - 1] = 0;
        int sum = 0;
        for (int i = from; i < from + length; i++) {
            sum += b[i];
        }
        b[from + length - 1] = (byte) -sum;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void validRomIsServedPaddedToTheBar() {
        byte[] file = cirrusRom();
        OptionRom rom = OptionRom.parse("vgabios-cirrus.bin", file, CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertEquals(List.of(), rom.warnings());
        assertTrue(rom.checksumValid());
        assertEquals(1024, rom.imageSize());
        assertEquals(1024, rom.fileLength());
        OptionRom.PciData pci = rom.pciData().orElseThrow();
        assertEquals(CIRRUS_VENDOR, pci.vendorId());
        assertEquals(CIRRUS_DEVICE, pci.deviceId());
        assertEquals(0x030000, pci.classCode());
        assertEquals(OptionRom.CODE_TYPE_X86, pci.codeType());
        assertEquals(1024, pci.imageLength());
        assertTrue(pci.lastImage());

        assertEquals(2048, rom.barSize());
        ByteBuffer bar = rom.contents();
        assertEquals(2048, bar.capacity());
        assertTrue(bar.isReadOnly());
        assertEquals(0xAA55, bar.getShort(0) & 0xffff, "little-endian view");
        for (int i = 0; i < file.length; i++) {
            assertEquals(file[i], bar.get(i));
        }
        for (int i = file.length; i < 2048; i++) {
            assertEquals(0, bar.get(i), "padding reads zero");
        }
    }

    @Test
    void barSizeIsThePowerOfTwoAbove() {
        assertEquals(2048, OptionRom.barSize(1));
        assertEquals(2048, OptionRom.barSize(2048));
        assertEquals(4096, OptionRom.barSize(2049));
        assertEquals(65536, OptionRom.barSize(39424)); // vgabios-cirrus.bin
        assertEquals(262144, OptionRom.barSize(249856)); // efi-e1000.rom
        assertEquals(16 << 20, OptionRom.barSize(16 << 20));
    }

    @Test
    void badSignatureIsRefused() {
        byte[] file = cirrusRom();
        file[1] = 0x55;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptionRom.parse("x.rom", file, CIRRUS_VENDOR, CIRRUS_DEVICE));
        assertTrue(e.getMessage().contains("0x55 0xAA"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OptionRom.parse("x.rom", new byte[0], 1, 1));
        byte[] signatureOnly = {0x55, (byte) 0xAA};
        assertThrows(IllegalArgumentException.class, () -> OptionRom.parse("x.rom", signatureOnly, 1, 1));
    }

    @Test
    void zeroSizeByteIsRefused() {
        byte[] file = cirrusRom();
        file[2] = 0;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptionRom.parse("x.rom", file, CIRRUS_VENDOR, CIRRUS_DEVICE));
        assertTrue(e.getMessage().contains("size 0"), e.getMessage());
    }

    @Test
    void badChecksumIsAWarningAndTheFileIsStillServed() {
        byte[] file = cirrusRom();
        file[100] ^= 0x01;
        OptionRom rom = OptionRom.parse("vgabios-cirrus.bin", file, CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertFalse(rom.checksumValid());
        assertEquals(1, rom.warnings().size(), rom.warnings().toString());
        String w = rom.warnings().get(0);
        assertTrue(w.contains("vgabios-cirrus.bin") && w.contains("checksum") && w.contains("SeaBIOS"), w);
        assertEquals(file[100], rom.contents().get(100), "served as it is, not fixed");
    }

    @Test
    void missingPcirIsAWarning() {
        byte[] file = cirrusRom();
        file[PCIR_AT] = 'X';
        fixChecksum(file, 0, file.length);
        OptionRom rom = OptionRom.parse("x.rom", file, CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertTrue(rom.pciData().isEmpty());
        assertTrue(rom.checksumValid());
        assertEquals(1, rom.warnings().size(), rom.warnings().toString());
        assertTrue(rom.warnings().get(0).contains("no PCI data structure"), rom.warnings().get(0));

        byte[] pointsOutside = cirrusRom();
        putU16(pointsOutside, 0x18, 0xFFF0);
        fixChecksum(pointsOutside, 0, pointsOutside.length);
        assertTrue(OptionRom.parse("x.rom", pointsOutside, CIRRUS_VENDOR, CIRRUS_DEVICE).pciData().isEmpty());
    }

    @Test
    void pcirForAnotherDeviceIsAWarning() {
        OptionRom rom = OptionRom.parse("vgabios-cirrus.bin", cirrusRom(), 0x1234, 0x1111);
        assertTrue(rom.checksumValid());
        assertEquals(CIRRUS_VENDOR, rom.pciData().orElseThrow().vendorId(), "still tells what the ROM is for");
        assertEquals(1, rom.warnings().size(), rom.warnings().toString());
        String w = rom.warnings().get(0);
        assertTrue(w.contains("1013:00b8") && w.contains("1234:1111") && w.contains("skip"), w);
    }

    @Test
    void nonX86ImageIsAWarning() {
        byte[] efiOnly = image(2, CIRRUS_VENDOR, CIRRUS_DEVICE, 3, true);
        OptionRom rom = OptionRom.parse("efi.rom", efiOnly, CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertEquals(1, rom.warnings().size(), rom.warnings().toString());
        assertTrue(rom.warnings().get(0).contains("EFI"), rom.warnings().get(0));
    }

    @Test
    void theX86ImageIsFoundBehindAnotherAsSeaBiosWalksThem() {
        byte[] efi = image(2, CIRRUS_VENDOR, CIRRUS_DEVICE, 3, false);
        efi[5] = 1; // an EFI image's checksum does not matter: SeaBIOS never runs it
        byte[] x86 = image(4, CIRRUS_VENDOR, CIRRUS_DEVICE, OptionRom.CODE_TYPE_X86, true);
        OptionRom rom = OptionRom.parse("combined.rom", concat(efi, x86), CIRRUS_VENDOR, CIRRUS_DEVICE);
        assertEquals(List.of(), rom.warnings());
        assertEquals(1024, rom.pciData().orElseThrow().imageOffset());
        assertEquals(2048, rom.imageSize());
        assertEquals(3072, rom.fileLength());
        assertEquals(4096, rom.barSize());
    }

    @Test
    void aBrokenSecondImageIsRefused() {
        byte[] first = image(2, 0x8086, 0x100E, 3, false);
        byte[] second = new byte[512]; // no signature where the first image's length points
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptionRom.parse("x.rom", concat(first, second), 0x8086, 0x100E));
        assertTrue(e.getMessage().contains("0x400"), e.getMessage());
    }

    @Test
    void truncatedFileIsRefused() {
        byte[] file = Arrays.copyOf(cirrusRom(), 1000); // the size byte says 1024
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptionRom.parse("x.rom", file, CIRRUS_VENDOR, CIRRUS_DEVICE));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        byte[] longImage = cirrusRom();
        putU16(longImage, PCIR_AT + 0x10, 3); // PCIR claims 1536 bytes of a 1024-byte file
        fixChecksum(longImage, 0, longImage.length);
        e = assertThrows(IllegalArgumentException.class,
                () -> OptionRom.parse("x.rom", longImage, CIRRUS_VENDOR, CIRRUS_DEVICE));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("1536"), e.getMessage());
    }

    @Test
    void moreThan16MiBIsRefused() {
        byte[] claims = cirrusRom();
        putU16(claims, PCIR_AT + 0x10, 0xFFFF); // 65535 × 512 bytes, just under 32 MiB
        fixChecksum(claims, 0, claims.length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptionRom.parse("x.rom", claims, CIRRUS_VENDOR, CIRRUS_DEVICE));
        assertTrue(e.getMessage().contains("16 MiB"), e.getMessage());

        byte[] huge = Arrays.copyOf(cirrusRom(), OptionRom.MAX_BAR_SIZE + 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> OptionRom.parse("x.rom", huge, CIRRUS_VENDOR, CIRRUS_DEVICE));
        assertTrue(e.getMessage().contains("16 MiB"), e.getMessage());
    }
}
