package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;
import static io.stubdm.devices.ide.BusMasterDma.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bus-master engine as SFF-8038i and QEMU define it: the status register's bits, both orders of command and
 * START, PRD tables that run long, short or out of guest memory, regions that are not whole sectors, and bus
 * mastering switched off.
 */
class BusMasterDmaTest {
    private static final int BASE = IdeRig.PRIMARY;
    private static final long PRD = 0x100000;
    private static final long BUFFER = 0x400000;
    /** The simulated guest has 64 MiB of RAM; this is past it. */
    private static final long OUTSIDE_RAM = 0x8000_0000L;

    private final IdeRig rig = new IdeRig();
    private final MemoryDisk disk = rig.disk(16L << 20);
    private final byte[] image = new byte[16 * 512];

    @BeforeEach
    void start() {
        new Random(9).nextBytes(image);
        disk.put(0, image);
        rig.attach(0, new AtaDisk(disk, true)).start();
        rig.control(BASE, 0);
    }

    @AfterEach
    void nothingEscaped() {
        rig.assertNothingEscaped();
        rig.close();
    }

    private void startEngine(boolean toMemory) {
        rig.cpu.outl(IdeRig.BMIBA + BM_PRD_TABLE, PRD);
        rig.bmWrite(0, BM_COMMAND, (toMemory ? COMMAND_TO_MEMORY : 0) | COMMAND_START);
    }

    private byte[] buffer(long at, int length) {
        byte[] b = new byte[length];
        rig.ram().read(at, b, 0, length);
        return b;
    }

    @Test
    void statusBitsAreWriteOneToClearAndDriveCapableBitsStick() {
        rig.bmWrite(0, BM_STATUS, 0xff);
        assertEquals(STATUS_DRIVE0_DMA_CAPABLE | STATUS_DRIVE1_DMA_CAPABLE, rig.bm(0, BM_STATUS));
        rig.bmWrite(0, BM_COMMAND, COMMAND_START);
        assertEquals(STATUS_ACTIVE, rig.bm(0, BM_STATUS) & STATUS_ACTIVE, "START makes the engine active");
        rig.bmWrite(0, BM_STATUS, STATUS_ACTIVE);
        assertEquals(STATUS_ACTIVE, rig.bm(0, BM_STATUS) & STATUS_ACTIVE, "ACTIVE is read-only");
        rig.bmWrite(0, BM_COMMAND, 0);
        assertEquals(0, rig.bm(0, BM_STATUS) & STATUS_ACTIVE);
        rig.cpu.outl(IdeRig.BMIBA + BM_PRD_TABLE, 0x12345677L);
        assertEquals(0x12345674L, rig.cpu.inl(IdeRig.BMIBA + BM_PRD_TABLE), "the table is dword aligned");
        assertEquals(0, rig.bm(1, BM_STATUS), "the channels' engines are separate");
    }

    @Test
    void startBeforeTheCommandWorksToo() {
        rig.prd(PRD, BUFFER, image.length);
        startEngine(true);
        rig.command28(BASE, 0, CMD_READ_DMA, 0, 16, 0);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(STATUS_INTERRUPT, rig.bm(0, BM_STATUS));
        assertArrayEquals(image, buffer(BUFFER, image.length));
    }

    @Test
    void aTableLongerThanTheTransferIsFineAndACountOfZeroIs64KiB() {
        rig.prd(PRD, BUFFER, 0, BUFFER + 0x10000, 4096); // 64 KiB, then more than needed
        rig.command28(BASE, 0, CMD_READ_DMA, 0, 16, 0);
        startEngine(true);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(STATUS_INTERRUPT, rig.bm(0, BM_STATUS), "INTERRUPT set, ACTIVE clear");
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE));
        assertArrayEquals(image, buffer(BUFFER, image.length));
    }

    @Test
    void aTableShorterThanTheTransferEndsWithoutAnInterrupt() {
        rig.prd(PRD, BUFFER, 1024);
        rig.command28(BASE, 0, CMD_READ_DMA, 0, 16, 0);
        startEngine(true);
        assertEquals(0, rig.bm(0, BM_STATUS) & (STATUS_ACTIVE | STATUS_INTERRUPT | STATUS_ERROR),
                "SFF-8038i: PRDs smaller than the transfer");
        assertFalse(rig.irq(14));
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE), "the drive is not left busy");
        assertTrue(disk.log().isEmpty(), "nothing was read");
    }

    @Test
    void aPrdTableOutsideGuestMemoryIsABusMasterErrorWithAnInterrupt() {
        rig.command28(BASE, 0, CMD_READ_DMA, 0, 16, 0);
        rig.cpu.outl(IdeRig.BMIBA + BM_PRD_TABLE, OUTSIDE_RAM);
        rig.bmWrite(0, BM_COMMAND, COMMAND_TO_MEMORY | COMMAND_START);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(STATUS_ERROR | STATUS_INTERRUPT, rig.bm(0, BM_STATUS));
        assertEquals(STATUS_DRDY | STATUS_ERR, rig.status(BASE));
        assertEquals(ERROR_ABRT, rig.error(BASE));
    }

    @Test
    void aRegionOutsideGuestMemoryIsABusMasterError() {
        rig.prd(PRD, BUFFER, 4096, OUTSIDE_RAM, 4096);
        rig.command28(BASE, 0, CMD_WRITE_DMA, 0, 16, 0);
        startEngine(false);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(STATUS_ERROR | STATUS_INTERRUPT, rig.bm(0, BM_STATUS));
        assertEquals(ERROR_ABRT, rig.error(BASE));
        assertArrayEquals(image, disk.get(0, image.length), "nothing was written");
        rig.bmWrite(0, BM_COMMAND, 0);
        rig.bmWrite(0, BM_STATUS, STATUS_ERROR | STATUS_INTERRUPT);
        assertEquals(0, rig.bm(0, BM_STATUS));
    }

    @Test
    void withoutBusMasteringTheTransferFails() {
        rig.cfgWrite(0x04, 2, 0x0001);
        rig.prd(PRD, BUFFER, image.length);
        rig.command28(BASE, 0, CMD_READ_DMA, 0, 16, 0);
        startEngine(true);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(STATUS_ERROR | STATUS_INTERRUPT, rig.bm(0, BM_STATUS));
        assertEquals(ERROR_ABRT, rig.error(BASE));
    }

    @Test
    void regionsThatAreNotWholeSectorsGoThroughABounceBuffer() {
        rig.prd(PRD, BUFFER + 0x7c00, 1000, BUFFER + 0x20000, 7192);
        rig.command28(BASE, 0, CMD_READ_DMA, 0, 16, 0);
        startEngine(true);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        rig.status(BASE);
        assertArrayEquals(java.util.Arrays.copyOf(image, 1000), buffer(BUFFER + 0x7c00, 1000));
        assertArrayEquals(java.util.Arrays.copyOfRange(image, 1000, image.length), buffer(BUFFER + 0x20000, 7192));
        rig.bmWrite(0, BM_COMMAND, 0);

        byte[] data = new byte[1024];
        new Random(10).nextBytes(data);
        rig.ram().write(BUFFER, data, 0, 10);
        rig.ram().write(BUFFER + 0x30000, data, 10, 1014);
        rig.prd(PRD, BUFFER, 10, BUFFER + 0x30000, 1014);
        rig.command28(BASE, 0, CMD_WRITE_DMA, 40, 2, 0);
        startEngine(false);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE));
        assertArrayEquals(data, disk.get(40 * 512, 1024));
    }

    @Test
    void clearingStartMidTransferLetsTheBackendFinish() {
        disk.delay(100);
        rig.prd(PRD, BUFFER, image.length);
        rig.command28(BASE, 0, CMD_READ_DMA, 0, 16, 0);
        startEngine(true);
        rig.bmWrite(0, BM_COMMAND, COMMAND_TO_MEMORY);
        assertEquals(0, rig.bm(0, BM_STATUS) & STATUS_ACTIVE);
        IdeRig.pollUntil("the interrupt", () -> rig.irq(14));
        assertEquals(STATUS_DRDY | STATUS_DSC, rig.status(BASE));
        assertArrayEquals(image, buffer(BUFFER, image.length));
    }
}
