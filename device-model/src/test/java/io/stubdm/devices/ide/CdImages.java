package io.stubdm.devices.ide;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;

/** Installer-shaped CD images for the CD-ROM tests: ISO 9660 descriptors and an El Torito boot catalog. */
final class CdImages {
    static final int BOOT_RECORD_LBA = 17;
    static final int BOOT_CATALOG_LBA = 19;
    static final int BOOT_IMAGE_LBA = 20;
    /** El Torito counts the boot image in 512-byte virtual sectors. */
    static final int BOOT_IMAGE_VIRTUAL_SECTORS = 4;

    private CdImages() {
    }

    /**
     * An image of {@code blocks} 2048-byte blocks: primary volume descriptor at 16, the El Torito boot record at
     * 17, the terminator at 18, the boot catalog at 19 (validation entry, then a bootable no-emulation initial
     * entry loading {@code bootImage} at the default segment) and the boot image at 20. Every other block is
     * filled with its own number, so reads can be checked.
     */
    static MemoryDisk elTorito(Executor loop, long blocks, byte[] bootImage) {
        MemoryDisk disk = new MemoryDisk(loop, blocks * AtapiCdrom.BLOCK_SIZE, true, "installer.iso");
        for (long lba = 0; lba < Math.min(blocks, 64); lba++) {
            disk.put(lba * AtapiCdrom.BLOCK_SIZE, numbered(lba));
        }
        disk.put(16L * AtapiCdrom.BLOCK_SIZE, descriptor(1));
        byte[] record = descriptor(0);
        byte[] system = "EL TORITO SPECIFICATION".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(system, 0, record, 7, system.length);
        ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN).putInt(0x47, BOOT_CATALOG_LBA);
        disk.put((long) BOOT_RECORD_LBA * AtapiCdrom.BLOCK_SIZE, record);
        disk.put(18L * AtapiCdrom.BLOCK_SIZE, descriptor(0xff));
        ByteBuffer catalog = ByteBuffer.allocate(AtapiCdrom.BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        catalog.put(0x00, (byte) 0x01).put(0x01, (byte) 0x00); // validation entry, platform 80x86
        catalog.put(0x1e, (byte) 0x55).put(0x1f, (byte) 0xaa);
        int sum = 0;
        for (int i = 0; i < 0x20; i += 2) {
            sum += catalog.getShort(i) & 0xffff;
        }
        catalog.putShort(0x1c, (short) -sum); // the words of the entry sum to zero
        catalog.put(0x20, (byte) 0x88).put(0x21, (byte) 0x00); // bootable, no emulation
        catalog.putShort(0x26, (short) BOOT_IMAGE_VIRTUAL_SECTORS).putInt(0x28, BOOT_IMAGE_LBA);
        disk.put((long) BOOT_CATALOG_LBA * AtapiCdrom.BLOCK_SIZE, catalog.array());
        byte[] image = new byte[AtapiCdrom.BLOCK_SIZE];
        System.arraycopy(bootImage, 0, image, 0, Math.min(bootImage.length, image.length));
        disk.put((long) BOOT_IMAGE_LBA * AtapiCdrom.BLOCK_SIZE, image);
        return disk;
    }

    private static byte[] descriptor(int type) {
        byte[] d = new byte[AtapiCdrom.BLOCK_SIZE];
        d[0] = (byte) type;
        System.arraycopy("CD001".getBytes(StandardCharsets.US_ASCII), 0, d, 1, 5);
        d[6] = 1;
        return d;
    }

    /** A block whose 32-bit words all hold its LBA. */
    static byte[] numbered(long lba) {
        ByteBuffer b = ByteBuffer.allocate(AtapiCdrom.BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            b.putInt((int) lba);
        }
        return b.array();
    }
}
