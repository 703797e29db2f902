package io.stubdm.devices.ide;

/**
 * Names from ATA/ATAPI-6 (T13/1410D revision 3b): the task-file registers, their bits, the device signatures
 * and the command codes an IDE drive answers, as that standard's register and command descriptions define them.
 */
public final class Ata {
    private Ata() {}

    // ---------------------------------------------------------------- command block registers

    public static final int REG_DATA = 0;
    /** Error on read, Features on write. */
    public static final int REG_ERROR = 1;
    public static final int REG_FEATURES = 1;
    /** Sector Count; for the PACKET command the Interrupt Reason register. */
    public static final int REG_SECTOR_COUNT = 2;
    public static final int REG_LBA_LOW = 3;
    /** LBA Mid; for the PACKET command the Byte Count low byte. */
    public static final int REG_LBA_MID = 4;
    /** LBA High; for the PACKET command the Byte Count high byte. */
    public static final int REG_LBA_HIGH = 5;
    public static final int REG_DEVICE = 6;
    /** Status on read, Command on write. */
    public static final int REG_STATUS = 7;
    public static final int REG_COMMAND = 7;
    public static final int COMMAND_BLOCK_SIZE = 8;

    // ---------------------------------------------------------------- Status

    public static final int STATUS_BSY = 0x80;
    public static final int STATUS_DRDY = 0x40;
    /** Device Fault: never set, stubdm's drives have no fault to report. */
    public static final int STATUS_DF = 0x20;
    /** Device Seek Complete; FreeBSD's ata_wait insists on it next to DRDY and DRQ for PIO data. */
    public static final int STATUS_DSC = 0x10;
    public static final int STATUS_DRQ = 0x08;
    public static final int STATUS_ERR = 0x01;

    // ---------------------------------------------------------------- Error

    public static final int ERROR_UNC = 0x40;
    public static final int ERROR_IDNF = 0x10;
    public static final int ERROR_ABRT = 0x04;
    /** After a reset or EXECUTE DEVICE DIAGNOSTIC the register holds a diagnostic code; 01h is "passed". */
    public static final int DIAGNOSTIC_PASSED = 0x01;

    // ---------------------------------------------------------------- Device and Device Control

    public static final int DEVICE_LBA = 0x40;
    public static final int DEVICE_DEV = 0x10;
    public static final int DEVICE_HEAD = 0x0f;
    /** Bits 7 and 5 are obsolete and read back as one on every drive QEMU emulates (ATA_DEV_ALWAYS_ON). */
    public static final int DEVICE_OBSOLETE_ONES = 0xa0;

    public static final int CONTROL_NIEN = 0x02;
    public static final int CONTROL_SRST = 0x04;
    public static final int CONTROL_HOB = 0x80;

    // ---------------------------------------------------------------- PACKET protocol

    /** Interrupt Reason bits: Command/Data and I/O direction (1 = to the host). */
    public static final int IREASON_COD = 0x01;
    public static final int IREASON_IO = 0x02;
    /** Features bits of the PACKET command. */
    public static final int PACKET_FEATURE_DMA = 0x01;
    public static final int PACKET_FEATURE_OVERLAP = 0x02;
    public static final int PACKET_SIZE = 12;

    // ---------------------------------------------------------------- signatures ("Signature and persistence")

    /** LBA Mid/High after a reset: 00h/00h for an ATA device, 14h/EBh for a PACKET device. */
    public static final int SIGNATURE_ATAPI_MID = 0x14;
    public static final int SIGNATURE_ATAPI_HIGH = 0xeb;
    /** What an empty position shows (QEMU's ide_set_signature for a drive without a medium). */
    public static final int SIGNATURE_NONE = 0xff;

    // ---------------------------------------------------------------- commands (the command code table of Annex B)

    public static final int CMD_NOP = 0x00;
    public static final int CMD_DEVICE_RESET = 0x08;
    public static final int CMD_RECALIBRATE = 0x10;
    public static final int CMD_READ_SECTORS = 0x20;
    public static final int CMD_READ_SECTORS_WITHOUT_RETRY = 0x21;
    public static final int CMD_READ_SECTORS_EXT = 0x24;
    public static final int CMD_READ_DMA_EXT = 0x25;
    public static final int CMD_READ_NATIVE_MAX_ADDRESS_EXT = 0x27;
    public static final int CMD_READ_MULTIPLE_EXT = 0x29;
    public static final int CMD_WRITE_SECTORS = 0x30;
    public static final int CMD_WRITE_SECTORS_WITHOUT_RETRY = 0x31;
    public static final int CMD_WRITE_SECTORS_EXT = 0x34;
    public static final int CMD_WRITE_DMA_EXT = 0x35;
    public static final int CMD_WRITE_MULTIPLE_EXT = 0x39;
    public static final int CMD_READ_VERIFY_SECTORS = 0x40;
    public static final int CMD_READ_VERIFY_SECTORS_WITHOUT_RETRY = 0x41;
    public static final int CMD_READ_VERIFY_SECTORS_EXT = 0x42;
    public static final int CMD_SEEK = 0x70;
    public static final int CMD_EXECUTE_DEVICE_DIAGNOSTIC = 0x90;
    public static final int CMD_INITIALIZE_DEVICE_PARAMETERS = 0x91;
    /** The 9xh power-management codes are ATA-1's spellings of the Exh ones. */
    public static final int CMD_STANDBY_IMMEDIATE_ALT = 0x94;
    public static final int CMD_IDLE_IMMEDIATE_ALT = 0x95;
    public static final int CMD_STANDBY_ALT = 0x96;
    public static final int CMD_IDLE_ALT = 0x97;
    public static final int CMD_CHECK_POWER_MODE_ALT = 0x98;
    public static final int CMD_SLEEP_ALT = 0x99;
    public static final int CMD_PACKET = 0xa0;
    public static final int CMD_IDENTIFY_PACKET_DEVICE = 0xa1;
    public static final int CMD_READ_MULTIPLE = 0xc4;
    public static final int CMD_WRITE_MULTIPLE = 0xc5;
    public static final int CMD_SET_MULTIPLE_MODE = 0xc6;
    public static final int CMD_READ_DMA = 0xc8;
    public static final int CMD_READ_DMA_WITHOUT_RETRY = 0xc9;
    public static final int CMD_WRITE_DMA = 0xca;
    public static final int CMD_WRITE_DMA_WITHOUT_RETRY = 0xcb;
    public static final int CMD_STANDBY_IMMEDIATE = 0xe0;
    public static final int CMD_IDLE_IMMEDIATE = 0xe1;
    public static final int CMD_STANDBY = 0xe2;
    public static final int CMD_IDLE = 0xe3;
    public static final int CMD_CHECK_POWER_MODE = 0xe5;
    public static final int CMD_SLEEP = 0xe6;
    public static final int CMD_FLUSH_CACHE = 0xe7;
    public static final int CMD_FLUSH_CACHE_EXT = 0xea;
    public static final int CMD_IDENTIFY_DEVICE = 0xec;
    public static final int CMD_SET_FEATURES = 0xef;
    public static final int CMD_READ_NATIVE_MAX_ADDRESS = 0xf8;

    /** CHECK POWER MODE's answer in Sector Count: active or idle. */
    public static final int POWER_MODE_ACTIVE = 0xff;

    // ---------------------------------------------------------------- SET FEATURES subcommands

    public static final int FEATURE_ENABLE_WRITE_CACHE = 0x02;
    public static final int FEATURE_SET_TRANSFER_MODE = 0x03;
    public static final int FEATURE_ENABLE_APM = 0x05;
    public static final int FEATURE_ENABLE_AAM = 0x42;
    public static final int FEATURE_DISABLE_READ_LOOK_AHEAD = 0x55;
    public static final int FEATURE_DISABLE_REVERTING_TO_DEFAULTS = 0x66;
    public static final int FEATURE_DISABLE_WRITE_CACHE = 0x82;
    public static final int FEATURE_DISABLE_APM = 0x85;
    public static final int FEATURE_ENABLE_READ_LOOK_AHEAD = 0xaa;
    public static final int FEATURE_DISABLE_AAM = 0xc2;
    public static final int FEATURE_ENABLE_REVERTING_TO_DEFAULTS = 0xcc;

    /** SET TRANSFER MODE values in Sector Count: the type in bits 7:3, the mode in 2:0. */
    public static final int XFER_PIO_DEFAULT = 0x00;
    public static final int XFER_PIO_DEFAULT_NO_IORDY = 0x01;
    public static final int XFER_PIO_FLOW_CONTROL = 0x08;
    public static final int XFER_SINGLEWORD_DMA = 0x10;
    public static final int XFER_MULTIWORD_DMA = 0x20;
    public static final int XFER_ULTRA_DMA = 0x40;
    public static final int XFER_MODE = 0x07;
}
