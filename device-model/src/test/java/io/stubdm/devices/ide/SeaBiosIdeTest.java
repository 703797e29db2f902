package io.stubdm.devices.ide;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SeaBIOS's ATA driver against the controller: the probe of both channels, int 13h disk reads and writes with
 * {@code rep insw}/{@code rep outsw}, and the El Torito boot from the CD-ROM, with libxl's usual layout (disk
 * hda = index 0, CD-ROM hdc = index 2).
 */
class SeaBiosIdeTest {
    private static final long DISK_BYTES = 64L << 20;
    private static final byte[] BOOT_IMAGE = "stubdm boot sector".getBytes();

    private final IdeRig rig = new IdeRig();
    private final SeaBiosAta bios = new SeaBiosAta(rig.cpu, rig.ram());
    private final MemoryDisk disk = rig.disk(DISK_BYTES);

    @AfterEach
    void nothingEscaped() {
        rig.assertNothingEscaped();
        rig.close();
    }

    private void startWithDiskAndCdrom() {
        rig.attach(0, new AtaDisk(disk, true));
        rig.attach(2, new AtapiCdrom(CdImages.elTorito(rig.engine.loop(), 1000, BOOT_IMAGE)));
        rig.start();
    }

    @Test
    void probeFindsTheDiskAndTheCdromAndNoGhostSlaves() {
        startWithDiskAndCdrom();
        List<SeaBiosAta.Drive> primary = bios.ataDetect(IdeRig.PRIMARY, IdeRig.PRIMARY_CONTROL);
        List<SeaBiosAta.Drive> secondary = bios.ataDetect(IdeRig.SECONDARY, IdeRig.SECONDARY_CONTROL);

        assertEquals(1, primary.size(), "hda only: " + bios.log);
        SeaBiosAta.Drive hda = primary.get(0);
        assertFalse(hda.atapi());
        assertEquals(AtaDisk.MODEL, hda.model());
        assertEquals(DISK_BYTES / 512, hda.sectors());
        assertEquals(130, hda.cylinders()); // 131072 sectors / (16 × 63)
        assertEquals(16, hda.heads());
        assertEquals(63, hda.spt());

        assertEquals(1, secondary.size(), "hdc only: " + bios.log);
        assertTrue(secondary.get(0).atapi());
        assertEquals(AtapiCdrom.MODEL, secondary.get(0).model());
        assertTrue(bios.log.contains("DVD/CD [ata1-0: STUBDM DVD-ROM ATAPI-4 DVD/CD]"), bios.log.toString());
        assertTrue(bios.log.contains("ata0-0: STUBDM HARDDISK ATA-7 Hard-Disk"), bios.log.toString());
        // The missing slave passes the latch test (the master answers for it, as on QEMU); its status of 0
        // is what makes SeaBIOS skip it.
        assertTrue(bios.log.contains("ata_detect 1f0-1: sc=55 sn=aa dh=b0"), bios.log.toString());
    }

    @Test
    void aChannelWithoutDrivesFailsTheLatchTest() {
        rig.attach(0, new AtaDisk(disk, true)).start();
        assertEquals(List.of(), bios.ataDetect(IdeRig.SECONDARY, IdeRig.SECONDARY_CONTROL));
        assertTrue(bios.log.contains("ata_detect 170-0: sc=0 sn=0 dh=0"), bios.log.toString());
        assertTrue(bios.log.contains("ata_detect 170-1: sc=0 sn=0 dh=0"), bios.log.toString());
    }

    @Test
    void int13ReadsSectorsWithRepInsw() {
        byte[] image = new byte[64 * 512];
        new Random(1).nextBytes(image);
        disk.put(1000L * 512, image);
        startWithDiskAndCdrom();
        SeaBiosAta.Drive hda = bios.ataDetect(IdeRig.PRIMARY, IdeRig.PRIMARY_CONTROL).get(0);

        assertEquals(SeaBiosAta.DISK_RET_SUCCESS, bios.ataReadwrite(hda, 1000, 64, 0x10000, false));
        byte[] read = new byte[image.length];
        rig.ram().read(0x10000, read, 0, read.length);
        assertArrayEquals(image, read);
    }

    @Test
    void int13WritesSectorsAndLargeTransfersUseTheExtCommands() {
        startWithDiskAndCdrom();
        SeaBiosAta.Drive hda = bios.ataDetect(IdeRig.PRIMARY, IdeRig.PRIMARY_CONTROL).get(0);
        byte[] data = new byte[300 * 512]; // 300 sectors: READ/WRITE SECTORS EXT, as SeaBIOS does from 256 up
        new Random(2).nextBytes(data);
        rig.ram().write(0x20000, data, 0, data.length);

        assertEquals(SeaBiosAta.DISK_RET_SUCCESS, bios.ataReadwrite(hda, 5000, 300, 0x20000, true));
        assertArrayEquals(data, disk.get(5000L * 512, data.length));

        rig.ram().write(0x20000, new byte[data.length], 0, data.length);
        assertEquals(SeaBiosAta.DISK_RET_SUCCESS, bios.ataReadwrite(hda, 5000, 300, 0x20000, false));
        byte[] read = new byte[data.length];
        rig.ram().read(0x20000, read, 0, read.length);
        assertArrayEquals(data, read);
        assertTrue(disk.log().contains("submit write " + 5000L * 512 + "+512"), "one sector per DRQ block");
    }

    @Test
    void aReadPastTheEndIsABadTrack() {
        startWithDiskAndCdrom();
        SeaBiosAta.Drive hda = bios.ataDetect(IdeRig.PRIMARY, IdeRig.PRIMARY_CONTROL).get(0);
        assertEquals(SeaBiosAta.DISK_RET_EBADTRACK, bios.ataReadwrite(hda, DISK_BYTES / 512 - 1, 2, 0x10000, false));
        assertEquals(Ata.ERROR_IDNF, rig.error(IdeRig.PRIMARY));
    }

    @Test
    void userResetLeavesTheDiskReady() {
        startWithDiskAndCdrom();
        SeaBiosAta.Drive hda = bios.ataDetect(IdeRig.PRIMARY, IdeRig.PRIMARY_CONTROL).get(0);
        bios.ataReset(hda);
        assertTrue(bios.log.contains("ata_reset exit status=50"), bios.log.toString());
        assertEquals(SeaBiosAta.DISK_RET_SUCCESS, bios.ataReadwrite(hda, 0, 1, 0x10000, false));
    }

    @Test
    void elToritoBootLoadsTheBootImage() {
        startWithDiskAndCdrom();
        SeaBiosAta.Drive hdc = bios.ataDetect(IdeRig.SECONDARY, IdeRig.SECONDARY_CONTROL).get(0);

        SeaBiosAta.Boot boot = bios.cdromBoot(hdc);

        assertEquals(0, boot.code(), bios.log.toString());
        assertEquals(0x7c00, boot.loadAddress());
        assertEquals(0, boot.media(), "no emulation");
        byte[] loaded = new byte[BOOT_IMAGE.length];
        rig.ram().read(0x7c00, loaded, 0, loaded.length);
        assertArrayEquals(BOOT_IMAGE, loaded);

        byte[] capacity = new byte[8];
        assertEquals(SeaBiosAta.DISK_RET_SUCCESS, bios.cdbReadCapacity(hdc, 0x30000));
        rig.ram().read(0x30000, capacity, 0, 8);
        assertArrayEquals(new byte[] {0, 0, 0x03, (byte) 0xe7, 0, 0, 0x08, 0}, capacity, "last LBA 999, 2048 bytes");
    }

    @Test
    void elToritoAfterAMediumChangeRetriesThroughTheUnitAttention() {
        startWithDiskAndCdrom();
        SeaBiosAta.Drive hdc = bios.ataDetect(IdeRig.SECONDARY, IdeRig.SECONDARY_CONTROL).get(0);
        AtapiCdrom cd = (AtapiCdrom) rig.ide.drive(2);
        rig.engine.onLoop(() -> cd.changeMedium(CdImages.elTorito(rig.engine.loop(), 2000, BOOT_IMAGE)));

        // The first TEST UNIT READY reports the old medium gone (REQUEST SENSE: 02/3A), which makes SeaBIOS
        // give up on this boot attempt, as it does on QEMU; the next attempt sees the UNIT ATTENTION once.
        assertEquals(-1, bios.scsiIsReady(hdc));
        assertEquals(0, bios.scsiIsReady(hdc));
        assertEquals(0, bios.cdromBoot(hdc).code(), bios.log.toString());
    }

    @Test
    void anEmptyCdromStopsTheBootWithMediumNotPresent() {
        rig.attach(0, new AtaDisk(disk, true)).attach(2, new AtapiCdrom(null)).start();
        SeaBiosAta.Drive hdc = bios.ataDetect(IdeRig.SECONDARY, IdeRig.SECONDARY_CONTROL).get(0);

        SeaBiosAta.Boot boot = bios.cdromBoot(hdc);

        assertTrue(bios.log.contains("Device reports MEDIUM NOT PRESENT"), bios.log.toString());
        assertEquals(3, boot.code(), "the boot record read fails");
        byte[] sense = bios.lastSense();
        assertEquals(Mmc.SENSE_NOT_READY, sense[2]);
        assertEquals(Mmc.ASC_MEDIUM_NOT_PRESENT, sense[12]);
    }
}
