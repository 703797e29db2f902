package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.LinuxAtaPiix.DevClass.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Linux's ata_piix against the controller: the port enable check, softreset and classification, the polled
 * IDENTIFY with 32-bit data reads, and interrupt-driven bus-master DMA reads and writes, LBA48 included.
 */
class LinuxAtaPiixTest {
    private static final long PRD = 0x100000;
    private static final long BUFFER = 0x400000;

    private final IdeRig rig = new IdeRig();
    private final MemoryDisk disk = rig.disk(256L << 30); // sparse: 256 GiB
    private final LinuxAtaPiix primary =
            new LinuxAtaPiix(rig.cpu, rig.ram(), 0, IdeRig.BMIBA, () -> rig.irq(PiixIde.PRIMARY_IRQ));
    private final LinuxAtaPiix secondary =
            new LinuxAtaPiix(rig.cpu, rig.ram(), 1, IdeRig.BMIBA, () -> rig.irq(PiixIde.SECONDARY_IRQ));

    @AfterEach
    void nothingEscaped() {
        rig.assertNothingEscaped();
        rig.close();
    }

    private void start() {
        rig.attach(0, new AtaDisk(disk, true)).attach(2, new AtapiCdrom(rig.disk(100 * 2048))).start();
    }

    @Test
    void probeClassifiesTheDiskAndTheCdrom() {
        start();
        assertTrue(primary.portEnabled(rig::cfgRead), "hvmloader set IDETIM decode enable");
        assertTrue(secondary.portEnabled(rig::cfgRead));
        LinuxAtaPiix.DevClass[] first = primary.softreset();
        LinuxAtaPiix.DevClass[] second = secondary.softreset();
        assertEquals(ATA, first[0]);
        assertEquals(ATAPI, second[0]);
        // The missing slaves pass devchk and fail diagnostics, so libata tries them as ATA; like on QEMU, the
        // polled IDENTIFY then finds no data phase and the device is dropped (AC_ERR_NODEV_HINT).
        assertEquals(ATA, first[1]);
        assertEquals(-1, primary.identify(1, LinuxAtaPiix.ATA_CMD_ID_ATA, BUFFER));
        assertEquals(0, rig.status(IdeRig.PRIMARY));
    }

    @Test
    void probeOfAChannelWithoutDrivesFindsNothing() {
        rig.attach(0, new AtaDisk(disk, true)).start();
        assertArrayEquals(new LinuxAtaPiix.DevClass[] {NONE, NONE}, secondary.softreset());
    }

    @Test
    void identifyReadsWith32BitAccesses() {
        start();
        primary.softreset();
        int status = primary.identify(0, LinuxAtaPiix.ATA_CMD_ID_ATA, BUFFER);
        assertEquals(Ata.STATUS_DRDY | Ata.STATUS_DSC, status);
        byte[] data = new byte[512];
        rig.ram().read(BUFFER, data, 0, 512);
        int[] id = LinuxAtaPiix.words(data);
        assertEquals(AtaDisk.MODEL, SeaBiosAta.model(id));
        assertEquals(0x0fff_ffff, id[60] | id[61] << 16, "LBA28 capacity capped below 2^28 sectors");
        assertEquals((256L << 30) / 512, (long) id[100] | (long) id[101] << 16 | (long) id[102] << 32);
        assertEquals(1 << 10, id[83] & (1 << 10), "LBA48");
        assertEquals(0x203f, id[88], "UDMA 0-5, mode 5 selected");
        assertEquals(0x6001, id[93], "80-conductor cable");

        assertEquals(Ata.STATUS_DRDY | Ata.STATUS_DSC,
                secondary.identify(0, LinuxAtaPiix.ATA_CMD_ID_ATAPI, BUFFER));
    }

    @Test
    void dmaReadAcrossA64KiBBoundaryRaisesOneInterruptAndClears() {
        byte[] image = new byte[128 * 512];
        new Random(3).nextBytes(image);
        disk.put(2048L * 512, image);
        start();
        primary.softreset();
        long buffer = BUFFER + 0xc000; // crosses 64 KiB boundaries: three PRD entries
        primary.fillSg(PRD, buffer, image.length);
        List<Integer> levelsBefore = rig.irqLevels(PiixIde.PRIMARY_IRQ);

        LinuxAtaPiix.DmaResult r = primary.dma(0, Ata.CMD_READ_DMA, 2048, 128, false, false, PRD);

        assertTrue(r.ok(), r.toString());
        byte[] read = new byte[image.length];
        rig.ram().read(buffer, read, 0, read.length);
        assertArrayEquals(image, read);
        assertFalse(rig.irq(PiixIde.PRIMARY_IRQ), "reading Status lowered the line");
        assertEquals(0, rig.bm(0, BusMasterDma.BM_STATUS) & 0x07, "irq_clear cleared INTERRUPT; ACTIVE is off");
        List<Integer> levels = rig.irqLevels(PiixIde.PRIMARY_IRQ);
        assertEquals(List.of(1, 0), levels.subList(levelsBefore.size(), levels.size()));
    }

    @Test
    void dmaWriteThenReadBack() {
        start();
        primary.softreset();
        byte[] data = new byte[16 * 512];
        new Random(4).nextBytes(data);
        rig.ram().write(BUFFER, data, 0, data.length);
        primary.fillSg(PRD, BUFFER, data.length);

        assertTrue(primary.dma(0, Ata.CMD_WRITE_DMA, 77, 16, true, false, PRD).ok());
        assertArrayEquals(data, disk.get(77L * 512, data.length));

        rig.ram().write(BUFFER, new byte[data.length], 0, data.length);
        assertTrue(primary.dma(0, Ata.CMD_READ_DMA, 77, 16, false, false, PRD).ok());
        byte[] read = new byte[data.length];
        rig.ram().read(BUFFER, read, 0, read.length);
        assertArrayEquals(data, read);
    }

    @Test
    void lba48DmaBeyond128GiB() {
        long lba = (155L << 30) / 512 + 7; // 155 GiB in: past LBA28 and past 128 GiB
        byte[] data = new byte[8 * 512];
        new Random(5).nextBytes(data);
        start();
        primary.softreset();
        rig.ram().write(BUFFER, data, 0, data.length);
        primary.fillSg(PRD, BUFFER, data.length);

        assertTrue(primary.dma(0, Ata.CMD_WRITE_DMA_EXT, lba, 8, true, true, PRD).ok());
        assertArrayEquals(data, disk.get(lba * 512, data.length));
        assertTrue(lba * 512 > 128L << 30);

        rig.ram().write(BUFFER, new byte[data.length], 0, data.length);
        assertTrue(primary.dma(0, Ata.CMD_READ_DMA_EXT, lba, 8, false, true, PRD).ok());
        byte[] read = new byte[data.length];
        rig.ram().read(BUFFER, read, 0, read.length);
        assertArrayEquals(data, read);
    }
}
