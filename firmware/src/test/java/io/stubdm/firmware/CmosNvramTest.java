package io.stubdm.firmware;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.firmware.CmosNvram.IdeDisk;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Whole CMOS images for libxl-like configurations, against bytes worked out by hand from QEMU 7.2's formulas
 * (hw/i386/pc.c pc_cmos_init_late, cmos_init_hd, set_boot_dev; hw/block/hd-geometry.c). Every byte not listed
 * in an expectation must be zero.
 */
class CmosNvramTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    /** Bytes every configuration without disks and with the default "cda" order shares. */
    private static Image common() {
        return new Image()
                .at(0x10, 0x00) // no floppy drives: both type nibbles 0
                .at(0x12, 0x00) // no hard disk on the primary channel
                .at(0x14, 0x06) // equipment: FPU 0x02 | PS/2 mouse 0x04, no floppy bits
                .at(0x15, 0x80).at(0x16, 0x02) // base memory 640 KiB = 0x0280
                .at(0x32, 0x20) // century, BCD
                .at(0x39, 0x00) // no translation hints: no disks
                .at(0x3D, 0x32) // "cda": c = 2 (low nibble), d = 3 (high nibble)
                .at(0x38, 0x10); // "cda": a = 1 (high nibble); low nibble 0 = floppy signature check on
    }

    @Test
    void ram256MiB() {
        Image expected = common()
                // extended: (256 - 1) MiB = 261120 KiB > 65535 -> capped at 0xFFFF
                .at(0x17, 0xFF).at(0x18, 0xFF).at(0x30, 0xFF).at(0x31, 0xFF)
                // 16 MiB..top: (256 - 16) MiB / 64 KiB = 240 * 16 = 3840 = 0x0F00
                .at(0x34, 0x00).at(0x35, 0x0F);
        // above 4 GiB: none, 0x5B-0x5D stay 0
        expected.assertEquals(CmosNvram.xenfv(256 * MIB).build());
    }

    @Test
    void ram2040MiBAsLibxlPassesForA2GiBGuestWith8MiBVideo() {
        Image expected = common()
                // extended: 2039 MiB in KiB is far above 65535 -> 0xFFFF
                .at(0x17, 0xFF).at(0x18, 0xFF).at(0x30, 0xFF).at(0x31, 0xFF)
                // (2040 - 16) MiB / 64 KiB = 2024 * 16 = 32384 = 0x7E80
                .at(0x34, 0x80).at(0x35, 0x7E);
        expected.assertEquals(CmosNvram.xenfv(2040 * MIB).build());
    }

    @Test
    void ram6GiBSplitsAtXensLowRamTop() {
        // low RAM top = min(6 GiB, 0xF0000000) = 3840 MiB; above 4 GiB = 6144 - 3840 = 2304 MiB
        Image expected = common()
                .at(0x17, 0xFF).at(0x18, 0xFF).at(0x30, 0xFF).at(0x31, 0xFF) // 3839 MiB in KiB, capped
                // (3840 - 16) MiB / 64 KiB = 3824 * 16 = 61184 = 0xEF00
                .at(0x34, 0x00).at(0x35, 0xEF)
                // 2304 MiB / 64 KiB = 2304 * 16 = 36864 = 0x009000, low byte first
                .at(0x5B, 0x00).at(0x5C, 0x90).at(0x5D, 0x00);
        expected.assertEquals(CmosNvram.xenfv(6 * GIB).build());
    }

    @Test
    void maxRamBelow4gMovesTheSplitDown() {
        // max-ram-below-4g = 2 GiB: low top 2048 MiB, above 4 GiB = 4096 MiB
        Image expected = common()
                .at(0x17, 0xFF).at(0x18, 0xFF).at(0x30, 0xFF).at(0x31, 0xFF)
                // (2048 - 16) MiB / 64 KiB = 2032 * 16 = 32512 = 0x7F00
                .at(0x34, 0x00).at(0x35, 0x7F)
                // 4096 MiB / 64 KiB = 65536 = 0x010000
                .at(0x5B, 0x00).at(0x5C, 0x00).at(0x5D, 0x01);
        expected.assertEquals(CmosNvram.xenfv(6 * GIB).maxRamBelow4g(2 * GIB).build());
        // QEMU's xen_ram_init only lowers the top: a larger value, or 0, keeps 0xF0000000.
        assertArrayEquals(CmosNvram.xenfv(6 * GIB).build().toByteArray(),
                CmosNvram.xenfv(6 * GIB).maxRamBelow4g(0xF800_0000L).build().toByteArray());
        assertArrayEquals(CmosNvram.xenfv(6 * GIB).build().toByteArray(),
                CmosNvram.xenfv(6 * GIB).maxRamBelow4g(0).build().toByteArray());
    }

    @Test
    void smallGuestsShowTheUncappedFormulas() {
        Image ram32MiB = common()
                // (32 - 1) MiB = 31744 KiB = 0x7C00
                .at(0x17, 0x00).at(0x18, 0x7C).at(0x30, 0x00).at(0x31, 0x7C)
                // (32 - 16) MiB / 64 KiB = 256 = 0x0100
                .at(0x34, 0x00).at(0x35, 0x01);
        ram32MiB.assertEquals(CmosNvram.xenfv(32 * MIB).build());

        Image ram8MiB = common()
                // (8 - 1) MiB = 7168 KiB = 0x1C00; nothing above 16 MiB
                .at(0x17, 0x00).at(0x18, 0x1C).at(0x30, 0x00).at(0x31, 0x1C);
        ram8MiB.assertEquals(CmosNvram.xenfv(8 * MIB).build());

        Image ram512KiB = common()
                // base memory min(512, 640) = 512 = 0x0200; nothing above 1 MiB
                .at(0x15, 0x00).at(0x16, 0x02);
        ram512KiB.assertEquals(CmosNvram.xenfv(512 * 1024).build());
    }

    @Test
    void oneDiskAsLibxlsHdaOf10GiB() {
        // guess_chs_for_size: 10 GiB = 20971520 sectors / (16 * 63) = 20805 -> clamped to 16383 = 0x3FFF;
        // 16 heads, 63 sectors; more than 1024 cylinders -> LBA translation (hint 1).
        Image expected = ram256().at(0x12, 0xF0) // drive 0 type nibble 0xF: see 0x19
                .at(0x19, 47) // user-defined drive type
                .at(0x1B, 0xFF).at(0x1C, 0x3F) // cylinders 16383
                .at(0x1D, 0x10) // heads 16
                .at(0x1E, 0xFF).at(0x1F, 0xFF) // no write precompensation
                .at(0x20, 0xC8) // control: 0xC0 | 0x08 for more than 8 heads
                .at(0x21, 0xFF).at(0x22, 0x3F) // landing zone = cylinders
                .at(0x23, 0x3F) // 63 sectors per track
                .at(0x39, 0x01); // disk 0: LBA in bits 1-0
        expected.assertEquals(CmosNvram.xenfv(256 * MIB).ideDisk(IdeDisk.ofSize(0, 10 * GIB)).build());
    }

    @Test
    void primarySlaveOnlyUsesTheSecondTypeNibbleAndBlock() {
        // 2000/8/63 given: cylinders above 1024 -> LBA; heads not above 8 -> control 0xC0
        Image expected = ram256().at(0x12, 0x0F) // drive 1 type nibble 0xF: see 0x1A
                .at(0x1A, 47)
                .at(0x24, 0xD0).at(0x25, 0x07) // 2000 = 0x07D0
                .at(0x26, 0x08)
                .at(0x27, 0xFF).at(0x28, 0xFF)
                .at(0x29, 0xC0)
                .at(0x2A, 0xD0).at(0x2B, 0x07)
                .at(0x2C, 0x3F)
                .at(0x39, 0x04); // disk 1: LBA (1) in bits 3-2
        expected.assertEquals(CmosNvram.xenfv(256 * MIB).ideDisk(new IdeDisk(1, 2000, 8, 63)).build());
    }

    @Test
    void fourDisks() {
        // disk 0: 10 GiB -> 16383/16/63, LBA (see oneDisk...)
        // disk 1: 100 MiB = 204800 sectors / 1008 = 203 = 0xCB cylinders, 16/63, fits 1024/16/63 -> none (0)
        // disk 2: 1024/8/32 given -> none (0); the secondary channel gets no type or parameter bytes
        // disk 3: 2 GiB = 4194304 sectors / 1008 = 4161 cylinders -> LBA (1)
        Image expected = ram256().at(0x12, 0xFF)
                .at(0x19, 47).at(0x1A, 47)
                .at(0x1B, 0xFF).at(0x1C, 0x3F).at(0x1D, 0x10).at(0x1E, 0xFF).at(0x1F, 0xFF)
                .at(0x20, 0xC8).at(0x21, 0xFF).at(0x22, 0x3F).at(0x23, 0x3F)
                .at(0x24, 0xCB).at(0x25, 0x00).at(0x26, 0x10).at(0x27, 0xFF).at(0x28, 0xFF)
                .at(0x29, 0xC8).at(0x2A, 0xCB).at(0x2B, 0x00).at(0x2C, 0x3F)
                // hints: disk0 1 << 0 | disk1 0 << 2 | disk2 0 << 4 | disk3 1 << 6 = 0x41
                .at(0x39, 0x41);
        CmosNvram nvram = CmosNvram.xenfv(256 * MIB)
                .ideDisk(IdeDisk.ofSize(3, 2 * GIB))
                .ideDisk(new IdeDisk(2, 1024, 8, 32))
                .ideDisk(IdeDisk.ofSize(1, 100 * MIB))
                .ideDisk(IdeDisk.ofSize(0, 10 * GIB))
                .build();
        expected.assertEquals(nvram);
    }

    @Test
    void geometryGuessClampsCylinders() {
        assertEquals(new IdeDisk(0, 2, 16, 63), IdeDisk.ofSize(0, 0));
        assertEquals(new IdeDisk(0, 2, 16, 63), IdeDisk.ofSize(0, 1 * MIB)); // 2048 / 1008 = 2
        assertEquals(new IdeDisk(0, 1040, 16, 63), IdeDisk.ofSize(0, 1040L * 1008 * 512));
        assertEquals(new IdeDisk(0, 16383, 16, 63), IdeDisk.ofSize(0, 16384L * 1008 * 512));
        assertEquals(0, new IdeDisk(0, 1024, 16, 63).biosTranslation());
        assertEquals(1, new IdeDisk(0, 1025, 16, 63).biosTranslation());
        assertEquals(1, new IdeDisk(0, 100, 16, 64).biosTranslation());
    }

    @Test
    void badDisksAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new IdeDisk(4, 100, 16, 63));
        assertThrows(IllegalArgumentException.class, () -> new IdeDisk(-1, 100, 16, 63));
        assertThrows(IllegalArgumentException.class, () -> new IdeDisk(0, 0, 16, 63));
        assertThrows(IllegalArgumentException.class, () -> new IdeDisk(0, 65536, 16, 63));
        assertThrows(IllegalArgumentException.class, () -> new IdeDisk(0, 100, 17, 63));
        assertThrows(IllegalArgumentException.class, () -> new IdeDisk(0, 100, 16, 256));
        assertThrows(IllegalArgumentException.class, () -> IdeDisk.ofSize(0, -1));
        CmosNvram.Builder b = CmosNvram.xenfv(256 * MIB).ideDisk(IdeDisk.ofSize(0, GIB));
        assertThrows(IllegalArgumentException.class, () -> b.ideDisk(IdeDisk.ofSize(0, GIB)));
    }

    @Test
    void bootOrderDc() {
        // d = 3 low nibble, c = 2 high nibble of 0x3D; no third device: 0x38 = 0x00
        ram256().at(0x3D, 0x23).at(0x38, 0x00)
                .assertEquals(CmosNvram.xenfv(256 * MIB).bootOrder("dc").build());
    }

    @Test
    void bootOrderNetworkOnly() {
        // n = 4 in the low nibble of 0x3D; nothing else
        ram256().at(0x3D, 0x04).at(0x38, 0x00)
                .assertEquals(CmosNvram.xenfv(256 * MIB).bootOrder("n").build());
    }

    @Test
    void bootOrderWithoutFloppySignatureCheck() {
        // -no-fd-bootchk sets 0x38's low nibble to 1: "cda" -> 0x10 | 0x01
        ram256().at(0x38, 0x11)
                .assertEquals(CmosNvram.xenfv(256 * MIB).floppyBootSignatureCheck(false).build());
    }

    @Test
    void bootOrderBAndEmptyFollowQemu() {
        // b is a floppy too (boot_device2nibble); an empty order leaves both bytes 0
        ram256().at(0x3D, 0x21).at(0x38, 0x00)
                .assertEquals(CmosNvram.xenfv(256 * MIB).bootOrder("bc").build());
        ram256().at(0x3D, 0x00).at(0x38, 0x00)
                .assertEquals(CmosNvram.xenfv(256 * MIB).bootOrder("").build());
    }

    @Test
    void badBootOrdersNameTheProblem() {
        CmosNvram.Builder b = CmosNvram.xenfv(256 * MIB);
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class, () -> b.bootOrder("cdan"));
        assertTrue(tooMany.getMessage().contains("at most 3"), tooMany.getMessage());
        for (String order : new String[] {"x", "cdx", "C", "c1", "e"}) {
            char bad = order.charAt(order.length() - 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.bootOrder(order));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> b.bootOrder("cc"));
        assertTrue(twice.getMessage().contains("'c' given twice"), twice.getMessage());
        // A refused order leaves the builder's previous one in place.
        assertEquals(0x32, b.build().read(CmosNvram.BIOS_BOOTFLAG2));
    }

    @Test
    void badRamIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> CmosNvram.xenfv(0));
        assertThrows(IllegalArgumentException.class, () -> CmosNvram.xenfv(-1));
        // 0x5B-0x5D count 64 KiB units in 24 bits: at most 1 TiB - 64 KiB above 4 GiB
        long top = CmosNvram.HVM_BELOW_4G_RAM_END;
        assertEquals(0xFF, CmosNvram.xenfv(top + (1L << 40) - 65536).build().read(0x5D));
        assertThrows(IllegalArgumentException.class, () -> CmosNvram.xenfv(top + (1L << 40)).build());
        assertThrows(IllegalArgumentException.class, () -> CmosNvram.xenfv(GIB).maxRamBelow4g(-1));
    }

    @Test
    void onlyNvramIndicesAreAccessible() {
        CmosNvram n = CmosNvram.xenfv(256 * MIB).build();
        for (int index : new int[] {-1, 0, 13, 128, 255}) {
            assertThrows(IllegalArgumentException.class, () -> n.read(index));
            assertThrows(IllegalArgumentException.class, () -> n.write(index, 0));
        }
        n.write(14, 0x1AB); // low 8 bits
        assertEquals(0xAB, n.read(14));
        n.write(127, -1);
        assertEquals(0xFF, n.read(127));
        byte[] copy = n.toByteArray();
        copy[127] = 0;
        assertEquals(0xFF, n.read(127), "toByteArray is a copy");
    }

    private static Image ram256() {
        return common()
                .at(0x17, 0xFF).at(0x18, 0xFF).at(0x30, 0xFF).at(0x31, 0xFF)
                .at(0x34, 0x00).at(0x35, 0x0F);
    }

    /** An expected CMOS image: listed bytes, zero elsewhere; a later {@code at} for an index replaces it. */
    private static final class Image {
        private final int[] bytes = new int[CmosNvram.SIZE];

        Image at(int index, int value) {
            bytes[index] = value;
            return this;
        }

        void assertEquals(CmosNvram actual) {
            byte[] got = actual.toByteArray();
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < CmosNvram.SIZE; i++) {
                if ((got[i] & 0xff) != bytes[i]) {
                    wrong.add(String.format("0x%02X: expected 0x%02X, got 0x%02X", i, bytes[i], got[i] & 0xff));
                }
            }
            assertTrue(wrong.isEmpty(), String.join("; ", wrong));
        }
    }
}
