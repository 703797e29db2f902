package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;

import io.stubdm.backends.block.BlockBackend;
import io.stubdm.backends.block.BlockBackend.BlockError;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A drive on an IDE channel, {@link AtaDisk} or {@link AtapiCdrom}: its Status and Error registers, the PIO data
 * phase through the data port, the commands both kinds share, and the bookkeeping of backend requests.
 *
 * <p>Backend requests complete later on the device loop. While one is in flight the drive shows BSY; its
 * completion moves the command on (DRQ, the next block, the interrupt). A reset or unplug abandons the command:
 * completions of requests issued before it still release their buffers but change nothing the guest sees.
 * Backends the drive gives up (unplug, medium change) are closed once no request of the drive is in flight.
 *
 * <p>All methods run on the device loop.
 */
public abstract sealed class IdeDrive permits AtaDisk, AtapiCdrom {
    private static final System.Logger LOG = System.getLogger(IdeDrive.class.getName());
    /** IDENTIFY words 23-26 and INQUIRY's product revision. */
    static final String FIRMWARE_REVISION = "0.1";
    /** Single- and multiword DMA modes 0-2 and Ultra DMA modes 0-5 supported, as QEMU reports them. */
    private static final int DMA_MODES_SUPPORTED = 0x07;
    private static final int UDMA_MODES_SUPPORTED = 0x3f;
    private static final int DEFAULT_TRANSFER_MODE = XFER_ULTRA_DMA | 5;
    private static final int ERRORS_LOGGED = 20;
    /** A {@link Batch}'s release when its requests use no guest mappings. */
    static final Runnable NOTHING_TO_RELEASE = () -> { };

    IdeChannel channel;
    TaskFile taskFile;
    private String name;
    private String serial;
    int status;
    int error;
    /** The mode SET FEATURES selected last, as its Sector Count value. */
    private int transferMode = DEFAULT_TRANSFER_MODE;

    private ByteBuffer pioBlock;
    private boolean pioToHost;
    private Runnable pioDone;
    private BusMasterDma.Client dmaClient;

    private int epoch;
    private int inFlight;
    private Runnable whenIdle;
    private final List<BlockBackend> retired = new ArrayList<>();
    private int errorsLogged;

    /** "ide0-hd0" for the primary master disk, "ide1-cd0" for a CD-ROM as secondary master (QEMU's names). */
    public final String name() {
        return name == null ? getClass().getSimpleName() : name;
    }

    /** IDENTIFY's serial number: "SD" and the {@code -drive index} plus one, five digits. */
    public final String serial() {
        return serial;
    }

    @Override
    public String toString() {
        return name();
    }

    // ---------------------------------------------------------------- what the two kinds differ in

    /** "hd" or "cd", for the drive's name. */
    abstract String kind();

    /** IDENTIFY words 27-46. */
    abstract String model();

    /** LBA Mid/High after reset and diagnostics. */
    abstract int signatureMid();

    abstract int signatureHigh();

    /** Status after reset or diagnostics: DRDY for ATA devices, all clear for PACKET devices. */
    abstract int statusAfterReset();

    /** Runs a command the host wrote to the Command register; BSY is set and Error clear. */
    abstract void execute(int command);

    /** Drive state a reset discards (ATAPI sense, a transfer in progress). */
    abstract void resetDeviceState();

    /** Settings a power-on reset returns to their defaults (SET FEATURES, SET MULTIPLE, geometry). */
    void restoreDefaults() {
        transferMode = DEFAULT_TRANSFER_MODE;
    }

    /** Commands the drive takes while BSY or DRQ is set (only DEVICE RESET, on PACKET devices). */
    boolean acceptedWhileBusy(int command) {
        return false;
    }

    /** The backends to close when the drive leaves its channel. */
    abstract List<BlockBackend> releaseBackends();

    // ---------------------------------------------------------------- placement and resets

    final void attach(IdeChannel channel, int position, TaskFile taskFile) {
        if (this.channel != null) {
            throw new IllegalStateException(name() + " is attached already");
        }
        this.channel = channel;
        this.taskFile = taskFile;
        this.name = "ide" + channel.index + "-" + kind() + position;
        this.serial = String.format("SD%05d", 2 * channel.index + position + 1);
        powerOnReset();
    }

    /** Leaves the channel: nothing in progress, the backends closed once their requests are done. */
    final void detach() {
        abandon();
        for (BlockBackend b : releaseBackends()) {
            retire(b);
        }
    }

    final void powerOnReset() {
        restoreDefaults();
        softwareReset();
    }

    /** SRST asserted: whatever was going on stops, and the drive stays busy until SRST is released. */
    final void holdInReset() {
        abandon();
        status = STATUS_BSY;
    }

    /** SRST released, or DEVICE RESET: the signature and the diagnostic code; SET FEATURES settings stay. */
    final void softwareReset() {
        abandon();
        resetDeviceState();
        taskFile.resetWithSignature(signatureMid(), signatureHigh());
        error = DIAGNOSTIC_PASSED;
        status = statusAfterReset();
    }

    /** Stops the current command: its PIO phase, its DMA request and the completions of its backend requests. */
    private void abandon() {
        epoch++;
        pioBlock = null;
        pioDone = null;
        whenIdle = null;
        if (dmaClient != null) {
            channel.dma.cancel(dmaClient);
            dmaClient = null;
        }
    }

    // ---------------------------------------------------------------- commands

    final boolean busy() {
        return (status & (STATUS_BSY | STATUS_DRQ)) != 0;
    }

    final void command(int command) {
        if (busy() && !acceptedWhileBusy(command)) {
            return;
        }
        error = 0;
        status = STATUS_DRDY | STATUS_BSY;
        execute(command);
    }

    /** Success without data: DRDY and DSC, and the interrupt. */
    final void complete() {
        status = STATUS_DRDY | STATUS_DSC;
        channel.interrupt();
    }

    final void abort() {
        fail(ERROR_ABRT);
    }

    final void fail(int errorBits) {
        error = errorBits;
        status = STATUS_DRDY | STATUS_ERR;
        channel.interrupt();
    }

    /** EXECUTE DEVICE DIAGNOSTIC: as after a reset, but with an interrupt. */
    final void executeDeviceDiagnostic() {
        taskFile.signature(signatureMid(), signatureHigh());
        error = DIAGNOSTIC_PASSED;
        status = statusAfterReset();
        channel.interrupt();
    }

    /** SET FEATURES subcommands every drive takes; false for one it does not know. */
    boolean setFeature(int feature) {
        return switch (feature) {
            case FEATURE_SET_TRANSFER_MODE -> setTransferMode(taskFile.sectorCount);
            // Nothing to do for these, but guests send them and QEMU accepts them (cmd_set_features).
            case FEATURE_ENABLE_READ_LOOK_AHEAD, FEATURE_DISABLE_READ_LOOK_AHEAD,
                    FEATURE_ENABLE_REVERTING_TO_DEFAULTS, FEATURE_DISABLE_REVERTING_TO_DEFAULTS,
                    FEATURE_ENABLE_APM, FEATURE_DISABLE_APM, FEATURE_ENABLE_AAM, FEATURE_DISABLE_AAM -> true;
            default -> false;
        };
    }

    private boolean setTransferMode(int value) {
        int mode = value & XFER_MODE;
        boolean valid = switch (value & ~XFER_MODE) {
            case XFER_PIO_DEFAULT -> mode == 0 || value == XFER_PIO_DEFAULT_NO_IORDY;
            case XFER_PIO_FLOW_CONTROL -> mode <= 4;
            case XFER_SINGLEWORD_DMA, XFER_MULTIWORD_DMA -> mode <= 2;
            case XFER_ULTRA_DMA -> mode <= 5;
            default -> false;
        };
        if (valid) {
            transferMode = value;
        }
        return valid;
    }

    /** Words 62, 63 and 88: the DMA modes supported, and in the high byte the one selected. */
    final void putTransferModes(IdentifyData id) {
        id.word(62, DMA_MODES_SUPPORTED | selected(XFER_SINGLEWORD_DMA));
        id.word(63, DMA_MODES_SUPPORTED | selected(XFER_MULTIWORD_DMA));
        id.word(88, UDMA_MODES_SUPPORTED | selected(XFER_ULTRA_DMA));
    }

    private int selected(int type) {
        return (transferMode & ~XFER_MODE) == type ? 0x100 << (transferMode & XFER_MODE) : 0;
    }

    /** Words 10-19, 23-26 and 27-46: serial number, firmware revision, model number. */
    final void putIdentity(IdentifyData id) {
        id.string(10, 10, serial);
        id.string(23, 4, FIRMWARE_REVISION);
        id.string(27, 20, model());
    }

    // ---------------------------------------------------------------- PIO data phase

    /** DRQ until the host has read {@code block} through the data port; then {@code drained} runs. */
    final void sendToHost(ByteBuffer block, Runnable drained) {
        startPio(block, true, drained);
    }

    /** DRQ until the host has written {@code block} through the data port; then {@code filled} runs. */
    final void receiveFromHost(ByteBuffer block, Runnable filled) {
        startPio(block, false, filled);
    }

    private void startPio(ByteBuffer block, boolean toHost, Runnable done) {
        pioBlock = block.order(ByteOrder.LITTLE_ENDIAN);
        pioToHost = toHost;
        pioDone = done;
        status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
    }

    /**
     * A 16- or 32-bit read of the data port. Outside a data-in phase it moves nothing and reads 0 (QEMU's
     * ide_data_readw); a read past the end of the block is padded with zeros and ends it.
     */
    final long dataRead(int size) {
        ByteBuffer b = pioBlock;
        if (b == null || !pioToHost || (status & STATUS_DRQ) == 0) {
            return 0;
        }
        long value;
        if (b.remaining() >= size) {
            value = size == 4 ? b.getInt() & 0xffff_ffffL : b.getShort() & 0xffff;
        } else {
            value = 0;
            for (int i = 0; b.hasRemaining(); i++) {
                value |= (long) (b.get() & 0xff) << (8 * i);
            }
        }
        if (!b.hasRemaining()) {
            blockDone();
        }
        return value;
    }

    /** A 16- or 32-bit write of the data port; ignored outside a data-out phase. */
    final void dataWrite(int size, long value) {
        ByteBuffer b = pioBlock;
        if (b == null || pioToHost || (status & STATUS_DRQ) == 0) {
            return;
        }
        for (int i = 0; i < size && b.hasRemaining(); i++) {
            b.put((byte) (value >>> (8 * i)));
        }
        if (!b.hasRemaining()) {
            blockDone();
        }
    }

    private void blockDone() {
        Runnable next = pioDone;
        pioBlock.clear();
        pioBlock = null;
        pioDone = null;
        status &= ~STATUS_DRQ;
        next.run();
    }

    // ---------------------------------------------------------------- bus-master DMA

    /** Asks the channel's engine for {@code length} bytes of guest memory; {@code client} moves the data. */
    final void startDma(long length, BusMasterDma.Client client) {
        // DRQ through the data phase, as QEMU's ide_sector_start_dma shows it.
        status = STATUS_DRDY | STATUS_DSC | STATUS_DRQ;
        BusMasterDma.Client request = new BusMasterDma.Client() {
            @Override
            public void dmaStarted(GuestBuffers buffers) {
                dmaClient = null;
                client.dmaStarted(buffers);
            }

            @Override
            public void dmaFailed(BusMasterDma.Failure why) {
                dmaClient = null;
                client.dmaFailed(why);
            }
        };
        dmaClient = request;
        channel.dma.request(length, request);
    }

    /**
     * Reads the PRD regions' worth of data at {@code offset}: straight into the guest's buffers when each holds
     * whole backend sectors (what Linux and FreeBSD build), through one bounce buffer otherwise (SeaBIOS splits
     * at 64 KiB boundaries, not at sectors). {@code then} runs as for a {@link Batch}, before the regions are
     * released.
     */
    final void dmaRead(BlockBackend backend, long offset, GuestBuffers buffers, Consumer<BlockError> then) {
        if (buffers.wholeBlocks(backend.sectorSize())) {
            new Batch(buffers::close, then).readScattered(backend, offset, buffers.buffers()).seal();
            return;
        }
        ByteBuffer bounce = ByteBuffer.allocate((int) buffers.length());
        new Batch(buffers::close, failure -> {
            if (failure == null) {
                buffers.copyFrom(bounce.clear());
            }
            then.accept(failure);
        }).read(backend, offset, bounce).seal();
    }

    /** Writes the PRD regions' data at {@code offset}, the same two ways as {@link #dmaRead}. */
    final void dmaWrite(BlockBackend backend, long offset, GuestBuffers buffers, Consumer<BlockError> then) {
        if (buffers.wholeBlocks(backend.sectorSize())) {
            new Batch(buffers::close, then).writeGathered(backend, offset, buffers.buffers()).seal();
            return;
        }
        ByteBuffer bounce = ByteBuffer.allocate((int) buffers.length());
        buffers.copyTo(bounce);
        buffers.close();
        new Batch(NOTHING_TO_RELEASE, then).write(backend, offset, bounce.clear()).seal();
    }

    // ---------------------------------------------------------------- backend requests

    /**
     * Backend requests that together make one step of a command. {@code then} runs once, after the last one
     * completes, with the first error or null, unless the command was abandoned meanwhile; {@code release} runs
     * after it in any case (it closes guest mappings the requests used).
     */
    final class Batch {
        private final int startedIn = epoch;
        private final Runnable release;
        private final Consumer<BlockError> then;
        private int outstanding;
        private boolean sealed;
        private BlockError firstError;

        Batch(Runnable release, Consumer<BlockError> then) {
            this.release = release;
            this.then = then;
        }

        Batch read(BlockBackend backend, long offset, ByteBuffer dst) {
            return request(done -> backend.read(offset, dst, done));
        }

        Batch write(BlockBackend backend, long offset, ByteBuffer src) {
            return request(done -> backend.write(offset, src, done));
        }

        /** The regions of one DMA transfer, read as one backend request. */
        Batch readScattered(BlockBackend backend, long offset, List<ByteBuffer> dsts) {
            return request(done -> backend.readScattered(offset, dsts, done));
        }

        Batch writeGathered(BlockBackend backend, long offset, List<ByteBuffer> srcs) {
            return request(done -> backend.writeGathered(offset, srcs, done));
        }

        Batch flush(BlockBackend backend) {
            return request(backend::flush);
        }

        /** One more request of this step; a backend that throws instead of completing fails just this part. */
        private Batch request(Consumer<BlockBackend.Completion> issue) {
            BlockBackend.Completion done = part();
            try {
                issue.accept(done);
            } catch (RuntimeException e) {
                done.done(refused(e));
            }
            return this;
        }

        /** No more requests: {@code then} runs once those issued have completed. */
        void seal() {
            sealed = true;
            if (outstanding == 0) {
                finish();
            }
        }

        private BlockBackend.Completion part() {
            outstanding++;
            inFlight++;
            boolean[] completed = {false};
            return failure -> {
                if (completed[0]) {
                    return;
                }
                completed[0] = true;
                outstanding--;
                inFlight--;
                if (failure != null && firstError == null) {
                    firstError = failure;
                }
                if (sealed && outstanding == 0) {
                    finish();
                }
                drained();
            };
        }

        private void finish() {
            try {
                if (startedIn == epoch) {
                    then.accept(firstError);
                }
            } finally {
                release.run();
            }
        }
    }

    private BlockError refused(RuntimeException e) {
        return new BlockError(BlockError.Kind.IO_ERROR, "backend refused the request: " + e);
    }

    /** Runs {@code action} once no backend request of this drive is in flight (FLUSH CACHE's ordering). */
    final void whenIdle(Runnable action) {
        if (inFlight == 0) {
            action.run();
        } else {
            whenIdle = action;
        }
    }

    /** Closes {@code backend} once no request of this drive is in flight. */
    final void retire(BlockBackend backend) {
        retired.add(backend);
        drained();
    }

    private void drained() {
        if (inFlight != 0) {
            return;
        }
        for (BlockBackend b : retired) {
            try {
                b.close();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name() + ": closing " + b.describe() + " failed: " + e);
            }
        }
        retired.clear();
        Runnable action = whenIdle;
        whenIdle = null;
        if (action != null) {
            action.run();
        }
    }

    final void logError(String what) {
        if (errorsLogged++ < ERRORS_LOGGED) {
            LOG.log(Level.WARNING, name() + ": " + what);
        }
    }
}
