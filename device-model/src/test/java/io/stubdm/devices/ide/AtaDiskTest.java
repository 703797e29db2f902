package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.backends.block.BlockBackend.BlockError;
import io.stubdm.ioreq.BusDevice;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The ATA disk's command set at register level on the primary channel: errors, read-only disks, the write
 * cache and FLUSH CACHE ordering, CHS addressing, READ/WRITE MULTIPLE, the interrupt rules, and a slow backend
 * that must not hold up the device loop.
 */
class AtaDiskTest {
    private static final int BASE = IdeRig.PRIMARY;
    private static final long DISK_BYTES = 16L << 20;
    private static final long PRD = 0x100000;
    private static final long BUFFER = 0x400000;

    private final IdeRig rig = new IdeRig();
    private final MemoryDisk disk = rig.disk(DISK_BYTES);

    @AfterEach
    void nothingEscaped() {
        rig.assertNothingEscaped();
        rig.close();
    }

    private IdeRig startWith(AtaDisk drive) {
        return rig.attach(0, drive).start();
    }

    private int[] identify() {
        return rig.identify(BASE, 0, CMD_IDENTIFY_DEVICE);
    }

    @Test
    void anAddressPastTheEndFailsWithIdnf() {
        startWith(new AtaDisk(disk, true));
        rig.command28(BASE, 0, CMD_READ_SECTORS, DISK_BYTES / 512 - 1, 2, 0);
        int status = rig.waitNotBusy(BASE);
        assertEquals(STATUS_DRDY | STATUS_ERR, status);
        assertEquals(ERROR_IDNF, rig.error(BASE));
        assertTrue(rig.irq(14));
        assertEquals(List.of(), disk.log(), "nothing reached the backend");

        rig.command48(BASE, 0, CMD_READ_DMA_EXT, 1L << 40, 1);
        assertEquals(STATUS_DRDY | STATUS_ERR, rig.waitNotBusy(BASE));
        assertEquals(ERROR_IDNF, rig.error(BASE));
    }

    @Test
    void unknownCommandsAbort() {
        startWith(new AtaDisk(disk, true));
        for (int command : new int[] {CMD_NOP, CMD_PACKET, CMD_IDENTIFY_PACKET_DEVICE, CMD_DEVICE_RESET, 0xb0, 0xff}) {
            rig.select(BASE, 0);
            rig.cpu.outb(BASE + REG_COMMAND, command);
            assertEquals(STATUS_DRDY | STATUS_ERR, rig.status(BASE), Integer.toHexString(command));
            assertEquals(ERROR_ABRT, rig.error(BASE));
        }
        assertEquals(AtaDisk.MODEL, SeaBiosAta.model(identify()), "and the disk still works");
    }

    @Test
    void aReadOnlyDiskRefusesWritesBeforeAnyDataMoves() {
        MemoryDisk readOnly = rig.readOnlyDisk(DISK_BYTES);
        readOnly.put(0, new byte[] {1, 2, 3, 4});
        startWith(new AtaDisk(readOnly, true));
        for (int command : new int[] {CMD_WRITE_SECTORS, CMD_WRITE_MULTIPLE, CMD_WRITE_DMA}) {
            rig.command28(BASE, 0, command, 0, 1, 0);
            assertEquals(STATUS_DRDY | STATUS_ERR, rig.waitNotBusy(BASE), "no DRQ for the data");
            assertEquals(ERROR_ABRT, rig.error(BASE));
        }
        rig.command48(BASE, 0, CMD_WRITE_SECTORS_EXT, 0, 1);
        assertEquals(ERROR_ABRT, rig.error(BASE));
        assertTrue(readOnly.log().stream().noneMatch(e -> e.contains("write")));

        rig.command28(BASE, 0, CMD_READ_SECTORS, 0, 1, 0);
        assertEquals(STATUS_DRDY | STATUS_DSC | STATUS_DRQ, rig.waitNotBusy(BASE));
        byte[] sector = rig.pioIn(BASE, 512);
        assertArrayEquals(new byte[] {1, 2, 3, 4}, java.util.Arrays.copyOf(sector, 4));
    }

    @Test
    void backendErrorsBecomeUncOnReadAndAbrtOnWrite() {
        disk.faults(r -> r.offset() == 512 * 9 ? new BlockError(BlockError.Kind.IO_ERROR, "bad block") : null);
        startWith(new AtaDisk(disk, true));
        rig.command28(BASE, 0, CMD_READ_SECTORS, 8, 2, 0);
        assertEquals(STATUS_DRDY | STATUS_DSC | STATUS_DRQ, rig.waitNotBusy(BASE));
        rig.pioIn(BASE, 512);
        assertEquals(STATUS_DRDY | STATUS_ERR, rig.waitNotBusy(BASE));
        assertEquals(ERROR_UNC, rig.error(BASE));
        assertEquals(9, rig.cpu.inb(BASE + REG_LBA_LOW), "the task file points at the failed sector");

        rig.command28(BASE, 0, CMD_WRITE_SECTORS, 9, 1, 0);
        assertEquals(STATUS_DRDY | STATUS_DSC | STATUS_DRQ, rig.waitNotBusy(BASE));
        rig.pioOut(BASE, new byte[512]);
        assertEquals(STATUS_DRDY | STATUS_ERR, rig.waitNotBusy(BASE));
        assertEquals(ERROR_ABRT, rig.error(BASE));
    }

    @Test
    void flushCacheCompletesOnlyAfterTheBackendFlush() {
        startWith(new AtaDisk(disk, true));
        rig.ram().write(BUFFER, new byte[4096], 0, 4096);
        rig.prd(PRD, BUFFER, 4096);
        rig.cpu.outl(IdeRig.BMIBA + BusMasterDma.BM_PRD_TABLE, PRD);
        rig.command28(BASE, 0, CMD_WRITE_DMA, 100, 8, 0);
        rig.bmWrite(0, BusMasterDma.BM_COMMAND, BusMasterDma.COMMAND_START);
        IdeRig.pollUntil("the write to complete", () -> rig.irq(14));
        rig.bmWrite(0, BusMasterDma.BM_COMMAND, 0);
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE));

        disk.delay(150);
        rig.command28(BASE, 0, CMD_FLUSH_CACHE, 0, 0, 0);
        assertEquals(STATUS_BSY, rig.altStatus(BASE) & STATUS_BSY, "busy while the backend flushes");
        long start = System.nanoTime();
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.waitNotBusy(BASE));
        assertTrue(System.nanoTime() - start > 100_000_000L, "FLUSH CACHE waited for the backend");
        List<String> log = disk.log();
        assertTrue(log.indexOf("done write 51200+4096") < log.indexOf("submit flush"), log.toString());
        assertEquals("done flush", log.get(log.size() - 1));
    }

    @Test
    void aFlushAfterAResetWaitsForTheAbandonedWrite() {
        startWith(new AtaDisk(disk, true));
        disk.delay(200);
        rig.command28(BASE, 0, CMD_WRITE_SECTORS, 0, 1, 0);
        rig.waitNotBusy(BASE);
        rig.pioOut(BASE, new byte[512]);
        rig.control(BASE, CONTROL_SRST | CONTROL_NIEN); // the host gives up on the write
        rig.control(BASE, CONTROL_NIEN);
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE));

        rig.command48(BASE, 0, CMD_FLUSH_CACHE_EXT, 0, 0);
        rig.waitNotBusy(BASE);
        List<String> log = disk.log();
        assertTrue(log.indexOf("done write 0+512") < log.indexOf("submit flush"), log.toString());
    }

    @Test
    void withTheWriteCacheOffWritesCompleteAfterAFlush() {
        startWith(new AtaDisk(disk, false));
        assertEquals(0, identify()[85] & (1 << 5), "IDENTIFY word 85: write cache disabled");
        rig.command28(BASE, 0, CMD_WRITE_SECTORS, 3, 1, 0);
        rig.waitNotBusy(BASE);
        rig.pioOut(BASE, new byte[512]);
        rig.waitNotBusy(BASE);
        assertEquals(List.of("submit write 1536+512", "done write 1536+512", "submit flush", "done flush"), disk.log());

        rig.command28(BASE, 0, CMD_SET_FEATURES, 0, 0, FEATURE_ENABLE_WRITE_CACHE);
        rig.waitNotBusy(BASE);
        assertEquals(1 << 5, identify()[85] & (1 << 5));
        rig.command28(BASE, 0, CMD_SET_FEATURES, 0, 0, FEATURE_DISABLE_WRITE_CACHE);
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.waitNotBusy(BASE));
        assertEquals("done flush", disk.log().get(disk.log().size() - 1), "disabling the cache flushes it");
    }

    @Test
    void chsAddressingFollowsInitializeDeviceParameters() {
        byte[] sector = new byte[512];
        new Random(7).nextBytes(sector);
        long lba = (2L * 4 + 3) * 17 + 5 - 1; // cylinder 2, head 3, sector 5 with 4 heads × 17 sectors
        disk.put(lba * 512, sector);
        startWith(new AtaDisk(disk, true));
        rig.cpu.outb(BASE + REG_SECTOR_COUNT, 17);
        rig.cpu.outb(BASE + REG_DEVICE, DEVICE_OBSOLETE_ONES | 3); // heads - 1
        rig.cpu.outb(BASE + REG_COMMAND, CMD_INITIALIZE_DEVICE_PARAMETERS);
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.waitNotBusy(BASE));
        int[] id = identify();
        assertEquals(4, id[55]);
        assertEquals(17, id[56]);
        assertEquals((int) (DISK_BYTES / 512 / (4 * 17)), id[54]);

        rig.cpu.outb(BASE + REG_SECTOR_COUNT, 1);
        rig.cpu.outb(BASE + REG_LBA_LOW, 5);
        rig.cpu.outb(BASE + REG_LBA_MID, 2);
        rig.cpu.outb(BASE + REG_LBA_HIGH, 0);
        rig.cpu.outb(BASE + REG_DEVICE, DEVICE_OBSOLETE_ONES | 3);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_READ_SECTORS);
        assertEquals(STATUS_DRDY | STATUS_DSC | STATUS_DRQ, rig.waitNotBusy(BASE));
        assertArrayEquals(sector, rig.pioIn(BASE, 512));

        rig.cpu.outb(BASE + REG_LBA_LOW, 18); // sector 18 of 17
        rig.cpu.outb(BASE + REG_DEVICE, DEVICE_OBSOLETE_ONES | 3);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_READ_SECTORS);
        rig.waitNotBusy(BASE);
        assertEquals(ERROR_IDNF, rig.error(BASE));
    }

    @Test
    void readAndWriteMultipleMoveBlocksOfTheSetSize() {
        byte[] image = new byte[10 * 512];
        new Random(8).nextBytes(image);
        disk.put(40L * 512, image);
        startWith(new AtaDisk(disk, true));
        assertEquals(0x8010, identify()[47], "up to 16 sectors a block");
        rig.command28(BASE, 0, CMD_SET_MULTIPLE_MODE, 0, 3, 0);
        assertEquals(ERROR_ABRT, rig.error(BASE), "not a power of two");
        rig.command28(BASE, 0, CMD_SET_MULTIPLE_MODE, 0, 4, 0);
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.waitNotBusy(BASE));
        assertEquals(0x0104, identify()[59]);

        rig.status(BASE); // acknowledge IDENTIFY's interrupt
        int before = rig.irqLevels(14).size();
        rig.command28(BASE, 0, CMD_READ_MULTIPLE, 40, 10, 0);
        byte[] read = new byte[image.length];
        for (int at = 0, block = 2048; at < read.length; at += block) {
            rig.waitNotBusy(BASE);
            assertTrue(rig.irq(14), "an interrupt for each block");
            assertEquals(STATUS_DRDY | STATUS_DSC | STATUS_DRQ, rig.status(BASE));
            int n = Math.min(block, read.length - at);
            System.arraycopy(rig.pioIn(BASE, n), 0, read, at, n);
        }
        assertArrayEquals(image, read);
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE), "no interrupt after the last block of a read");
        assertEquals(6, rig.irqLevels(14).size() - before, "three blocks: 4 + 4 + 2 sectors");
        assertTrue(disk.log().contains("submit read 20480+2048"));

        rig.command28(BASE, 0, CMD_WRITE_MULTIPLE, 100, 6, 0);
        rig.waitNotBusy(BASE);
        rig.pioOut(BASE, java.util.Arrays.copyOf(image, 2048));
        rig.waitNotBusy(BASE);
        rig.pioOut(BASE, java.util.Arrays.copyOfRange(image, 2048, 3072));
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.waitNotBusy(BASE));
        assertArrayEquals(java.util.Arrays.copyOf(image, 3072), disk.get(100L * 512, 3072));
    }

    @Test
    void statusReadClearsTheInterruptAndAlternateStatusDoesNot() {
        startWith(new AtaDisk(disk, true));
        rig.control(BASE, 0);
        rig.cpu.outb(BASE + REG_DEVICE, DEVICE_OBSOLETE_ONES);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_CHECK_POWER_MODE);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(POWER_MODE_ACTIVE, rig.cpu.inb(BASE + REG_SECTOR_COUNT));
        rig.altStatus(BASE);
        assertTrue(rig.irq(14), "Alternate Status leaves it pending");
        assertEquals(BusMasterDma.STATUS_INTERRUPT, rig.bm(0, BusMasterDma.BM_STATUS), "INTERRUPT follows INTRQ");
        rig.status(BASE);
        assertFalse(rig.irq(14), "Status clears it");

        rig.control(BASE, CONTROL_NIEN);
        rig.bmWrite(0, BusMasterDma.BM_STATUS, BusMasterDma.STATUS_INTERRUPT);
        rig.cpu.outb(BASE + REG_COMMAND, CMD_IDLE_IMMEDIATE);
        rig.waitNotBusy(BASE);
        assertFalse(rig.irq(14), "nIEN holds the line low");
        assertEquals(0, rig.bm(0, BusMasterDma.BM_STATUS));
        rig.control(BASE, 0);
        assertTrue(rig.irq(14), "the pending interrupt shows once nIEN clears");
        rig.cpu.outb(BASE + REG_COMMAND, CMD_SEEK);
        IdeRig.pollUntil("the SEEK interrupt", () -> rig.irq(14));
        rig.status(BASE);
        assertFalse(rig.irq(14));
    }

    @Test
    void hobReadsThePreviousBytesOfA48BitAddress() {
        startWith(new AtaDisk(disk, true));
        rig.command48(BASE, 0, CMD_READ_NATIVE_MAX_ADDRESS_EXT, 0, 0);
        rig.waitNotBusy(BASE);
        long max = DISK_BYTES / 512 - 1;
        assertEquals(max & 0xff, rig.cpu.inb(BASE + REG_LBA_LOW));
        assertEquals((max >> 8) & 0xff, rig.cpu.inb(BASE + REG_LBA_MID));
        rig.control(BASE, CONTROL_HOB);
        assertEquals((max >> 24) & 0xff, rig.cpu.inb(BASE + REG_LBA_LOW));
        rig.control(BASE, 0);

        rig.cpu.outb(BASE + REG_LBA_LOW, 0x11);
        rig.cpu.outb(BASE + REG_LBA_LOW, 0x22);
        rig.control(BASE, CONTROL_HOB);
        assertEquals(0x11, rig.cpu.inb(BASE + REG_LBA_LOW));
        rig.cpu.outb(BASE + REG_LBA_MID, 0); // any register write clears HOB
        assertEquals(0x22, rig.cpu.inb(BASE + REG_LBA_LOW));
    }

    @Test
    void setFeaturesSelectsATransferModeAndRefusesOnesThatDoNotExist() {
        startWith(new AtaDisk(disk, true));
        rig.command28(BASE, 0, CMD_SET_FEATURES, 0, XFER_MULTIWORD_DMA | 2, FEATURE_SET_TRANSFER_MODE);
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.waitNotBusy(BASE));
        int[] id = identify();
        assertEquals(0x0407, id[63], "MWDMA2 selected");
        assertEquals(0x003f, id[88], "no UDMA mode selected");
        rig.command28(BASE, 0, CMD_SET_FEATURES, 0, XFER_ULTRA_DMA | 6, FEATURE_SET_TRANSFER_MODE);
        assertEquals(ERROR_ABRT, rig.error(BASE));
        rig.command28(BASE, 0, CMD_SET_FEATURES, 0, 0, 0x5a);
        assertEquals(ERROR_ABRT, rig.error(BASE), "an unknown subcommand");
    }

    @Test
    void aSlowDiskNeverHoldsUpOtherDevices() {
        AtomicInteger served = new AtomicInteger();
        rig.engine.ports().register(0x80, 1, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return served.incrementAndGet();
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        }, "post-code");
        startWith(new AtaDisk(disk.delay(200), true));
        long start = System.nanoTime();
        rig.command28(BASE, 0, CMD_READ_SECTORS, 0, 1, 0);
        int reads = 0;
        long slowest = 0;
        while ((rig.altStatus(BASE) & STATUS_BSY) != 0) {
            long t = System.nanoTime();
            rig.cpu.inb(0x80);
            slowest = Math.max(slowest, System.nanoTime() - t);
            reads++;
        }
        long busy = System.nanoTime() - start;
        assertTrue(busy >= 190_000_000L, "the read took the backend's 200 ms: " + busy / 1_000_000 + " ms");
        assertTrue(reads > 10, "port 0x80 was served " + reads + " times meanwhile");
        assertTrue(slowest < 100_000_000L, "no access waited for the disk: slowest " + slowest / 1_000_000 + " ms");
        assertEquals(STATUS_DRDY | STATUS_DSC | STATUS_DRQ, rig.status(BASE));
        rig.pioIn(BASE, 512);
    }
}
