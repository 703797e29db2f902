package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The CD-ROM drive at register level (secondary master, as libxl's hdc): the PACKET protocol's phases and byte
 * count limit, the SCSI commands installers and cd(4) send, medium change and the empty drive, and data through
 * the bus-master engine.
 */
class AtapiCdromTest {
    private static final int BASE = IdeRig.SECONDARY;
    private static final int IRQ = PiixIde.SECONDARY_IRQ;
    private static final long BLOCKS = 4000;
    private static final long PRD = 0x100000;
    private static final long BUFFER = 0x400000;

    private final IdeRig rig = new IdeRig();
    private AtapiCdrom cd;

    @AfterEach
    void nothingEscaped() {
        rig.assertNothingEscaped();
        rig.close();
    }

    private void start(MemoryDisk medium) {
        cd = new AtapiCdrom(medium);
        rig.attach(2, cd).start();
        rig.control(BASE, 0);
    }

    private void startWithDisc() {
        start(CdImages.elTorito(rig.engine.loop(), BLOCKS, new byte[0]));
    }

    /** What a PACKET command came back with. */
    record Reply(int status, int error, int interruptReason, byte[] data, List<Integer> blocks) {
        int senseKey() {
            return error >> 4;
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(data);
        }
    }

    /** PACKET by PIO: the byte count limit, the 12-byte CDB once DRQ and CoD show, then every data-in block. */
    private Reply packet(int byteCountLimit, int... cdb) {
        rig.cpu.outb(BASE + REG_FEATURES, 0);
        rig.cpu.outb(BASE + REG_LBA_MID, byteCountLimit & 0xff);
        rig.cpu.outb(BASE + REG_LBA_HIGH, byteCountLimit >> 8);
        rig.cpu.outb(BASE + REG_DEVICE, DEVICE_OBSOLETE_ONES);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_PACKET);
        assertEquals(STATUS_DRDY | STATUS_DSC | STATUS_DRQ, rig.altStatus(BASE), "DRQ for the packet at once");
        assertEquals(IREASON_COD, rig.cpu.inb(BASE + REG_SECTOR_COUNT) & 3, "Interrupt Reason: command out");
        assertFalse(rig.irq(IRQ), "no interrupt before the packet (DRQ within 50 µs)");
        byte[] packet = new byte[12];
        for (int i = 0; i < cdb.length; i++) {
            packet[i] = (byte) cdb[i];
        }
        rig.pioOut(BASE, packet);
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        List<Integer> blocks = new ArrayList<>();
        for (;;) {
            IdeRig.pollUntil("the packet's interrupt", () -> rig.irq(IRQ));
            int status = rig.status(BASE);
            int reason = rig.cpu.inb(BASE + REG_SECTOR_COUNT) & 3;
            if ((status & STATUS_DRQ) == 0) {
                return new Reply(status, rig.error(BASE), reason, data.toByteArray(), blocks);
            }
            assertEquals(IREASON_IO, reason, "data in");
            int length = rig.cpu.inb(BASE + REG_LBA_MID) | rig.cpu.inb(BASE + REG_LBA_HIGH) << 8;
            blocks.add(length);
            byte[] block = rig.pioIn(BASE, (length + 1) & ~1);
            data.write(block, 0, length);
        }
    }

    private static int[] read10(long lba, int count) {
        return new int[] {Mmc.READ_10, 0, (int) (lba >> 24) & 0xff, (int) (lba >> 16) & 0xff, (int) (lba >> 8) & 0xff,
            (int) lba & 0xff, 0, count >> 8, count & 0xff, 0};
    }

    private void assertGood(Reply r) {
        assertEquals(STATUS_DRDY | STATUS_DSC, r.status(), String.format("error %02x", r.error()));
        assertEquals(IREASON_IO | IREASON_COD, r.interruptReason(), "completion: IO and CoD");
    }

    private void assertCheckCondition(Reply r, int senseKey, int asc, int ascq) {
        assertEquals(STATUS_DRDY | STATUS_ERR, r.status());
        assertEquals(senseKey, r.senseKey());
        Reply sense = packet(18, Mmc.REQUEST_SENSE, 0, 0, 0, 18);
        assertGood(sense);
        assertEquals(0x70, sense.data()[0] & 0x7f);
        assertEquals(senseKey, sense.data()[2]);
        assertEquals(asc, sense.data()[12] & 0xff);
        assertEquals(ascq, sense.data()[13] & 0xff);
    }

    @Test
    void identifyPacketDeviceAndTheSignatureForIdentifyDevice() {
        startWithDisc();
        int[] id = rig.identify(BASE, 0, CMD_IDENTIFY_PACKET_DEVICE);
        assertEquals(0x85c0, id[0]);
        assertEquals(AtapiCdrom.MODEL, SeaBiosAta.model(id));
        assertEquals((1 << 9) | (1 << 8), id[49], "LBA and DMA");
        assertEquals("SD00003", new String(new char[] {(char) (id[10] >> 8), (char) (id[10] & 0xff),
            (char) (id[11] >> 8), (char) (id[11] & 0xff), (char) (id[12] >> 8), (char) (id[12] & 0xff),
            (char) (id[13] >> 8)}), "serial from -drive index 2");

        rig.cpu.outb(BASE + REG_COMMAND, CMD_IDENTIFY_DEVICE);
        assertEquals(STATUS_DRDY | STATUS_ERR, rig.status(BASE));
        assertEquals(ERROR_ABRT, rig.error(BASE));
        assertEquals(0x14, rig.cpu.inb(BASE + REG_LBA_MID));
        assertEquals(0xeb, rig.cpu.inb(BASE + REG_LBA_HIGH));
    }

    @Test
    void inquiryAndUnknownOpcodes() {
        startWithDisc();
        Reply inquiry = packet(96, Mmc.INQUIRY, 0, 0, 0, 96);
        assertGood(inquiry);
        assertEquals(36, inquiry.data().length);
        assertEquals(Mmc.PERIPHERAL_DEVICE_TYPE_CDROM, inquiry.data()[0]);
        assertEquals((byte) 0x80, inquiry.data()[1], "removable");
        assertEquals("STUBDM  STUBDM DVD-ROM  0.1 ", new String(inquiry.data(), 8, 28));
        assertCheckCondition(packet(96, Mmc.INQUIRY, 1, 0, 0, 96), Mmc.SENSE_ILLEGAL_REQUEST,
                Mmc.ASC_INVALID_FIELD_IN_CDB, 0);
        assertCheckCondition(packet(0, 0xff), Mmc.SENSE_ILLEGAL_REQUEST, Mmc.ASC_INVALID_COMMAND_OPERATION_CODE, 0);
    }

    @Test
    void theByteCountLimitSplitsDataIntoEvenDrqBlocks() {
        startWithDisc();
        Reply r = packet(1000, read10(30, 2));
        assertGood(r);
        assertEquals(List.of(1000, 1000, 1000, 1000, 96), r.blocks());
        assertEquals(30, r.buffer().order(ByteOrder.LITTLE_ENDIAN).getInt(0));
        assertEquals(31, r.buffer().order(ByteOrder.LITTLE_ENDIAN).getInt(2048));

        Reply odd = packet(999, read10(30, 1));
        assertEquals(List.of(998, 998, 52), odd.blocks(), "an odd limit gives even blocks but the last");
        assertArrayEquals(CdImages.numbered(30), odd.data());

        Reply sense = packet(7, Mmc.REQUEST_SENSE, 0, 0, 0, 18);
        assertEquals(List.of(6, 6, 6), sense.blocks());
    }

    @Test
    void readCapacityAndReadsPastTheEnd() {
        startWithDisc();
        Reply capacity = packet(8, Mmc.READ_CAPACITY);
        assertGood(capacity);
        assertEquals(BLOCKS - 1, capacity.buffer().getInt(0));
        assertEquals(2048, capacity.buffer().getInt(4));
        assertCheckCondition(packet(2048, read10(BLOCKS - 1, 2)), Mmc.SENSE_ILLEGAL_REQUEST,
                Mmc.ASC_LBA_OUT_OF_RANGE, 0);
        assertGood(packet(2048, read10(BLOCKS - 1, 0)));
        Reply read12 = packet(2048, Mmc.READ_12, 0, 0, 0, 0, 40, 0, 0, 0, 1, 0);
        assertArrayEquals(CdImages.numbered(40), read12.data());
    }

    @Test
    void readTocInTheThreeFormats() {
        startWithDisc();
        ByteBuffer toc = packet(100, Mmc.READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 0, 0, 100, 0).buffer();
        assertEquals(18, toc.getShort(0), "two descriptors");
        assertEquals(1, toc.get(2));
        assertEquals(1, toc.get(3));
        assertEquals(0x14, toc.get(5));
        assertEquals(1, toc.get(6));
        assertEquals(0, toc.getInt(8), "track 1 at LBA 0");
        assertEquals((byte) 0xaa, toc.get(14));
        assertEquals(BLOCKS, toc.getInt(16), "lead-out");

        ByteBuffer msf = packet(100, Mmc.READ_TOC_PMA_ATIP, 0x02, 0, 0, 0, 0, 0, 0, 100, 0).buffer();
        assertArrayEquals(new byte[] {0, 0, 2, 0}, new byte[] {msf.get(8), msf.get(9), msf.get(10), msf.get(11)},
                "00:02:00");
        long frames = BLOCKS + 150;
        assertArrayEquals(new byte[] {0, (byte) (frames / 4500), (byte) (frames / 75 % 60), (byte) (frames % 75)},
                new byte[] {msf.get(16), msf.get(17), msf.get(18), msf.get(19)});

        ByteBuffer leadOutOnly = packet(100, Mmc.READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 0xaa, 0, 100, 0).buffer();
        assertEquals(10, leadOutOnly.getShort(0));

        ByteBuffer session = packet(100, Mmc.READ_TOC_PMA_ATIP, 0, 1, 0, 0, 0, 0, 0, 12, 0).buffer();
        assertEquals(10, session.getShort(0));
        assertEquals(1, session.get(6), "first track of the last session");

        // Format 2 the MMC way (byte 2) and the SFF-8020i way (byte 9, bits 7:6).
        for (int[] cdb : new int[][] {{Mmc.READ_TOC_PMA_ATIP, 0x02, 2, 0, 0, 0, 0, 0, 100, 0},
            {Mmc.READ_TOC_PMA_ATIP, 0x02, 0, 0, 0, 0, 0, 0, 100, 0x80}}) {
            ByteBuffer full = packet(100, cdb).buffer();
            assertEquals(2 + 4 * 11, full.getShort(0));
            assertEquals((byte) 0xa0, full.get(7));
            assertEquals((byte) 0xa2, full.get(4 + 2 * 11 + 3));
            assertEquals((byte) (frames / 4500), full.get(4 + 2 * 11 + 8), "lead-out minute");
        }
        assertCheckCondition(packet(100, Mmc.READ_TOC_PMA_ATIP, 0, 5, 0, 0, 0, 0, 0, 100, 0),
                Mmc.SENSE_ILLEGAL_REQUEST, Mmc.ASC_INVALID_FIELD_IN_CDB, 0);
    }

    @Test
    void modeSensePages() {
        startWithDisc();
        ByteBuffer caps = packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 255, 0).buffer();
        assertEquals(30 - 2, caps.getShort(0));
        assertEquals(0x2a, caps.get(8));
        assertEquals(20, caps.get(9));
        assertEquals(0x29, caps.get(14) & 0xff, "tray, eject, lock supported, not locked");
        ByteBuffer errors = packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0x01, 0, 0, 0, 0, 0, 255, 0).buffer();
        assertEquals(0x01, errors.get(8));
        ByteBuffer all = packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0x3f, 0, 0, 0, 0, 0, 255, 0).buffer();
        assertEquals(8 + 12 + 16 + 22 - 2, all.getShort(0));
        assertEquals(8, packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 8, 0).data().length,
                "cut to the allocation length");
        assertCheckCondition(packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0xea, 0, 0, 0, 0, 0, 255, 0),
                Mmc.SENSE_ILLEGAL_REQUEST, Mmc.ASC_SAVING_PARAMETERS_NOT_SUPPORTED, 0);
        assertCheckCondition(packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0x05, 0, 0, 0, 0, 0, 255, 0),
                Mmc.SENSE_ILLEGAL_REQUEST, Mmc.ASC_INVALID_FIELD_IN_CDB, 0);
    }

    @Test
    void getConfigurationNamesTheCurrentProfile() {
        start(rig.disk(BLOCKS * 2048));
        ByteBuffer all = packet(0xfffe, Mmc.GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 255, 0).buffer();
        assertEquals(Mmc.PROFILE_CD_ROM, all.getShort(6));
        assertEquals(8 + 12 + 8 + 8 - 4, all.getInt(0), "profile list, core, removable medium");
        assertEquals(Mmc.PROFILE_DVD_ROM, all.getShort(12));
        assertEquals(1, all.get(18), "CD-ROM is the current profile");
        ByteBuffer core = packet(0xfffe, Mmc.GET_CONFIGURATION, 2, 0, 1, 0, 0, 0, 0, 255, 0).buffer();
        assertEquals(8 + 8 - 4, core.getInt(0), "request type 2: the core feature alone");
        assertEquals(Mmc.FEATURE_CORE, core.getShort(8));

        rig.engine.onLoop(() -> cd.changeMedium(rig.disk(4_000_000L * 2048)));
        ByteBuffer dvd = packet(0xfffe, Mmc.GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 255, 0).buffer();
        assertEquals(Mmc.PROFILE_DVD_ROM, dvd.getShort(6));
        rig.engine.onLoop(() -> cd.changeMedium(null));
        assertEquals(Mmc.PROFILE_NONE, packet(0xfffe, Mmc.GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 255, 0)
                .buffer().getShort(6));
    }

    @Test
    void aMediumChangeShowsOnceAsGoneThenAsUnitAttention() {
        startWithDisc();
        assertGood(packet(0, Mmc.TEST_UNIT_READY));
        MemoryDisk old = (MemoryDisk) null;
        MemoryDisk next = CdImages.elTorito(rig.engine.loop(), 100, new byte[0]);
        rig.engine.onLoop(() -> cd.changeMedium(next));

        ByteBuffer event = packet(8, Mmc.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 1 << 4, 0, 0, 0, 8, 0).buffer();
        assertEquals(Mmc.MEDIA_EVENT_MEDIA_REMOVAL, event.get(4), "polled events: the old disc went");
        event = packet(8, Mmc.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 1 << 4, 0, 0, 0, 8, 0).buffer();
        assertEquals(Mmc.MEDIA_EVENT_NEW_MEDIA, event.get(4), "then a new one came");
        assertEquals(Mmc.MEDIA_STATUS_PRESENT, event.get(5));
        event = packet(8, Mmc.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 1 << 4, 0, 0, 0, 8, 0).buffer();
        assertEquals(Mmc.MEDIA_EVENT_NO_CHANGE, event.get(4));

        assertCheckCondition(packet(0, Mmc.TEST_UNIT_READY), Mmc.SENSE_NOT_READY, Mmc.ASC_MEDIUM_NOT_PRESENT, 1);
        Reply attention = packet(0, Mmc.TEST_UNIT_READY);
        assertEquals(Mmc.SENSE_UNIT_ATTENTION, attention.senseKey());
        assertEquals(Mmc.SENSE_UNIT_ATTENTION, packet(8, Mmc.READ_CAPACITY).senseKey(), "until REQUEST SENSE");
        assertGood(packet(96, Mmc.INQUIRY, 0, 0, 0, 36)); // allowed under UNIT ATTENTION
        Reply sense = packet(18, Mmc.REQUEST_SENSE, 0, 0, 0, 18);
        assertEquals(Mmc.SENSE_UNIT_ATTENTION, sense.data()[2]);
        assertEquals(Mmc.ASC_MEDIUM_MAY_HAVE_CHANGED, sense.data()[12]);
        assertGood(packet(0, Mmc.TEST_UNIT_READY));
        assertEquals(99, packet(8, Mmc.READ_CAPACITY).buffer().getInt(0), "the new disc");
        assertEquals(Mmc.SENSE_NO_SENSE, packet(18, Mmc.REQUEST_SENSE, 0, 0, 0, 18).data()[2]);
        assertNull(old);
    }

    @Test
    void theOldMediumIsClosedOnceItsReadsAreDone() {
        MemoryDisk first = CdImages.elTorito(rig.engine.loop(), BLOCKS, new byte[0]);
        start(first);
        first.delay(100);
        rig.cpu.outb(BASE + REG_FEATURES, 0);
        rig.cpu.outb(BASE + REG_LBA_MID, 0);
        rig.cpu.outb(BASE + REG_LBA_HIGH, 8);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_PACKET);
        byte[] packet = new byte[12];
        int[] cdb = read10(0, 1);
        for (int i = 0; i < cdb.length; i++) {
            packet[i] = (byte) cdb[i];
        }
        rig.pioOut(BASE, packet);
        rig.engine.onLoop(() -> cd.changeMedium(null));
        assertFalse(first.closed(), "a read of it is in flight");
        IdeRig.pollUntil("the old medium to close", first::closed);
        assertEquals(0, first.inFlight());
    }

    @Test
    void anEmptyDriveIsNotReadyButAnswersInquiry() {
        start(null);
        assertCheckCondition(packet(0, Mmc.TEST_UNIT_READY), Mmc.SENSE_NOT_READY, Mmc.ASC_MEDIUM_NOT_PRESENT, 1);
        assertCheckCondition(packet(8, Mmc.READ_CAPACITY), Mmc.SENSE_NOT_READY, Mmc.ASC_MEDIUM_NOT_PRESENT, 1);
        assertCheckCondition(packet(2048, read10(0, 1)), Mmc.SENSE_NOT_READY, Mmc.ASC_MEDIUM_NOT_PRESENT, 1);
        assertGood(packet(96, Mmc.INQUIRY, 0, 0, 0, 36));
        ByteBuffer event = packet(8, Mmc.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 1 << 4, 0, 0, 0, 8, 0).buffer();
        assertEquals(0, event.get(5), "no medium, tray closed");
        assertEquals(Mmc.MEDIUM_TYPE_NO_DISC,
                packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 255, 0).data()[2]);
    }

    @Test
    void ejectHonoursPreventAllow() {
        startWithDisc();
        assertGood(packet(0, Mmc.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1));
        assertEquals(0x2b, packet(0xfffe, Mmc.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 255, 0).data()[14],
                "capabilities page: locked");
        assertCheckCondition(packet(0, Mmc.START_STOP_UNIT, 0, 0, 0, 0x02), Mmc.SENSE_ILLEGAL_REQUEST,
                Mmc.ASC_MEDIUM_REMOVAL_PREVENTED, Mmc.ASCQ_REMOVAL_PREVENTED);
        assertGood(packet(0, Mmc.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 0));
        assertGood(packet(0, Mmc.START_STOP_UNIT, 0, 0, 0, 0x02));
        assertFalse(cd.mediumPresent());
        assertCheckCondition(packet(0, Mmc.TEST_UNIT_READY), Mmc.SENSE_NOT_READY, Mmc.ASC_MEDIUM_NOT_PRESENT, 2);
        ByteBuffer event = packet(8, Mmc.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 1 << 4, 0, 0, 0, 8, 0).buffer();
        assertEquals(Mmc.MEDIA_EVENT_MEDIA_REMOVAL, event.get(4));
        assertEquals(Mmc.MEDIA_STATUS_TRAY_OPEN, event.get(5));
        assertEquals(0x10, packet(8, Mmc.MECHANISM_STATUS, 0, 0, 0, 0, 0, 0, 0, 0, 8).data()[1], "door open");
        assertGood(packet(0, Mmc.START_STOP_UNIT, 0, 0, 0, 0x03));
        assertGood(packet(0, Mmc.TEST_UNIT_READY));
    }

    @Test
    void dataThroughTheBusMasterEngine() {
        startWithDisc();
        rig.prd(PRD, BUFFER, 3 * 2048);
        rig.cpu.outl(IdeRig.BMIBA + 8 + BusMasterDma.BM_PRD_TABLE, PRD);
        rig.cpu.outb(BASE + REG_FEATURES, PACKET_FEATURE_DMA);
        rig.cpu.outb(BASE + REG_DEVICE, DEVICE_OBSOLETE_ONES);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_PACKET);
        byte[] packet = new byte[12];
        int[] cdb = read10(7, 3);
        for (int i = 0; i < cdb.length; i++) {
            packet[i] = (byte) cdb[i];
        }
        rig.pioOut(BASE, packet);
        rig.bmWrite(1, BusMasterDma.BM_COMMAND, BusMasterDma.COMMAND_TO_MEMORY | BusMasterDma.COMMAND_START);
        IdeRig.pollUntil("the DMA interrupt", () -> rig.irq(IRQ));
        assertEquals(BusMasterDma.STATUS_INTERRUPT, rig.bm(1, BusMasterDma.BM_STATUS));
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE));
        assertEquals(IREASON_IO | IREASON_COD, rig.cpu.inb(BASE + REG_SECTOR_COUNT) & 3);
        for (int i = 0; i < 3; i++) {
            byte[] block = new byte[2048];
            rig.ram().read(BUFFER + 2048L * i, block, 0, 2048);
            assertArrayEquals(CdImages.numbered(7 + i), block);
        }
        rig.bmWrite(1, BusMasterDma.BM_COMMAND, 0);
        rig.bmWrite(1, BusMasterDma.BM_STATUS, BusMasterDma.STATUS_INTERRUPT);

        // A command's reply goes the same way.
        rig.cpu.outb(BASE + REG_FEATURES, PACKET_FEATURE_DMA);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_PACKET);
        rig.pioOut(BASE, new byte[] {Mmc.INQUIRY, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0});
        rig.bmWrite(1, BusMasterDma.BM_COMMAND, BusMasterDma.COMMAND_TO_MEMORY | BusMasterDma.COMMAND_START);
        IdeRig.pollUntil("the DMA interrupt", () -> rig.irq(IRQ));
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE));
        byte[] inquiry = new byte[36];
        rig.ram().read(BUFFER, inquiry, 0, 36);
        assertEquals("STUBDM", new String(inquiry, 8, 6));
    }

    @Test
    void deviceResetIsTakenEvenInTheMiddleOfAPacket() {
        startWithDisc();
        rig.cpu.outb(BASE + REG_LBA_MID, 0);
        rig.cpu.outb(BASE + REG_LBA_HIGH, 8);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_PACKET);
        assertEquals(STATUS_DRQ, rig.status(BASE) & STATUS_DRQ);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_IDENTIFY_PACKET_DEVICE);
        assertEquals(STATUS_DRQ, rig.status(BASE) & STATUS_DRQ, "other commands are ignored while DRQ is set");
        rig.cpu.outb(BASE + REG_COMMAND, CMD_DEVICE_RESET);
        assertEquals(0, rig.altStatus(BASE), "PACKET devices reset to a clear status, without an interrupt");
        assertFalse(rig.irq(IRQ));
        assertEquals(DIAGNOSTIC_PASSED, rig.error(BASE));
        assertEquals(0x14, rig.cpu.inb(BASE + REG_LBA_MID));
        assertEquals(0xeb, rig.cpu.inb(BASE + REG_LBA_HIGH));
        assertGood(packet(0, Mmc.TEST_UNIT_READY));
    }

    @Test
    void overlappedPacketsAreRefused() {
        startWithDisc();
        rig.cpu.outb(BASE + REG_FEATURES, PACKET_FEATURE_OVERLAP);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_PACKET);
        assertEquals(STATUS_DRDY | STATUS_ERR, rig.status(BASE));
        assertEquals(ERROR_ABRT, rig.error(BASE));
    }
}
