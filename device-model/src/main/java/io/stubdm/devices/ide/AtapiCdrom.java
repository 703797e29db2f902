package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;
import static io.stubdm.devices.ide.Mmc.*;

import io.stubdm.backends.block.BlockBackend;
import io.stubdm.backends.block.BlockBackend.BlockError;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * An ATAPI CD/DVD-ROM drive ({@code ide-cd}, {@code -drive media=cdrom}): the PACKET feature set of ATA/ATAPI-6
 * carrying the SCSI commands of SPC-3 and MMC-3 that SeaBIOS (El Torito boot), Linux's sr and FreeBSD's cd(4)
 * use, over 2048-byte blocks of a {@link BlockBackend}. The drive may be empty; {@link #changeMedium} is QMP's
 * way in.
 *
 * <p>The PACKET protocol of ATA/ATAPI-6 as FreeBSD's ata_begin_transaction and ata_end_transaction expect it:
 * after the PACKET command, DRQ with Interrupt Reason CoD and no interrupt (IDENTIFY PACKET DEVICE announces
 * "DRQ within 50 µs", so hosts poll for it); each data-in block with Interrupt Reason IO, its length in LBA
 * Mid/High (at most the host's byte count limit, even unless it is the last) and an interrupt; completion with
 * Interrupt Reason IO|CoD, DRQ clear and an interrupt; CHECK CONDITION as ERR with the sense key in Error bits
 * 7:4. Data goes through the bus-master engine instead when the host sets Features bit 0.
 *
 * <p>Conditions follow QEMU's hw/ide/atapi.c: commands that need a medium report NOT READY / MEDIUM NOT PRESENT
 * without one. After {@link #changeMedium}, commands other than REQUEST SENSE, INQUIRY, GET CONFIGURATION and
 * GET EVENT STATUS NOTIFICATION first report the medium gone, once, then UNIT ATTENTION / MEDIUM MAY HAVE
 * CHANGED until REQUEST SENSE has returned it (MMC-3, "Unit Attention condition"). Polled media events report
 * the change too.
 */
public final class AtapiCdrom extends IdeDrive {
    public static final int BLOCK_SIZE = 2048;
    public static final String VENDOR = "STUBDM";
    public static final String MODEL = "STUBDM DVD-ROM";
    /** 80 minutes of 2048-byte blocks: a larger medium is a DVD (QEMU's CD_MAX_SECTORS). */
    private static final long CD_MAX_BLOCKS = 80L * 60 * 75;
    /** Blocks a PIO read fetches from the backend at a time. */
    private static final int PIO_READ_BLOCKS = 16;
    /** The largest DRQ block; the limits a host may not set, 0 and FFFFh, mean this (QEMU does so for FFFFh). */
    private static final int LARGEST_DRQ_BLOCK = 0xfffe;

    // IDENTIFY PACKET DEVICE words and bits.
    private static final int GENERAL_ATAPI = 0x8000;
    private static final int GENERAL_REMOVABLE = 0x0080;
    private static final int GENERAL_DRQ_WITHIN_50_US = 0x0040;
    private static final int CAPABILITY_LBA = 1 << 9;
    private static final int CAPABILITY_DMA = 1 << 8;
    private static final int FIELDS_VALID_54_58_64_70_88 = 0x0007;
    private static final int PIO_MODES_3_4 = 0x0003;
    private static final int MAJOR_VERSION_ATA1_TO_ATAPI4 = 0x001e;
    private static final int INQUIRY_LENGTH = 36;
    /** INQUIRY byte 3: ATAPI version 2 in the high nibble, response data format 1 (QEMU's values). */
    private static final int INQUIRY_ATAPI_VERSION_FORMAT = 0x21;
    private static final int MODE_HEADER_LENGTH = 8;
    private static final int DISC_INFORMATION_LENGTH = 34;
    private static final int MECHANISM_STATUS_DOOR_OPEN = 0x10;

    /** Where a medium change stands in being reported to the guest. */
    private enum ChangeReport { NONE, MEDIUM_GONE, UNIT_ATTENTION }

    private BlockBackend medium;
    private boolean trayOpen;
    private boolean locked;
    private int senseKey;
    private int additionalSense;
    private int additionalSenseQualifier;
    private boolean unitAttention;
    private ChangeReport changeReport = ChangeReport.NONE;
    private boolean newMediaEvent;
    private boolean mediaRemovalEvent;

    private boolean packetDma;
    private int byteCountLimit;
    private BlockBackend readSource;
    private long nextBlock;
    private long blocksLeft;

    /** A drive holding {@code medium} (owned from now on, closed when replaced), or empty when it is null. */
    public AtapiCdrom(BlockBackend medium) {
        this.medium = medium;
    }

    /**
     * Puts {@code next} in the drive (null empties it), closes the tray and closes the previous medium once no
     * read of it is in flight; the guest learns of it as described above. Call on the device loop.
     */
    public void changeMedium(BlockBackend next) {
        if (medium != null) {
            retire(medium);
            mediaRemovalEvent = true;
        }
        medium = next;
        trayOpen = false;
        if (next != null) {
            changeReport = ChangeReport.MEDIUM_GONE;
            newMediaEvent = true;
        } else {
            changeReport = ChangeReport.NONE;
        }
    }

    /** Whether a medium is in the drive with the tray closed. */
    public boolean mediumPresent() {
        return medium != null && !trayOpen;
    }

    private long blocks() {
        return medium.sizeBytes() / BLOCK_SIZE;
    }

    @Override
    String kind() {
        return "cd";
    }

    @Override
    String model() {
        return MODEL;
    }

    @Override
    int signatureMid() {
        return SIGNATURE_ATAPI_MID;
    }

    @Override
    int signatureHigh() {
        return SIGNATURE_ATAPI_HIGH;
    }

    /** PACKET devices leave DRDY clear after a reset ("Signature and persistence"; QEMU's cmd_exec_dev_diagnostic). */
    @Override
    int statusAfterReset() {
        return 0;
    }

    /** QEMU's ide_reset: sense, pending change reports and the medium lock go; events stay for polling. */
    @Override
    void resetDeviceState() {
        setSense(SENSE_NO_SENSE, 0, 0);
        unitAttention = false;
        changeReport = ChangeReport.NONE;
        locked = false;
        packetDma = false;
        readSource = null;
        blocksLeft = 0;
    }

    @Override
    void restoreDefaults() {
        super.restoreDefaults();
        trayOpen = false;
    }

    @Override
    boolean acceptedWhileBusy(int command) {
        return command == CMD_DEVICE_RESET;
    }

    @Override
    List<BlockBackend> releaseBackends() {
        BlockBackend b = medium;
        medium = null;
        return b == null ? List.of() : List.of(b);
    }

    @Override
    void execute(int command) {
        switch (command) {
            case CMD_PACKET -> packet();
            case CMD_IDENTIFY_PACKET_DEVICE -> identifyPacketDevice();
            // DEVICE RESET completes without an interrupt; hosts poll BSY.
            case CMD_DEVICE_RESET -> softwareReset();
            case CMD_EXECUTE_DEVICE_DIAGNOSTIC -> executeDeviceDiagnostic();
            case CMD_SET_FEATURES -> {
                if (setFeature(taskFile.feature)) {
                    complete();
                } else {
                    abort();
                }
            }
            // Nothing is ever written to a CD.
            case CMD_FLUSH_CACHE -> complete();
            // A PACKET device aborts these and shows its signature to drivers that probe with them
            // (ATA/ATAPI-6 IDENTIFY DEVICE; ATA-4 READ SECTORS), as QEMU's cmd_identify and cmd_read_pio do.
            case CMD_IDENTIFY_DEVICE, CMD_READ_SECTORS, CMD_READ_SECTORS_WITHOUT_RETRY -> {
                taskFile.signature(SIGNATURE_ATAPI_MID, SIGNATURE_ATAPI_HIGH);
                abort();
            }
            default -> abort();
        }
    }

    private void identifyPacketDevice() {
        IdentifyData id = new IdentifyData()
                .word(0, GENERAL_ATAPI | PERIPHERAL_DEVICE_TYPE_CDROM << 8 | GENERAL_REMOVABLE
                        | GENERAL_DRQ_WITHIN_50_US)
                .word(48, 1) // 32-bit PIO
                .word(49, CAPABILITY_LBA | CAPABILITY_DMA)
                .word(53, FIELDS_VALID_54_58_64_70_88)
                .word(64, PIO_MODES_3_4)
                .word(65, 0xb4) // multiword DMA cycle times, PIO cycle times and release delays as in QEMU
                .word(66, 0xb4)
                .word(67, 0x12c)
                .word(68, 0xb4)
                .word(71, 30)
                .word(72, 30)
                .word(80, MAJOR_VERSION_ATA1_TO_ATAPI4);
        putIdentity(id);
        putTransferModes(id);
        sendToHost(id.toBuffer(), () -> status = STATUS_DRDY | STATUS_DSC);
        channel.interrupt();
    }

    // ---------------------------------------------------------------- the PACKET protocol

    private void packet() {
        if ((taskFile.feature & PACKET_FEATURE_OVERLAP) != 0) {
            abort();
            return;
        }
        packetDma = (taskFile.feature & PACKET_FEATURE_DMA) != 0;
        byteCountLimit = taskFile.byteCount();
        taskFile.setInterruptReason(IREASON_COD);
        ByteBuffer packet = ByteBuffer.allocate(PACKET_SIZE);
        receiveFromHost(packet, () -> executePacket(packet.array()));
    }

    private void commandOk() {
        setSense(SENSE_NO_SENSE, 0, 0);
        taskFile.setInterruptReason(IREASON_IO | IREASON_COD);
        complete();
    }

    private void checkCondition(int key, int asc, int ascq) {
        setSense(key, asc, ascq);
        taskFile.setInterruptReason(IREASON_IO | IREASON_COD);
        fail(key << 4);
    }

    private void setSense(int key, int asc, int ascq) {
        senseKey = key;
        additionalSense = asc;
        additionalSenseQualifier = ascq;
    }

    private void notReady() {
        checkCondition(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, trayOpen ? ASCQ_TRAY_OPEN : ASCQ_TRAY_CLOSED);
    }

    private void invalidField() {
        checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB, 0);
    }

    private void executePacket(byte[] cdb) {
        status = STATUS_DRDY | STATUS_BSY;
        int op = cdb[0] & 0xff;
        boolean allowedUnderUnitAttention = op == REQUEST_SENSE || op == INQUIRY || op == GET_CONFIGURATION
                || op == GET_EVENT_STATUS_NOTIFICATION;
        if (!allowedUnderUnitAttention) {
            if (unitAttention) {
                checkCondition(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED, 0);
                return;
            }
            // The change shows as a medium gone and then a new one, for guests that do not poll media
            // events (QEMU's cdrom_changed).
            if (mediumPresent() && changeReport == ChangeReport.MEDIUM_GONE) {
                changeReport = ChangeReport.UNIT_ATTENTION;
                checkCondition(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, ASCQ_TRAY_CLOSED);
                return;
            }
            if (mediumPresent() && changeReport == ChangeReport.UNIT_ATTENTION) {
                changeReport = ChangeReport.NONE;
                unitAttention = true;
                checkCondition(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED, 0);
                return;
            }
        }
        boolean needsMedium = op == TEST_UNIT_READY || op == READ_CAPACITY || op == READ_10 || op == READ_12
                || op == READ_CD || op == SEEK_10 || op == READ_TOC_PMA_ATIP || op == READ_DISC_INFORMATION;
        if (needsMedium && !mediumPresent()) {
            notReady();
            return;
        }
        switch (op) {
            case TEST_UNIT_READY, SET_CD_SPEED -> commandOk();
            case REQUEST_SENSE -> requestSense(cdb);
            case INQUIRY -> inquiry(cdb);
            case READ_CAPACITY -> readCapacity();
            case READ_10 -> read(be32(cdb, 2), be16(cdb, 7));
            case READ_12 -> read(be32(cdb, 2), be32(cdb, 6));
            case READ_CD -> readCd(cdb);
            case SEEK_10 -> {
                if (be32(cdb, 2) >= blocks()) {
                    checkCondition(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
                } else {
                    commandOk();
                }
            }
            case READ_TOC_PMA_ATIP -> readToc(cdb);
            case GET_CONFIGURATION -> getConfiguration(cdb);
            case GET_EVENT_STATUS_NOTIFICATION -> getEventStatusNotification(cdb);
            case MODE_SENSE_10 -> modeSense(cdb);
            case START_STOP_UNIT -> startStopUnit(cdb);
            case PREVENT_ALLOW_MEDIUM_REMOVAL -> {
                locked = (cdb[4] & 0x01) != 0;
                commandOk();
            }
            case READ_DISC_INFORMATION -> readDiscInformation(cdb);
            case MECHANISM_STATUS -> mechanismStatus(cdb);
            default -> checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_COMMAND_OPERATION_CODE, 0);
        }
    }

    // ---------------------------------------------------------------- data-in phases

    /** Returns the first {@code length} bytes of {@code data}, cut to the host's allocation length. */
    private void reply(byte[] data, int length, int allocationLength) {
        int n = Math.min(length, allocationLength);
        if (n <= 0) {
            commandOk();
            return;
        }
        ByteBuffer payload = ByteBuffer.wrap(data, 0, n).slice();
        if (!packetDma) {
            dataIn(payload, this::commandOk);
            return;
        }
        startDma(n, new BusMasterDma.Client() {
            @Override
            public void dmaStarted(GuestBuffers buffers) {
                buffers.copyFrom(payload);
                buffers.close();
                channel.dma.finish();
                commandOk();
            }

            @Override
            public void dmaFailed(BusMasterDma.Failure why) {
                packetDmaFailed(why);
            }
        });
    }

    /** One DRQ block of {@code data}: its size in the byte count registers, Interrupt Reason IO. */
    private void dataIn(ByteBuffer data, Runnable after) {
        int n = drqBlockSize(data.remaining());
        ByteBuffer block = data.slice(data.position(), n);
        data.position(data.position() + n);
        taskFile.setByteCount(n);
        taskFile.setInterruptReason(IREASON_IO);
        sendToHost(block, data.hasRemaining() ? () -> dataIn(data, after) : after);
        channel.interrupt();
    }

    /** A block no longer than the byte count limit, and even unless it is the last (PACKET protocol). */
    private int drqBlockSize(int remaining) {
        int limit = byteCountLimit == 0 || byteCountLimit > LARGEST_DRQ_BLOCK ? LARGEST_DRQ_BLOCK : byteCountLimit;
        return remaining <= limit ? remaining : Math.max(2, limit & ~1);
    }

    private void packetDmaFailed(BusMasterDma.Failure why) {
        if (why == BusMasterDma.Failure.MEMORY_FAULT) {
            checkCondition(SENSE_ABORTED_COMMAND, 0, 0);
        } else {
            // A PRD table shorter than the transfer: no interrupt, as for ATA commands.
            status = STATUS_DRDY | STATUS_DSC;
        }
    }

    // ---------------------------------------------------------------- READ(10), READ(12), READ CD

    private void read(long lba, long count) {
        if (count == 0) {
            commandOk();
            return;
        }
        if (lba + count > blocks()) {
            checkCondition(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
            return;
        }
        readSource = medium;
        if (packetDma) {
            readDma(lba * BLOCK_SIZE, count * BLOCK_SIZE);
        } else {
            nextBlock = lba;
            blocksLeft = count;
            readChunk();
        }
    }

    private void readChunk() {
        if (!mediumPresent() || medium != readSource) {
            notReady();
            return;
        }
        int n = (int) Math.min(blocksLeft, PIO_READ_BLOCKS);
        ByteBuffer chunk = ByteBuffer.allocate(n * BLOCK_SIZE);
        status = STATUS_DRDY | STATUS_BSY;
        new Batch(NOTHING_TO_RELEASE, failure -> {
            if (failure != null) {
                readFailed(failure);
                return;
            }
            nextBlock += n;
            blocksLeft -= n;
            dataIn(chunk.clear(), blocksLeft > 0 ? this::readChunk : this::commandOk);
        }).read(readSource, nextBlock * BLOCK_SIZE, chunk).seal();
    }

    private void readDma(long offset, long length) {
        BlockBackend source = readSource;
        startDma(length, new BusMasterDma.Client() {
            @Override
            public void dmaStarted(GuestBuffers buffers) {
                dmaRead(source, offset, buffers, failure -> {
                    channel.dma.finish();
                    if (failure != null) {
                        readFailed(failure);
                    } else {
                        commandOk();
                    }
                });
            }

            @Override
            public void dmaFailed(BusMasterDma.Failure why) {
                packetDmaFailed(why);
            }
        });
    }

    private void readFailed(BlockError failure) {
        logError("read failed: " + failure.kind() + " " + failure.message());
        switch (failure.kind()) {
            case OUT_OF_RANGE -> checkCondition(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
            case NO_MEDIUM -> notReady();
            default -> checkCondition(SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR, 0);
        }
    }

    /** READ CD for user data only: the raw sector layouts of audio tools are not offered. */
    private void readCd(byte[] cdb) {
        long count = (cdb[6] & 0xff) << 16 | (cdb[7] & 0xff) << 8 | cdb[8] & 0xff;
        switch (cdb[9] & READ_CD_FIELDS) {
            case READ_CD_NO_DATA -> commandOk();
            case READ_CD_USER_DATA -> read(be32(cdb, 2), count);
            default -> invalidField();
        }
    }

    // ---------------------------------------------------------------- the other commands

    /** REQUEST SENSE (SPC-3): fixed format; a pending UNIT ATTENTION first, and reporting clears it. */
    private void requestSense(byte[] cdb) {
        byte[] data = new byte[FIXED_SENSE_LENGTH];
        data[0] = (byte) SENSE_RESPONSE_CURRENT_FIXED;
        data[7] = (byte) (FIXED_SENSE_LENGTH - 8);
        if (unitAttention) {
            unitAttention = false;
            data[2] = (byte) SENSE_UNIT_ATTENTION;
            data[12] = (byte) ASC_MEDIUM_MAY_HAVE_CHANGED;
        } else {
            data[2] = (byte) senseKey;
            data[12] = (byte) additionalSense;
            data[13] = (byte) additionalSenseQualifier;
        }
        reply(data, data.length, cdb[4] & 0xff);
    }

    /** INQUIRY (SPC-3): standard data only; no vital product data pages. */
    private void inquiry(byte[] cdb) {
        if ((cdb[1] & INQUIRY_EVPD) != 0) {
            invalidField();
            return;
        }
        byte[] data = new byte[INQUIRY_LENGTH];
        data[0] = (byte) PERIPHERAL_DEVICE_TYPE_CDROM;
        data[1] = (byte) INQUIRY_REMOVABLE;
        data[3] = (byte) INQUIRY_ATAPI_VERSION_FORMAT;
        data[4] = (byte) (INQUIRY_LENGTH - 5);
        ascii(data, 8, 8, VENDOR);
        ascii(data, 16, 16, MODEL);
        ascii(data, 32, 4, FIRMWARE_REVISION);
        reply(data, data.length, be16(cdb, 3));
    }

    /** READ CAPACITY: the last block's address and the block size. */
    private void readCapacity() {
        ByteBuffer data = ByteBuffer.allocate(8);
        data.putInt((int) Math.min(Math.max(blocks() - 1, 0), 0xffff_ffffL)).putInt(BLOCK_SIZE);
        reply(data.array(), 8, 8);
    }

    /**
     * READ TOC/PMA/ATIP (MMC-3) for a single-session disc with one data track: format 0 (the TOC),
     * 1 (session information) and 2 (the full TOC). The format may also sit in bits 7:6 of byte 9, where
     * SFF-8020i put it and older drivers still do.
     */
    private void readToc(byte[] cdb) {
        boolean msf = (cdb[1] & 0x02) != 0;
        int format = cdb[2] & 0x0f;
        if (format == 0) {
            format = (cdb[9] & 0xff) >> 6;
        }
        int track = cdb[6] & 0xff;
        long leadOut = blocks();
        ByteBuffer data = ByteBuffer.allocate(4 + 4 * 11);
        data.position(2);
        data.put((byte) 1).put((byte) 1); // first and last track, or session
        switch (format) {
            case TOC_FORMAT_TOC -> {
                if (track > 1 && track != TOC_LEAD_OUT_TRACK) {
                    invalidField();
                    return;
                }
                if (track <= 1) {
                    trackDescriptor(data, 1, 0, msf);
                }
                trackDescriptor(data, TOC_LEAD_OUT_TRACK, leadOut, msf);
            }
            case TOC_FORMAT_SESSION_INFO -> trackDescriptor(data, 1, 0, msf);
            case TOC_FORMAT_FULL_TOC -> {
                fullTocDescriptor(data, FULL_TOC_POINT_FIRST_TRACK, new int[] {1, 0, 0});
                fullTocDescriptor(data, FULL_TOC_POINT_LAST_TRACK, new int[] {1, 0, 0});
                fullTocDescriptor(data, FULL_TOC_POINT_LEAD_OUT, msf(leadOut));
                fullTocDescriptor(data, 1, msf(0));
            }
            default -> {
                invalidField();
                return;
            }
        }
        int length = data.position();
        data.putShort(0, (short) (length - 2));
        reply(data.array(), length, be16(cdb, 7));
    }

    private static void trackDescriptor(ByteBuffer data, int track, long lba, boolean msf) {
        data.put((byte) 0).put((byte) TOC_ADR_CONTROL_DATA).put((byte) track).put((byte) 0);
        if (msf) {
            int[] m = msf(lba);
            data.put((byte) 0).put((byte) m[0]).put((byte) m[1]).put((byte) m[2]);
        } else {
            data.putInt((int) lba);
        }
    }

    /** A Q sub-channel entry of the full TOC: session 1, TNO 0, the point and its P-MSF (MMC-3 Table 235). */
    private static void fullTocDescriptor(ByteBuffer data, int point, int[] pmsf) {
        data.put((byte) 1).put((byte) TOC_ADR_CONTROL_DATA).put((byte) 0).put((byte) point);
        data.put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        data.put((byte) pmsf[0]).put((byte) pmsf[1]).put((byte) pmsf[2]);
    }

    /** Minute, second, frame of a block, counting the two-second pregap; minutes stop at 255 (DVD sizes). */
    private static int[] msf(long lba) {
        long frames = lba + MSF_LEAD_IN_FRAMES;
        return new int[] {(int) Math.min(frames / (60 * 75), 255), (int) (frames / 75 % 60), (int) (frames % 75)};
    }

    /**
     * GET CONFIGURATION (MMC-3): the Profile List (DVD-ROM and CD-ROM, the current one by the medium's
     * size), Core (ATAPI) and Removable Medium (tray, lockable, ejectable) features.
     */
    private void getConfiguration(byte[] cdb) {
        int requestType = cdb[1] & 0x03;
        int start = be16(cdb, 2);
        ByteBuffer data = ByteBuffer.allocate(64);
        data.position(8);
        int current = !mediumPresent() ? PROFILE_NONE : blocks() > CD_MAX_BLOCKS ? PROFILE_DVD_ROM : PROFILE_CD_ROM;
        for (int feature : new int[] {FEATURE_PROFILE_LIST, FEATURE_CORE, FEATURE_REMOVABLE_MEDIUM}) {
            // Request type 2 asks for the starting feature alone; 0 and 1 for it and those after it (all of
            // ours are current).
            if (requestType == 2 ? feature != start : feature < start) {
                continue;
            }
            data.putShort((short) feature).put((byte) 0x03); // version 0, persistent, current
            switch (feature) {
                case FEATURE_PROFILE_LIST -> {
                    data.put((byte) 8);
                    for (int profile : new int[] {PROFILE_DVD_ROM, PROFILE_CD_ROM}) {
                        data.putShort((short) profile).put((byte) (current == profile ? 1 : 0)).put((byte) 0);
                    }
                }
                case FEATURE_CORE -> data.put((byte) 4).putInt(INTERFACE_ATAPI);
                default -> data.put((byte) 4).put((byte) 0x29).put((byte) 0).putShort((short) 0); // tray, eject, lock
            }
        }
        int length = data.position();
        data.putInt(0, length - 4);
        data.putShort(6, (short) current);
        reply(data.array(), length, be16(cdb, 7));
    }

    /** GET EVENT STATUS NOTIFICATION (MMC-3), polled only, media class only (as in QEMU). */
    private void getEventStatusNotification(byte[] cdb) {
        if ((cdb[1] & GESN_POLLED) == 0) {
            invalidField();
            return;
        }
        ByteBuffer data = ByteBuffer.allocate(8);
        data.put(3, (byte) (1 << GESN_CLASS_MEDIA));
        if ((cdb[4] & (1 << GESN_CLASS_MEDIA)) == 0) {
            data.putShort(0, (short) 2).put(2, (byte) GESN_NO_EVENT_AVAILABLE);
            reply(data.array(), 4, be16(cdb, 7));
            return;
        }
        int event = MEDIA_EVENT_NO_CHANGE;
        if (mediaRemovalEvent) {
            mediaRemovalEvent = false;
            event = MEDIA_EVENT_MEDIA_REMOVAL;
        } else if (newMediaEvent && !trayOpen) {
            newMediaEvent = false;
            event = MEDIA_EVENT_NEW_MEDIA;
        }
        data.putShort(0, (short) 6).put(2, (byte) GESN_CLASS_MEDIA);
        data.put(4, (byte) event);
        data.put(5, (byte) ((trayOpen ? MEDIA_STATUS_TRAY_OPEN : 0) | (mediumPresent() ? MEDIA_STATUS_PRESENT : 0)));
        reply(data.array(), 8, be16(cdb, 7));
    }

    /**
     * MODE SENSE(10) (SPC-3), current values only as in QEMU: Read/Write Error Recovery, CD Audio Control,
     * the MM Capabilities and Mechanical Status page (MMC-3) and all three.
     */
    private void modeSense(byte[] cdb) {
        int pageControl = (cdb[2] & 0xff) >> 6;
        int page = cdb[2] & 0x3f;
        if (pageControl == PAGE_CONTROL_SAVED) {
            checkCondition(SENSE_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED, 0);
            return;
        }
        if (pageControl != PAGE_CONTROL_CURRENT) {
            invalidField();
            return;
        }
        ByteBuffer data = ByteBuffer.allocate(MODE_HEADER_LENGTH + 12 + 16 + 22);
        data.position(MODE_HEADER_LENGTH);
        switch (page) {
            case PAGE_READ_WRITE_ERROR_RECOVERY -> errorRecoveryPage(data);
            case PAGE_CD_AUDIO_CONTROL -> audioControlPage(data);
            case PAGE_CAPABILITIES -> capabilitiesPage(data);
            case PAGE_ALL -> {
                errorRecoveryPage(data);
                audioControlPage(data);
                capabilitiesPage(data);
            }
            default -> {
                invalidField();
                return;
            }
        }
        int length = data.position();
        data.putShort(0, (short) (length - 2));
        data.put(2, (byte) (trayOpen ? MEDIUM_TYPE_TRAY_OPEN : medium == null ? MEDIUM_TYPE_NO_DISC
                : MEDIUM_TYPE_DATA_DISC));
        reply(data.array(), length, be16(cdb, 7));
    }

    private static void errorRecoveryPage(ByteBuffer data) {
        data.put((byte) PAGE_READ_WRITE_ERROR_RECOVERY).put((byte) 10);
        data.put((byte) 0).put((byte) 5); // no special recovery; read retry count 5
        data.put(new byte[8]);
    }

    private static void audioControlPage(ByteBuffer data) {
        data.put((byte) PAGE_CD_AUDIO_CONTROL).put((byte) 14);
        data.put(new byte[6]);
        // Output ports 0 and 1 carry channels 0 and 1 at full volume; ports 2 and 3 are muted.
        data.put((byte) 0x01).put((byte) 0xff).put((byte) 0x02).put((byte) 0xff);
        data.put(new byte[4]);
    }

    /** QEMU's values: reads CD-R/RW and DVD-ROM/R/RAM, audio play, tray, lockable, ejectable, 4x, 512 KiB buffer. */
    private void capabilitiesPage(ByteBuffer data) {
        data.put((byte) PAGE_CAPABILITIES).put((byte) 20);
        data.put((byte) 0x3b).put((byte) 0x00);
        data.put((byte) 0x71).put((byte) 0x60);
        data.put((byte) (0x29 | (locked ? 0x02 : 0x00))).put((byte) 0x00);
        data.putShort((short) 704).putShort((short) 2).putShort((short) 512).putShort((short) 704);
        data.put(new byte[6]);
    }

    /** START STOP UNIT: only the eject and load of LoEj do anything. */
    private void startStopUnit(byte[] cdb) {
        int flags = cdb[4] & 0xff;
        if ((flags & START_STOP_POWER_CONDITION) == 0 && (flags & START_STOP_LOAD_EJECT) != 0) {
            boolean load = (flags & START_STOP_START) != 0;
            if (!load && locked && !trayOpen) {
                checkCondition(SENSE_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED, ASCQ_REMOVAL_PREVENTED);
                return;
            }
            if (trayOpen == load && medium != null) {
                if (load) {
                    newMediaEvent = true;
                } else {
                    mediaRemovalEvent = true;
                }
            }
            trayOpen = !load;
        }
        commandOk();
    }

    /** READ DISC INFORMATION: a finalized single-session disc, QEMU's answer. */
    private void readDiscInformation(byte[] cdb) {
        if ((cdb[1] & 0x07) != 0) {
            invalidField();
            return;
        }
        byte[] data = new byte[DISC_INFORMATION_LENGTH];
        data[1] = (byte) (DISC_INFORMATION_LENGTH - 2);
        data[2] = 0x0e; // last session complete, disc finalized
        data[3] = 1; // first track
        data[4] = 1; // sessions
        data[5] = 1; // first track of the last session
        data[6] = 1; // last track of the last session
        data[7] = 0x20; // unrestricted use
        reply(data, data.length, be16(cdb, 7));
    }

    /** MECHANISM STATUS: no changer, one slot, the tray's state. */
    private void mechanismStatus(byte[] cdb) {
        byte[] data = new byte[8];
        data[1] = (byte) (trayOpen ? MECHANISM_STATUS_DOOR_OPEN : 0);
        data[5] = 1;
        reply(data, data.length, be16(cdb, 8));
    }

    // ---------------------------------------------------------------- helpers

    private static int be16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | b[at + 1] & 0xff;
    }

    private static long be32(byte[] b, int at) {
        return (long) be16(b, at) << 16 | be16(b, at + 2);
    }

    private static void ascii(byte[] data, int at, int length, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < length; i++) {
            data[at + i] = i < bytes.length ? bytes[i] : (byte) ' ';
        }
    }
}
