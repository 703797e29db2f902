package io.stubdm.devices.ide;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A hostile or confused guest: random values of random widths to every task-file, control and bus-master
 * register of both channels, random reads, random data-port traffic, mixed with commands and packets that are
 * nearly right so that PIO, DMA and ATAPI paths really run and get interrupted. Nothing may escape into the
 * device loop or the dispatcher, and afterwards a software reset and IDENTIFY must work as on a fresh
 * controller.
 */
class IdeGarbageTest {
    private static final int[] PORT_BASES = {IdeRig.PRIMARY, IdeRig.SECONDARY};
    private static final int[] CONTROL_PORTS = {IdeRig.PRIMARY_CONTROL, IdeRig.SECONDARY_CONTROL};
    private static final int[] COMMANDS = {
        Ata.CMD_READ_SECTORS, Ata.CMD_READ_SECTORS_EXT, Ata.CMD_READ_DMA_EXT, Ata.CMD_READ_MULTIPLE_EXT,
        Ata.CMD_WRITE_SECTORS, Ata.CMD_WRITE_SECTORS_EXT, Ata.CMD_WRITE_DMA_EXT, Ata.CMD_WRITE_MULTIPLE_EXT,
        Ata.CMD_READ_MULTIPLE, Ata.CMD_WRITE_MULTIPLE, Ata.CMD_SET_MULTIPLE_MODE, Ata.CMD_READ_DMA, Ata.CMD_WRITE_DMA,
        Ata.CMD_FLUSH_CACHE, Ata.CMD_FLUSH_CACHE_EXT, Ata.CMD_IDENTIFY_DEVICE, Ata.CMD_IDENTIFY_PACKET_DEVICE,
        Ata.CMD_PACKET, Ata.CMD_PACKET, Ata.CMD_PACKET, Ata.CMD_INITIALIZE_DEVICE_PARAMETERS, Ata.CMD_SET_FEATURES,
        Ata.CMD_READ_VERIFY_SECTORS, Ata.CMD_READ_NATIVE_MAX_ADDRESS, Ata.CMD_READ_NATIVE_MAX_ADDRESS_EXT,
        Ata.CMD_EXECUTE_DEVICE_DIAGNOSTIC, Ata.CMD_DEVICE_RESET, Ata.CMD_CHECK_POWER_MODE};
    private static final int[] OPCODES = {
        Mmc.TEST_UNIT_READY, Mmc.REQUEST_SENSE, Mmc.INQUIRY, Mmc.START_STOP_UNIT, Mmc.PREVENT_ALLOW_MEDIUM_REMOVAL,
        Mmc.READ_CAPACITY, Mmc.READ_10, Mmc.READ_12, Mmc.SEEK_10, Mmc.READ_TOC_PMA_ATIP, Mmc.GET_CONFIGURATION,
        Mmc.GET_EVENT_STATUS_NOTIFICATION, Mmc.READ_DISC_INFORMATION, Mmc.MODE_SENSE_10, Mmc.SET_CD_SPEED,
        Mmc.MECHANISM_STATUS, Mmc.READ_CD, 0xff};
    private static final long TABLES = 0x1000;
    private static final long DATA = 0x500000;

    private final IdeRig rig = new IdeRig();
    private final Random random = new Random(0x1de);
    private final MemoryDisk disk = rig.disk(8L << 20);
    private final MemoryDisk cdImage = rig.disk(4L << 20);

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void garbageLeavesTheControllerConsistent() {
        rig.attach(0, new AtaDisk(disk, true)).attach(1, new AtapiCdrom(cdImage))
                .attach(2, new AtaDisk(rig.readOnlyDisk(1 << 20), false)).start();
        // PRD tables that point into RAM (and now and then past it), so that garbage DMA moves data.
        for (long at = 0; at < 4096; at += 8) {
            long address = random.nextInt(20) == 0 ? 0xf000_0000L : DATA + at * 16;
            rig.ram().writeValue(TABLES + at, 4, address);
            rig.ram().writeValue(TABLES + at + 4, 4, random.nextInt(0x10000) | (random.nextInt(4) == 0 ? 1L << 31 : 0));
        }
        byte[] noise = new byte[1 << 20];
        random.nextBytes(noise);
        rig.ram().write(DATA, noise, 0, noise.length);

        for (int i = 0; i < 20_000; i++) {
            switch (random.nextInt(10)) {
                case 0, 1 -> nearlyRightCommand();
                case 2 -> dataBurst();
                case 3 -> startEngine();
                default -> garbageAccess();
            }
        }
        rig.assertNothingEscaped();
        assertTrue(disk.log().stream().anyMatch(e -> e.startsWith("done read")), "garbage reached the disk");
        assertTrue(disk.log().stream().anyMatch(e -> e.startsWith("done write")));
        assertTrue(cdImage.log().stream().anyMatch(e -> e.startsWith("done read")), "and the CD");

        for (int channel = 0; channel < 2; channel++) {
            int base = PORT_BASES[channel];
            rig.bmWrite(channel, BusMasterDma.BM_COMMAND, 0);
            rig.control(base, Ata.CONTROL_SRST | Ata.CONTROL_NIEN);
            rig.control(base, Ata.CONTROL_NIEN);
            rig.waitNotBusy(base);
        }
        assertEquals(AtaDisk.MODEL, SeaBiosAta.model(rig.identify(IdeRig.PRIMARY, 0, Ata.CMD_IDENTIFY_DEVICE)));
        assertEquals(AtapiCdrom.MODEL,
                SeaBiosAta.model(rig.identify(IdeRig.PRIMARY, 1, Ata.CMD_IDENTIFY_PACKET_DEVICE)));
        assertEquals(AtaDisk.MODEL, SeaBiosAta.model(rig.identify(IdeRig.SECONDARY, 0, Ata.CMD_IDENTIFY_DEVICE)));
        rig.command28(IdeRig.PRIMARY, 0, Ata.CMD_READ_SECTORS, 1, 1, 0);
        assertEquals(Ata.STATUS_DRDY | Ata.STATUS_DSC | Ata.STATUS_DRQ, rig.waitNotBusy(IdeRig.PRIMARY));
        assertArrayEquals(disk.get(512, 512), rig.pioIn(IdeRig.PRIMARY, 512));
        rig.assertNothingEscaped();
    }

    /** Any width, any value, any register; reads as often as writes. */
    private void garbageAccess() {
        int size = new int[] {1, 1, 1, 2, 4}[random.nextInt(5)];
        int port = switch (random.nextInt(4)) {
            case 0 -> CONTROL_PORTS[random.nextInt(2)];
            case 1 -> IdeRig.BMIBA + random.nextInt(16);
            default -> PORT_BASES[random.nextInt(2)] + random.nextInt(8);
        };
        if (port % size != 0) {
            size = 1;
        }
        if (random.nextBoolean()) {
            rig.cpu.in(port, size);
        } else {
            rig.cpu.out(port, size, random.nextLong() & 0xffff_ffffL);
        }
    }

    /** A real command code with an address and count that mostly fit the disk. */
    private void nearlyRightCommand() {
        int base = PORT_BASES[random.nextInt(2)];
        long lba = random.nextInt(20_000);
        rig.cpu.outb(base + Ata.REG_FEATURES, random.nextInt(4));
        rig.cpu.outb(base + Ata.REG_SECTOR_COUNT, random.nextInt(9));
        rig.cpu.outb(base + Ata.REG_LBA_LOW, (int) lba & 0xff);
        rig.cpu.outb(base + Ata.REG_LBA_MID, random.nextInt(8) == 0 ? 0 : (int) (lba >> 8) & 0xff);
        rig.cpu.outb(base + Ata.REG_LBA_HIGH, random.nextInt(8) == 0 ? 8 : 0);
        rig.cpu.outb(base + Ata.REG_DEVICE, 0xe0 | random.nextInt(2) << 4);
        rig.cpu.outb(base + Ata.REG_COMMAND, COMMANDS[random.nextInt(COMMANDS.length)]);
    }

    /** Data-port traffic: a plausible CDB, or a run of words in or out. */
    private void dataBurst() {
        int base = PORT_BASES[random.nextInt(2)];
        long at = DATA + random.nextInt(0xf0000);
        switch (random.nextInt(3)) {
            case 0 -> {
                byte[] cdb = new byte[12];
                random.nextBytes(cdb);
                cdb[0] = (byte) OPCODES[random.nextInt(OPCODES.length)];
                // A block address and count the disc has, for the reads among them.
                cdb[2] = 0;
                cdb[3] = 0;
                cdb[4] = 0;
                cdb[6] = 0;
                cdb[7] = 0;
                cdb[8] = (byte) (1 + random.nextInt(4));
                rig.ram().write(at, cdb, 0, 12);
                rig.cpu.outs(base, 2, at, 6, false);
            }
            case 1 -> rig.cpu.outs(base, random.nextBoolean() ? 2 : 4, at, 1 + random.nextInt(512), false);
            default -> rig.cpu.ins(base, random.nextBoolean() ? 2 : 4, at, 1 + random.nextInt(512), false);
        }
    }

    /** The bus-master engine pointed at one of the prepared tables, started, stopped or left alone. */
    private void startEngine() {
        int channel = random.nextInt(2);
        rig.cpu.outl(IdeRig.BMIBA + 8 * channel + BusMasterDma.BM_PRD_TABLE, TABLES + 8 * random.nextInt(256));
        rig.bmWrite(channel, BusMasterDma.BM_COMMAND, random.nextInt(2) | (random.nextBoolean() ? 0x08 : 0));
    }
}
