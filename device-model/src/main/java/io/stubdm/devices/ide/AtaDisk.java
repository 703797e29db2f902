package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;

import io.stubdm.backends.block.BlockBackend;
import io.stubdm.backends.block.BlockBackend.BlockError;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;

/**
 * An ATA hard disk ({@code -drive if=ide,media=disk}) on a {@link BlockBackend}: the ATA/ATAPI-6 General and
 * 48-bit Address feature sets with PIO (single sector and READ/WRITE MULTIPLE) and bus-master DMA transfers,
 * CHS addressing for old loaders, a write cache the guest can switch off, and FLUSH CACHE that completes only
 * once the backend's flush has.
 *
 * <p>IDENTIFY DEVICE reports what QEMU's ide_identify does (so guests take the same paths), with stubdm's model
 * name: CHS 16 heads × 63 sectors (QEMU's guess_chs_for_size), LBA28 and LBA48 capacities, multiword DMA 0-2 and
 * UDMA 0-5, an 80-conductor cable, READ/WRITE MULTIPLE of up to 16 sectors, the write cache and FLUSH CACHE (EXT).
 *
 * <p>Errors: an address beyond the disk (or a CHS address off the current geometry) fails with IDNF, an unknown
 * command with ABRT, a backend read error with UNC and a write error with ABRT. A write command to a read-only
 * disk fails with ABRT before any data moves, and the log says why once.
 */
public final class AtaDisk extends IdeDrive {
    private static final System.Logger LOG = System.getLogger(AtaDisk.class.getName());
    public static final int SECTOR_SIZE = 512;
    /** The largest READ/WRITE MULTIPLE block and its power-on setting (QEMU's MAX_MULT_SECTORS). */
    public static final int MAX_MULTIPLE_SECTORS = 16;
    public static final String MODEL = "STUBDM HARDDISK";
    private static final long LBA28_SECTORS = 1L << 28;
    private static final int DEFAULT_HEADS = 16;
    private static final int DEFAULT_SECTORS_PER_TRACK = 63;
    private static final int MAX_CYLINDERS = 16383;
    /** CHS addressing reaches 16,514,064 sectors at most (16383 × 16 × 63, ATA/ATAPI-6 "Address translation"). */
    private static final long CHS_MAX_SECTORS = (long) MAX_CYLINDERS * DEFAULT_HEADS * DEFAULT_SECTORS_PER_TRACK;

    // IDENTIFY DEVICE words and bits (ATA/ATAPI-6, IDENTIFY DEVICE data table).
    private static final int GENERAL_FIXED_DEVICE = 0x0040;
    private static final int MULTIPLE_VALID = 0x0100;
    private static final int CAPABILITY_IORDY = 1 << 11;
    private static final int CAPABILITY_LBA = 1 << 9;
    private static final int CAPABILITY_DMA = 1 << 8;
    private static final int FIELDS_VALID_54_58_64_70_88 = 0x0007;
    private static final int TIMING_MODE_2 = 0x0200;
    private static final int PIO_MODES_3_4 = 0x0003;
    private static final int CYCLE_TIME_120_NS = 120;
    private static final int MAJOR_VERSION_ATA4_TO_ATA7 = 0x00f0;
    private static final int MINOR_VERSION = 0x0016;
    private static final int WORD_VALID = 1 << 14;
    private static final int SUPPORTS_NOP = 1 << 14;
    private static final int SUPPORTS_WRITE_CACHE = 1 << 5;
    private static final int SUPPORTS_FLUSH_CACHE_EXT = 1 << 13;
    private static final int SUPPORTS_FLUSH_CACHE = 1 << 12;
    private static final int SUPPORTS_LBA48 = 1 << 10;
    /** Word 93: bit 14 set, bit 13 an 80-conductor cable (which lets guests pick UDMA3+), bit 0 set. */
    private static final int HARDWARE_RESET_RESULT = 0x6001;

    private BlockBackend backend;
    private final long sectors;
    private final boolean writeCacheAtPowerOn;
    private boolean writeCache;
    private int multipleSectors;
    private int heads;
    private int sectorsPerTrack;
    private boolean readOnlyReported;

    // The transfer in progress.
    private long nextLba;
    private long remaining;
    private int blockSectors;
    private boolean writing;
    private boolean lba48;

    /**
     * A disk on {@code backend}, which it owns from now on (closed on unplug). {@code writeCache} is what IDENTIFY
     * reports and SET FEATURES can change: with it off (QEMU's {@code cache=writethrough}) every write command
     * completes only after a backend flush.
     */
    public AtaDisk(BlockBackend backend, boolean writeCache) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.sectors = backend.sizeBytes() / SECTOR_SIZE;
        this.writeCacheAtPowerOn = writeCache;
    }

    @Override
    String kind() {
        return "hd";
    }

    @Override
    String model() {
        return MODEL;
    }

    @Override
    int signatureMid() {
        return 0;
    }

    @Override
    int signatureHigh() {
        return 0;
    }

    @Override
    int statusAfterReset() {
        return STATUS_DRDY | STATUS_DSC;
    }

    @Override
    void resetDeviceState() {
        remaining = 0;
    }

    @Override
    void restoreDefaults() {
        super.restoreDefaults();
        writeCache = writeCacheAtPowerOn;
        multipleSectors = MAX_MULTIPLE_SECTORS;
        heads = DEFAULT_HEADS;
        sectorsPerTrack = DEFAULT_SECTORS_PER_TRACK;
    }

    @Override
    List<BlockBackend> releaseBackends() {
        BlockBackend b = backend;
        backend = null;
        return b == null ? List.of() : List.of(b);
    }

    @Override
    void execute(int command) {
        switch (command) {
            case CMD_IDENTIFY_DEVICE -> identify();
            case CMD_READ_SECTORS, CMD_READ_SECTORS_WITHOUT_RETRY -> pio(false, false, 1);
            case CMD_READ_SECTORS_EXT -> pio(false, true, 1);
            case CMD_WRITE_SECTORS, CMD_WRITE_SECTORS_WITHOUT_RETRY -> pio(true, false, 1);
            case CMD_WRITE_SECTORS_EXT -> pio(true, true, 1);
            case CMD_READ_MULTIPLE -> multiple(false, false);
            case CMD_READ_MULTIPLE_EXT -> multiple(false, true);
            case CMD_WRITE_MULTIPLE -> multiple(true, false);
            case CMD_WRITE_MULTIPLE_EXT -> multiple(true, true);
            case CMD_READ_DMA, CMD_READ_DMA_WITHOUT_RETRY -> dma(false, false);
            case CMD_READ_DMA_EXT -> dma(false, true);
            case CMD_WRITE_DMA, CMD_WRITE_DMA_WITHOUT_RETRY -> dma(true, false);
            case CMD_WRITE_DMA_EXT -> dma(true, true);
            case CMD_READ_VERIFY_SECTORS, CMD_READ_VERIFY_SECTORS_WITHOUT_RETRY -> verify(false);
            case CMD_READ_VERIFY_SECTORS_EXT -> verify(true);
            case CMD_FLUSH_CACHE, CMD_FLUSH_CACHE_EXT -> flushCache();
            case CMD_SET_FEATURES -> setFeatures();
            case CMD_SET_MULTIPLE_MODE -> setMultipleMode();
            case CMD_INITIALIZE_DEVICE_PARAMETERS -> initializeDeviceParameters();
            case CMD_READ_NATIVE_MAX_ADDRESS -> readNativeMaxAddress(false);
            case CMD_READ_NATIVE_MAX_ADDRESS_EXT -> readNativeMaxAddress(true);
            case CMD_CHECK_POWER_MODE, CMD_CHECK_POWER_MODE_ALT -> {
                taskFile.sectorCount = POWER_MODE_ACTIVE;
                complete();
            }
            case CMD_EXECUTE_DEVICE_DIAGNOSTIC -> executeDeviceDiagnostic();
            // Nothing spins or seeks: these complete at once, as QEMU's cmd_nop and cmd_seek do.
            case CMD_RECALIBRATE, CMD_SEEK, CMD_IDLE, CMD_IDLE_ALT, CMD_IDLE_IMMEDIATE, CMD_IDLE_IMMEDIATE_ALT,
                    CMD_STANDBY, CMD_STANDBY_ALT, CMD_STANDBY_IMMEDIATE, CMD_STANDBY_IMMEDIATE_ALT, CMD_SLEEP,
                    CMD_SLEEP_ALT -> complete();
            default -> abort();
        }
    }

    // ---------------------------------------------------------------- IDENTIFY DEVICE

    private void identify() {
        long currentCapacity = (long) currentCylinders() * heads * sectorsPerTrack;
        IdentifyData id = new IdentifyData()
                .word(0, GENERAL_FIXED_DEVICE)
                .word(1, defaultCylinders())
                .word(3, DEFAULT_HEADS)
                .word(6, DEFAULT_SECTORS_PER_TRACK)
                .word(47, 0x8000 | MAX_MULTIPLE_SECTORS)
                .word(48, 1) // 32-bit PIO, which FreeBSD uses (INSL) when it can
                .word(49, CAPABILITY_IORDY | CAPABILITY_LBA | CAPABILITY_DMA)
                .word(51, TIMING_MODE_2)
                .word(52, TIMING_MODE_2)
                .word(53, FIELDS_VALID_54_58_64_70_88)
                .word(54, currentCylinders())
                .word(55, heads)
                .word(56, sectorsPerTrack)
                .words(57, 2, currentCapacity)
                .word(59, multipleSectors == 0 ? 0 : MULTIPLE_VALID | multipleSectors)
                .words(60, 2, Math.min(sectors, LBA28_SECTORS - 1))
                .word(64, PIO_MODES_3_4)
                .word(65, CYCLE_TIME_120_NS)
                .word(66, CYCLE_TIME_120_NS)
                .word(67, CYCLE_TIME_120_NS)
                .word(68, CYCLE_TIME_120_NS)
                .word(80, MAJOR_VERSION_ATA4_TO_ATA7)
                .word(81, MINOR_VERSION)
                .word(82, SUPPORTS_NOP | SUPPORTS_WRITE_CACHE)
                .word(83, WORD_VALID | SUPPORTS_FLUSH_CACHE_EXT | SUPPORTS_FLUSH_CACHE | SUPPORTS_LBA48)
                .word(84, WORD_VALID)
                .word(85, SUPPORTS_NOP | (writeCache ? SUPPORTS_WRITE_CACHE : 0))
                .word(86, SUPPORTS_FLUSH_CACHE_EXT | SUPPORTS_FLUSH_CACHE | SUPPORTS_LBA48)
                .word(87, WORD_VALID)
                .word(93, HARDWARE_RESET_RESULT)
                .words(100, 4, sectors);
        putIdentity(id);
        putTransferModes(id);
        sendToHost(id.toBuffer(), this::dataInDone);
        channel.interrupt();
    }

    /** QEMU's guess_chs_for_size: 16 heads, 63 sectors, as many cylinders as fit (2 to 16383). */
    private int defaultCylinders() {
        return (int) Math.max(2, Math.min(MAX_CYLINDERS, sectors / (DEFAULT_HEADS * DEFAULT_SECTORS_PER_TRACK)));
    }

    /** Cylinders of the translation INITIALIZE DEVICE PARAMETERS set (word 54). */
    private int currentCylinders() {
        return (int) Math.min(65535, Math.min(sectors, CHS_MAX_SECTORS) / ((long) heads * sectorsPerTrack));
    }

    // ---------------------------------------------------------------- reads and writes

    /**
     * Decodes the address and count of a read or write command. When they do not fit the disk the command fails
     * (IDNF, or ABRT for a write to a read-only disk) and this returns false.
     */
    private boolean prepare(boolean write, boolean ext) {
        long lba = ext ? taskFile.lba48() : startSector28();
        long count = ext ? taskFile.count48() : taskFile.count28();
        if (write && backend.readOnly()) {
            if (!readOnlyReported) {
                readOnlyReported = true;
                LOG.log(Level.WARNING, name() + " is read-only (" + backend.describe()
                        + "): the guest's writes fail with ABRT");
            }
            abort();
            return false;
        }
        if (lba < 0 || lba + count > sectors) {
            fail(ERROR_IDNF);
            return false;
        }
        nextLba = lba;
        remaining = count;
        writing = write;
        lba48 = ext;
        return true;
    }

    /** The first sector of a 28-bit command, from LBA or CHS; -1 for a CHS address off the geometry. */
    private long startSector28() {
        if (taskFile.lbaAddressing()) {
            return taskFile.lba28();
        }
        int cylinder = taskFile.lbaHigh << 8 | taskFile.lbaMid;
        int head = taskFile.device & DEVICE_HEAD;
        int sector = taskFile.lbaLow;
        if (sector == 0 || sector > sectorsPerTrack || head >= heads || cylinder >= currentCylinders()) {
            return -1;
        }
        return ((long) cylinder * heads + head) * sectorsPerTrack + sector - 1;
    }

    /** Leaves the address of {@code lba} in the task file, as the commands' error outputs require. */
    private void reportAddress(long lba) {
        if (lba48) {
            taskFile.setLba48(lba);
        } else if (taskFile.lbaAddressing()) {
            taskFile.setLba28(lba);
        } else {
            long track = lba / sectorsPerTrack;
            long cylinder = track / heads;
            taskFile.lbaLow = (int) (lba % sectorsPerTrack) + 1;
            taskFile.lbaMid = (int) cylinder & 0xff;
            taskFile.lbaHigh = (int) (cylinder >>> 8) & 0xff;
            taskFile.device = (taskFile.device & ~DEVICE_HEAD) | (int) (track % heads);
        }
    }

    private void verify(boolean ext) {
        if (prepare(false, ext)) {
            complete();
        }
    }

    private void multiple(boolean write, boolean ext) {
        if (multipleSectors == 0) {
            abort();
            return;
        }
        pio(write, ext, multipleSectors);
    }

    private void pio(boolean write, boolean ext, int sectorsPerBlock) {
        if (!prepare(write, ext)) {
            return;
        }
        blockSectors = sectorsPerBlock;
        if (write) {
            // PIO data-out: the first DRQ comes without an interrupt (ATA/ATAPI-6 PIO data-out protocol).
            expectBlock();
        } else {
            readBlock();
        }
    }

    private void readBlock() {
        int n = (int) Math.min(remaining, blockSectors);
        ByteBuffer block = ByteBuffer.allocate(n * SECTOR_SIZE);
        status = STATUS_DRDY | STATUS_BSY;
        new Batch(NOTHING_TO_RELEASE, failure -> {
            if (failure != null) {
                transferFailed(failure);
                return;
            }
            nextLba += n;
            remaining -= n;
            sendToHost(block.clear(), remaining > 0 ? this::readBlock : this::dataInDone);
            channel.interrupt();
        }).read(backend, nextLba * SECTOR_SIZE, block).seal();
    }

    /** The host has read the last block of a PIO data-in command: done, and no interrupt (PIO data-in protocol). */
    private void dataInDone() {
        status = STATUS_DRDY | STATUS_DSC;
    }

    private void expectBlock() {
        int n = (int) Math.min(remaining, blockSectors);
        ByteBuffer block = ByteBuffer.allocate(n * SECTOR_SIZE);
        receiveFromHost(block, () -> writeBlock(block, n));
    }

    private void writeBlock(ByteBuffer block, int n) {
        status = STATUS_DRDY | STATUS_BSY;
        new Batch(NOTHING_TO_RELEASE, failure -> {
            if (failure != null) {
                transferFailed(failure);
                return;
            }
            nextLba += n;
            remaining -= n;
            if (remaining > 0) {
                expectBlock();
                channel.interrupt();
            } else {
                writeDone();
            }
        }).write(backend, nextLba * SECTOR_SIZE, block).seal();
    }

    /** Write commands complete once the data is where the write cache setting says it must be. */
    private void writeDone() {
        if (writeCache) {
            complete();
        } else {
            flushCache();
        }
    }

    private void dma(boolean write, boolean ext) {
        if (!prepare(write, ext)) {
            return;
        }
        long offset = nextLba * SECTOR_SIZE;
        startDma(remaining * SECTOR_SIZE, new BusMasterDma.Client() {
            @Override
            public void dmaStarted(GuestBuffers buffers) {
                if (write) {
                    dmaWrite(backend, offset, buffers, AtaDisk.this::dmaDone);
                } else {
                    dmaRead(backend, offset, buffers, AtaDisk.this::dmaDone);
                }
            }

            @Override
            public void dmaFailed(BusMasterDma.Failure why) {
                if (why == BusMasterDma.Failure.MEMORY_FAULT) {
                    abort();
                } else {
                    // SFF-8038i: a PRD table shorter than the transfer ends it without an interrupt; the
                    // guest's timeout and reset follow, as on QEMU.
                    status = STATUS_DRDY | STATUS_DSC;
                }
            }
        });
    }

    private void dmaDone(BlockError failure) {
        channel.dma.finish();
        if (failure != null) {
            transferFailed(failure);
        } else if (writing) {
            writeDone();
        } else {
            complete();
        }
    }

    private void transferFailed(BlockError failure) {
        logError((writing ? "write" : "read") + " at sector " + nextLba + " failed: " + failure.kind() + " "
                + failure.message());
        reportAddress(nextLba);
        switch (failure.kind()) {
            case OUT_OF_RANGE -> fail(ERROR_IDNF);
            case IO_ERROR -> fail(writing ? ERROR_ABRT : ERROR_UNC);
            default -> abort();
        }
    }

    // ---------------------------------------------------------------- the rest of the command set

    /** FLUSH CACHE: BSY until the backend has flushed every write that completed before it. */
    private void flushCache() {
        BlockBackend b = backend;
        whenIdle(() -> new Batch(NOTHING_TO_RELEASE, failure -> {
            if (failure != null) {
                logError("flush failed: " + failure.kind() + " " + failure.message());
                abort();
            } else {
                complete();
            }
        }).flush(b).seal());
    }

    private void setFeatures() {
        switch (taskFile.feature) {
            case FEATURE_ENABLE_WRITE_CACHE -> {
                writeCache = true;
                complete();
            }
            case FEATURE_DISABLE_WRITE_CACHE -> {
                // What the cache holds must be on the disk before the guest relies on it being off.
                writeCache = false;
                flushCache();
            }
            default -> {
                if (setFeature(taskFile.feature)) {
                    complete();
                } else {
                    abort();
                }
            }
        }
    }

    /** SET MULTIPLE MODE: 0 turns READ/WRITE MULTIPLE off, otherwise a power of two up to 16. */
    private void setMultipleMode() {
        int count = taskFile.sectorCount;
        if (count != 0 && (count > MAX_MULTIPLE_SECTORS || Integer.bitCount(count) != 1)) {
            abort();
            return;
        }
        multipleSectors = count;
        complete();
    }

    /** INITIALIZE DEVICE PARAMETERS (ATA-5; obsolete since ATA-6 but still used by old loaders). */
    private void initializeDeviceParameters() {
        if (taskFile.sectorCount == 0) {
            abort();
            return;
        }
        sectorsPerTrack = taskFile.sectorCount;
        heads = (taskFile.device & DEVICE_HEAD) + 1;
        complete();
    }

    private void readNativeMaxAddress(boolean ext) {
        if (sectors == 0) {
            abort();
            return;
        }
        if (ext) {
            taskFile.setLba48(sectors - 1);
        } else {
            taskFile.setLba28(Math.min(sectors, LBA28_SECTORS) - 1);
        }
        complete();
    }
}
