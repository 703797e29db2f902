package io.stubdm.firmware;

import java.util.Objects;

/**
 * The non-clock part of the PC's 128-byte CMOS (bytes 14-127), as the device model keeps it for a Xen HVM guest,
 * and a {@link #xenfv builder} that fills it the way QEMU does for the {@code xenfv} machine.
 *
 * <p>Under Xen the RTC is split: Xen emulates the clock, alarm and registers A-D (indices 0-13,
 * {@code RTC_CMOS_SIZE} in xen/arch/x86/hvm/rtc.c) and forwards every access to a higher index to the device
 * model. What lives here is therefore plain data that firmware reads: hvmloader rewrites the memory sizes
 * (tools/firmware/hvmloader/hvmloader.c {@code cmos_write_memory_size}) and SeaBIOS, which has no fw_cfg on
 * {@code xenfv}, takes its boot order from 0x38/0x3D (src/boot.c). The initial values follow QEMU's
 * hw/i386/pc.c ({@code pc_cmos_init_late}, {@code cmos_init_hd}, {@code set_boot_dev}); bytes QEMU leaves alone,
 * such as the shutdown status byte 0x0F that firmware reads after a reset, start as zero.
 *
 * <p>Not thread-safe: the device loop owns it once the guest runs.
 */
public final class CmosNvram {
    /** Bytes in the whole CMOS, clock included. */
    public static final int SIZE = 128;
    /** Xen's {@code RTC_CMOS_SIZE}: indices below this are Xen's clock registers and never stored here. */
    public static final int FIRST_INDEX = 14;

    // Register offsets. 0x15-0x18 are the IBM PC/AT's base and extended memory bytes (hvmloader's "All BIOSes");
    // the rest are named as in SeaBIOS's src/hw/rtc.h.
    public static final int FLOPPY_DRIVE_TYPE = 0x10;
    public static final int DISK_DATA = 0x12;
    public static final int EQUIPMENT_INFO = 0x14;
    public static final int BASE_MEMORY_LOW = 0x15;
    public static final int BASE_MEMORY_HIGH = 0x16;
    public static final int AT_EXTMEM_LOW = 0x17;
    public static final int AT_EXTMEM_HIGH = 0x18;
    public static final int DISK_DRIVE1_TYPE = 0x19;
    public static final int DISK_DRIVE2_TYPE = 0x1A;
    public static final int DISK_DRIVE1_CYL = 0x1B;
    public static final int DISK_DRIVE2_CYL = 0x24;
    public static final int MEM_EXTMEM_LOW = 0x30;
    public static final int MEM_EXTMEM_HIGH = 0x31;
    public static final int CENTURY = 0x32;
    public static final int MEM_EXTMEM2_LOW = 0x34;
    public static final int MEM_EXTMEM2_HIGH = 0x35;
    public static final int BIOS_BOOTFLAG1 = 0x38;
    public static final int BIOS_DISKTRANSFLAG = 0x39;
    public static final int BIOS_BOOTFLAG2 = 0x3D;
    public static final int MEM_HIGHMEM_LOW = 0x5B;
    public static final int MEM_HIGHMEM_MID = 0x5C;
    public static final int MEM_HIGHMEM_HIGH = 0x5D;

    /** Where Xen's layout puts the top of low RAM at most: {@code HVM_BELOW_4G_RAM_END} (QEMU xen_ram_init). */
    public static final long HVM_BELOW_4G_RAM_END = 0xF000_0000L;

    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    private final byte[] bytes = new byte[SIZE];

    private CmosNvram() {
    }

    /**
     * A builder for a {@code xenfv} guest with {@code ramBytes} of RAM: libxl's {@code -m} in bytes, video RAM
     * already excluded.
     */
    public static Builder xenfv(long ramBytes) {
        return new Builder(ramBytes);
    }

    /** The byte at {@code index} (14-127), 0-255. */
    public int read(int index) {
        return bytes[checkIndex(index)] & 0xff;
    }

    /** Stores the low 8 bits of {@code value} at {@code index} (14-127). */
    public void write(int index, int value) {
        bytes[checkIndex(index)] = (byte) value;
    }

    /** All 128 bytes; the clock's 0-13 are always zero here because Xen holds them. */
    public byte[] toByteArray() {
        return bytes.clone();
    }

    private static int checkIndex(int index) {
        if (index < FIRST_INDEX || index >= SIZE) {
            throw new IllegalArgumentException("CMOS index " + index + " is not NVRAM (14-127); 0-13 are Xen's clock");
        }
        return index;
    }

    private void write16(int index, long value) {
        write(index, (int) value);
        write(index + 1, (int) (value >>> 8));
    }

    /**
     * One IDE hard disk as the BIOS sees it: its position ({@code index} 0-3 = primary master, primary slave,
     * secondary master, secondary slave, as {@code -drive if=ide,index=i}) and its physical CHS geometry.
     * CD-ROMs are not hard disks here (QEMU's {@code ide_get_geometry} answers only for {@code IDE_HD}); an
     * empty slot simply has no record.
     *
     * @param cylinders 1-65535, heads 1-16, sectors 1-255: the limits QEMU's IDE applies
     *                  ({@code blkconf_geometry(..., 65535, 16, 255)} in {@code ide_dev_initfn},
     *                  hw/ide/qdev.c in QEMU 7.2)
     */
    public record IdeDisk(int index, int cylinders, int heads, int sectors) {
        public IdeDisk {
            if (index < 0 || index > 3) {
                throw new IllegalArgumentException("IDE disk index " + index + " is not 0-3");
            }
            if (cylinders < 1 || cylinders > 65535 || heads < 1 || heads > 16 || sectors < 1 || sectors > 255) {
                throw new IllegalArgumentException(String.format(
                        "IDE disk %d: geometry %d/%d/%d outside 1-65535 cylinders, 1-16 heads, 1-255 sectors",
                        index, cylinders, heads, sectors));
            }
        }

        /**
         * The geometry QEMU gives a disk of {@code sizeBytes} when none is configured and the disk holds no
         * partition table to guess from: {@code guess_chs_for_size} in hw/block/hd-geometry.c, 16 heads and 63
         * sectors, cylinders = sectors / 1008 clamped to 2-16383. (QEMU's {@code hd_geometry_guess} first tries
         * the geometry an MBR's partition ends imply; that needs the disk's contents and is not done here.)
         */
        public static IdeDisk ofSize(int index, long sizeBytes) {
            if (sizeBytes < 0) {
                throw new IllegalArgumentException("IDE disk " + index + ": negative size " + sizeBytes);
            }
            long cylinders = (sizeBytes / 512) / (16 * 63);
            return new IdeDisk(index, (int) Math.max(2, Math.min(16383, cylinders)), 16, 63);
        }

        /**
         * The 2-bit BIOS translation hint for byte 0x39: QEMU's {@code hd_bios_chs_auto_trans}
         * (hw/block/hd-geometry.c) picks NONE when the geometry fits the int 13h limits (1024/16/63), LBA
         * otherwise, and {@code pc_cmos_init_late} stores {@code BIOS_ATA_TRANSLATION_* - 1}: 0 = none, 1 = LBA.
         */
        public int biosTranslation() {
            return cylinders <= 1024 && heads <= 16 && sectors <= 63 ? 0 : 1;
        }
    }

    /**
     * Fills a {@link CmosNvram} as QEMU 7.2's {@code pc_cmos_init_late} and {@code set_boot_dev} do for
     * {@code -machine xenfv -nodefaults}: no floppy drives, IDE disks as given, boot order from
     * {@code -boot order=}.
     */
    public static final class Builder {
        private final long ramBytes;
        private long maxRamBelow4g = HVM_BELOW_4G_RAM_END;
        private int[] bootNibbles = bootNibbles("cda");
        private boolean floppyBootSignatureCheck = true;
        private final IdeDisk[] disks = new IdeDisk[4];

        private Builder(long ramBytes) {
            if (ramBytes <= 0) {
                throw new IllegalArgumentException("guest RAM must be positive, not " + ramBytes);
            }
            this.ramBytes = ramBytes;
        }

        /**
         * The machine's {@code max-ram-below-4g} (libxl passes it for {@code mmio_hole}); as in QEMU's
         * {@code xen_ram_init} it can only lower the low-RAM top below 0xF0000000, and 0 means the default.
         */
        public Builder maxRamBelow4g(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("max-ram-below-4g must not be negative: " + bytes);
            }
            maxRamBelow4g = bytes == 0 ? HVM_BELOW_4G_RAM_END : Math.min(bytes, HVM_BELOW_4G_RAM_END);
            return this;
        }

        /**
         * QEMU's {@code -boot order=} string, at most 3 devices from a/b (floppy), c (disk), d (CD-ROM),
         * n (network); libxl's default is "cda". Throws IllegalArgumentException naming a bad letter.
         */
        public Builder bootOrder(String order) {
            bootNibbles = bootNibbles(Objects.requireNonNull(order, "boot order"));
            return this;
        }

        /** False for QEMU's {@code -no-fd-bootchk}: the BIOS then boots a floppy without the 0x55AA check. */
        public Builder floppyBootSignatureCheck(boolean check) {
            floppyBootSignatureCheck = check;
            return this;
        }

        /** Adds a hard disk; at most one per index. */
        public Builder ideDisk(IdeDisk disk) {
            if (disks[disk.index()] != null) {
                throw new IllegalArgumentException("two IDE disks at index " + disk.index());
            }
            disks[disk.index()] = disk;
            return this;
        }

        public CmosNvram build() {
            CmosNvram n = new CmosNvram();
            writeDisks(n);
            writeMemory(n);
            // No floppy drives (libxl passes -nodefaults and no -fda): both type nibbles 0 and no drive bits
            // in the equipment byte (pc_cmos_init_floppy).
            n.write(FLOPPY_DRIVE_TYPE, 0);
            // pc_cmos_init_late: "FPU is there" 0x02 | "PS/2 mouse installed" 0x04.
            n.write(EQUIPMENT_INFO, 0x02 | 0x04);
            // set_boot_dev: first two devices in 0x3D (first in the low nibble), the third in 0x38's high
            // nibble; 0x38's low nibble is 1 when the floppy boot-signature check is off.
            n.write(BIOS_BOOTFLAG2, bootNibbles[1] << 4 | bootNibbles[0]);
            n.write(BIOS_BOOTFLAG1, bootNibbles[2] << 4 | (floppyBootSignatureCheck ? 0 : 1));
            // QEMU's mc146818 (hw/rtc/mc146818rtc.c, rtc_set_cmos with base_year 0) keeps the BCD century of
            // the host date here; Xen's RTC stops at index 13, so the byte is ours. 0x20 holds until 2099.
            n.write(CENTURY, 0x20);
            return n;
        }

        /** pc_cmos_init_late's memory block, with QEMU xen_ram_init's split of RAM around the 4 GiB hole. */
        private void writeMemory(CmosNvram n) {
            long below4g = Math.min(ramBytes, maxRamBelow4g);
            long above4g = ramBytes - below4g;
            long above4gUnits = above4g / (64 * KIB);
            if (above4gUnits > 0xFF_FFFF) {
                throw new IllegalArgumentException(ramBytes + " bytes of RAM: the part above 4 GiB does not fit"
                        + " the 24-bit 64 KiB count at 0x5B-0x5D");
            }
            // Base memory: KiB below 1 MiB, at most 640.
            n.write16(BASE_MEMORY_LOW, Math.min(below4g / KIB, 640));
            // Extended memory: KiB between 1 MiB and the low-RAM top, capped at 65535; the same value twice.
            long extended = below4g > MIB ? Math.min((below4g - MIB) / KIB, 65535) : 0;
            n.write16(AT_EXTMEM_LOW, extended);
            n.write16(MEM_EXTMEM_LOW, extended);
            // Memory between 16 MiB and the low-RAM top in 64 KiB units, capped at 65535.
            long above16m = below4g > 16 * MIB ? Math.min((below4g - 16 * MIB) / (64 * KIB), 65535) : 0;
            n.write16(MEM_EXTMEM2_LOW, above16m);
            // Memory above 4 GiB in 64 KiB units, 24 bits.
            n.write(MEM_HIGHMEM_LOW, (int) above4gUnits);
            n.write(MEM_HIGHMEM_MID, (int) (above4gUnits >>> 8));
            n.write(MEM_HIGHMEM_HIGH, (int) (above4gUnits >>> 16));
        }

        /** pc_cmos_init_late's disk block: types and parameters for the primary channel, hints for all four. */
        private void writeDisks(CmosNvram n) {
            int types = 0;
            if (disks[0] != null) {
                writeDiskParameters(n, DISK_DRIVE1_TYPE, DISK_DRIVE1_CYL, disks[0]);
                types |= 0xF0; // type nibble 0xF: "see the extended type at 0x19"
            }
            if (disks[1] != null) {
                writeDiskParameters(n, DISK_DRIVE2_TYPE, DISK_DRIVE2_CYL, disks[1]);
                types |= 0x0F; // ... at 0x1A
            }
            n.write(DISK_DATA, types);
            int translation = 0;
            for (IdeDisk d : disks) {
                if (d != null) {
                    translation |= d.biosTranslation() << (d.index() * 2);
                }
            }
            n.write(BIOS_DISKTRANSFLAG, translation);
        }

        /** cmos_init_hd: drive type 47 (user-defined) and its 9-byte parameter block. */
        private static void writeDiskParameters(CmosNvram n, int typeIndex, int info, IdeDisk d) {
            n.write(typeIndex, 47);
            n.write16(info, d.cylinders());
            n.write(info + 2, d.heads());
            n.write16(info + 3, 0xFFFF); // write-precompensation cylinder: none
            n.write(info + 5, 0xC0 | (d.heads() > 8 ? 0x08 : 0)); // control byte: more than 8 heads
            n.write16(info + 6, d.cylinders()); // landing zone
            n.write(info + 8, d.sectors());
        }

        /** set_boot_dev and boot_device2nibble; the duplicate check is QEMU's validate_bootdevices. */
        private static int[] bootNibbles(String order) {
            if (order.length() > 3) {
                throw new IllegalArgumentException("boot order \"" + order + "\": a PC BIOS takes at most 3 devices");
            }
            int[] nibbles = new int[3];
            for (int i = 0; i < order.length(); i++) {
                char c = order.charAt(i);
                if (order.indexOf(c) != i) {
                    throw new IllegalArgumentException("boot order \"" + order + "\": device '" + c + "' given twice");
                }
                nibbles[i] = switch (c) {
                    case 'a', 'b' -> 1; // floppy
                    case 'c' -> 2; // hard disk
                    case 'd' -> 3; // CD-ROM
                    case 'n' -> 4; // network
                    default -> throw new IllegalArgumentException("boot order \"" + order + "\": invalid boot device '"
                            + c + "' (a PC boots from a, b, c, d or n)");
                };
            }
            return nibbles;
        }
    }
}
