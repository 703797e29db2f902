package io.stubdm.devices.ide;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * FreeBSD's ata(4) against the controller: ata_generic_reset's presence test, reset and signature logic, the
 * IDENTIFY of ata_getparam with 32-bit reads, a bus-master READ DMA, and the ATAPI PACKET protocol as cd(4)
 * drives it through CAM.
 */
class FreeBsdAtaTest {
    private static final long PRD = 0x100000;
    private static final long BUFFER = 0x400000;

    private final IdeRig rig = new IdeRig();
    private final MemoryDisk disk = rig.disk(32L << 20);
    private final FreeBsdAta ata0 = new FreeBsdAta(rig.cpu, rig.ram(), 0, IdeRig.BMIBA, () -> rig.irq(14));
    private final FreeBsdAta ata1 = new FreeBsdAta(rig.cpu, rig.ram(), 1, IdeRig.BMIBA, () -> rig.irq(15));

    @AfterEach
    void nothingEscaped() {
        rig.assertNothingEscaped();
        rig.close();
    }

    private void start() {
        rig.attach(0, new AtaDisk(disk, true))
                .attach(2, new AtapiCdrom(CdImages.elTorito(rig.engine.loop(), 4000, new byte[0])))
                .start();
    }

    @Test
    void resetClassifiesByTheSignaturesAtOnce() {
        start();
        assertEquals(FreeBsdAta.ATA_ATA_MASTER, ata0.genericReset());
        assertTrue(ata0.resetIterations < 3, "classified on the first poll, not after the 31 s timeout");
        assertEquals(FreeBsdAta.ATA_ATAPI_MASTER, ata1.genericReset());
        assertTrue(ata1.resetIterations < 3);
        assertTrue(rig.irqLevels(14).isEmpty(), "no interrupt while the reset runs with nIEN (ATA_A_IDS)");
    }

    @Test
    void resetOfAChannelWithoutDrivesIsQuick() {
        rig.attach(0, new AtaDisk(disk, true)).start();
        assertEquals(0, ata1.genericReset());
        assertTrue(ata1.resetIterations < 3, "status 0 is not busy: nothing to wait for");
    }

    @Test
    void aSlaveAloneIsFoundAsSlave() {
        rig.attach(1, new AtaDisk(disk, true)).start();
        assertEquals(FreeBsdAta.ATA_ATA_SLAVE, ata0.genericReset());
    }

    @Test
    void getparamReadsIdentifyDataWithInsl() {
        start();
        ata0.genericReset();
        ata1.genericReset();
        assertEquals(Ata.STATUS_DRDY | Ata.STATUS_DSC | Ata.STATUS_DRQ,
                ata0.identify(FreeBsdAta.ATA_MASTER, false, BUFFER) & 0xff);
        byte[] data = new byte[512];
        rig.ram().read(BUFFER, data, 0, 512);
        assertEquals(AtaDisk.MODEL, SeaBiosAta.model(LinuxAtaPiix.words(data)));
        assertFalse(rig.irq(14), "end_transaction's Status read cleared the interrupt");

        ata1.identify(FreeBsdAta.ATA_MASTER, true, BUFFER);
        rig.ram().read(BUFFER, data, 0, 512);
        int[] id = LinuxAtaPiix.words(data);
        assertEquals(0x85c0, id[0], "ATAPI, CD-ROM, removable, DRQ within 50 µs, 12-byte packets");
        assertEquals(AtapiCdrom.MODEL, SeaBiosAta.model(id));
    }

    @Test
    void identifyDeviceOnTheCdromAbortsAndShowsTheSignature() {
        start();
        ata1.genericReset();
        int status = ata1.identify(FreeBsdAta.ATA_MASTER, false, BUFFER);
        assertEquals(Ata.STATUS_ERR, status & Ata.STATUS_ERR);
        assertEquals(Ata.ERROR_ABRT, rig.error(IdeRig.SECONDARY));
        assertEquals(0x14, rig.cpu.inb(IdeRig.SECONDARY + Ata.REG_LBA_MID));
        assertEquals(0xeb, rig.cpu.inb(IdeRig.SECONDARY + Ata.REG_LBA_HIGH));
    }

    @Test
    void readDma() {
        byte[] image = new byte[32 * 512];
        new Random(6).nextBytes(image);
        disk.put(4096L * 512, image);
        start();
        ata0.genericReset();
        ata0.loadPrd(PRD, BUFFER, image.length);

        FreeBsdAta.DmaResult r = ata0.readDma(FreeBsdAta.ATA_MASTER, 4096, 32, PRD);

        assertEquals(Ata.STATUS_DRDY | Ata.STATUS_DSC, r.status());
        assertEquals(0, r.dmastat() & BusMasterDma.STATUS_ERROR);
        assertEquals(BusMasterDma.STATUS_INTERRUPT, r.dmastat(), "INTERRUPT set, ACTIVE clear at completion");
        byte[] read = new byte[image.length];
        rig.ram().read(BUFFER, read, 0, read.length);
        assertArrayEquals(image, read);
        assertEquals(0, rig.bm(0, BusMasterDma.BM_STATUS) & 0x07);
    }

    @Test
    void cdReadsThroughThePacketProtocol() {
        start();
        ata1.genericReset();
        FreeBsdAta.AtapiResult tur = ata1.atapi(FreeBsdAta.ATA_MASTER, new byte[] {Mmc.TEST_UNIT_READY}, 0, 0, BUFFER);
        assertEquals(0, tur.status() & Ata.STATUS_ERR);

        FreeBsdAta.AtapiResult cap = ata1.atapi(FreeBsdAta.ATA_MASTER, new byte[] {Mmc.READ_CAPACITY}, 8, 8, BUFFER);
        assertEquals(8, cap.donecount());
        assertEquals(3999, Integer.reverseBytes((int) rig.ram().readValue(BUFFER, 4)), "last LBA, big-endian");
        assertEquals(2048, Integer.reverseBytes((int) rig.ram().readValue(BUFFER + 4, 4)), "block size");

        // cd(4) reads 4 blocks with a 16 KiB transfer size: one DRQ block of 8192 bytes per interrupt.
        byte[] read10 = {Mmc.READ_10, 0, 0, 0, 0, 30, 0, 0, 4, 0};
        FreeBsdAta.AtapiResult r = ata1.atapi(FreeBsdAta.ATA_MASTER, read10, 8192, 8192, BUFFER);
        assertEquals(0, r.status() & Ata.STATUS_ERR, "error " + r.error());
        assertEquals(8192, r.donecount());
        for (int block = 0; block < 4; block++) {
            byte[] b = new byte[2048];
            rig.ram().read(BUFFER + block * 2048L, b, 0, 2048);
            assertEquals(30 + block, ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(1024));
        }
    }

    @Test
    void cdReadBeyondTheEndIsAnIllegalRequest() {
        start();
        ata1.genericReset();
        byte[] read10 = {Mmc.READ_10, 0, 0, 0, 0x0f, (byte) 0xa0, 0, 0, 1, 0}; // LBA 4000 of 4000 blocks
        FreeBsdAta.AtapiResult r = ata1.atapi(FreeBsdAta.ATA_MASTER, read10, 2048, 2048, BUFFER);
        assertEquals(Ata.STATUS_ERR, r.status() & Ata.STATUS_ERR);
        assertEquals(Mmc.SENSE_ILLEGAL_REQUEST << 4, r.error());
    }
}
