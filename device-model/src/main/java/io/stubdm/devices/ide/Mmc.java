package io.stubdm.devices.ide;

/**
 * Names from the SCSI commands a CD-ROM drive answers through the PACKET command: operation codes of SPC-3 and
 * MMC-3 (T10/1363-D), sense keys and additional sense codes (SPC-3 Annex D), and the codes of the pages and
 * features those commands return.
 */
public final class Mmc {
    private Mmc() {}

    // ---------------------------------------------------------------- operation codes

    public static final int TEST_UNIT_READY = 0x00;
    public static final int REQUEST_SENSE = 0x03;
    public static final int INQUIRY = 0x12;
    public static final int START_STOP_UNIT = 0x1b;
    public static final int PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e;
    public static final int READ_CAPACITY = 0x25;
    public static final int READ_10 = 0x28;
    public static final int SEEK_10 = 0x2b;
    public static final int READ_TOC_PMA_ATIP = 0x43;
    public static final int GET_CONFIGURATION = 0x46;
    public static final int GET_EVENT_STATUS_NOTIFICATION = 0x4a;
    public static final int READ_DISC_INFORMATION = 0x51;
    public static final int MODE_SENSE_10 = 0x5a;
    public static final int READ_12 = 0xa8;
    public static final int SET_CD_SPEED = 0xbb;
    public static final int MECHANISM_STATUS = 0xbd;
    public static final int READ_CD = 0xbe;

    // ---------------------------------------------------------------- sense keys

    public static final int SENSE_NO_SENSE = 0x00;
    public static final int SENSE_NOT_READY = 0x02;
    public static final int SENSE_MEDIUM_ERROR = 0x03;
    public static final int SENSE_ILLEGAL_REQUEST = 0x05;
    public static final int SENSE_UNIT_ATTENTION = 0x06;
    public static final int SENSE_ABORTED_COMMAND = 0x0b;

    // ---------------------------------------------------------------- additional sense codes (ASC, ASCQ)

    public static final int ASC_UNRECOVERED_READ_ERROR = 0x11;
    public static final int ASC_INVALID_COMMAND_OPERATION_CODE = 0x20;
    public static final int ASC_LBA_OUT_OF_RANGE = 0x21;
    public static final int ASC_INVALID_FIELD_IN_CDB = 0x24;
    public static final int ASC_MEDIUM_MAY_HAVE_CHANGED = 0x28;
    public static final int ASC_SAVING_PARAMETERS_NOT_SUPPORTED = 0x39;
    public static final int ASC_MEDIUM_NOT_PRESENT = 0x3a;
    public static final int ASCQ_TRAY_CLOSED = 0x01;
    public static final int ASCQ_TRAY_OPEN = 0x02;
    public static final int ASC_MEDIUM_REMOVAL_PREVENTED = 0x53;
    public static final int ASCQ_REMOVAL_PREVENTED = 0x02;

    // ---------------------------------------------------------------- INQUIRY (SPC-3)

    public static final int PERIPHERAL_DEVICE_TYPE_CDROM = 0x05;
    public static final int INQUIRY_REMOVABLE = 0x80;
    public static final int INQUIRY_EVPD = 0x01;

    // ---------------------------------------------------------------- REQUEST SENSE (SPC-3 fixed format sense data)

    public static final int SENSE_RESPONSE_CURRENT_FIXED = 0x70;
    public static final int FIXED_SENSE_LENGTH = 18;

    // ---------------------------------------------------------------- READ TOC formats (MMC-3)

    public static final int TOC_FORMAT_TOC = 0;
    public static final int TOC_FORMAT_SESSION_INFO = 1;
    public static final int TOC_FORMAT_FULL_TOC = 2;
    public static final int TOC_LEAD_OUT_TRACK = 0xaa;
    /** ADR 1 (Q sub-channel is position), control 4 (data track, copy prohibited off). */
    public static final int TOC_ADR_CONTROL_DATA = 0x14;
    /** Points of the full TOC: first track, last track and lead-out start (MMC-3 Table 235). */
    public static final int FULL_TOC_POINT_FIRST_TRACK = 0xa0;
    public static final int FULL_TOC_POINT_LAST_TRACK = 0xa1;
    public static final int FULL_TOC_POINT_LEAD_OUT = 0xa2;
    /** Sectors before logical block 0 on a CD: the two-second pregap, in 1/75 s frames. */
    public static final int MSF_LEAD_IN_FRAMES = 150;

    // ---------------------------------------------------------------- GET CONFIGURATION (MMC-3 features and profiles)

    public static final int FEATURE_PROFILE_LIST = 0x0000;
    public static final int FEATURE_CORE = 0x0001;
    public static final int FEATURE_REMOVABLE_MEDIUM = 0x0003;
    public static final int PROFILE_NONE = 0x0000;
    public static final int PROFILE_CD_ROM = 0x0008;
    public static final int PROFILE_DVD_ROM = 0x0010;
    /** Core feature: the physical interface standard is ATAPI. */
    public static final int INTERFACE_ATAPI = 0x00000002;

    // ---------------------------------------------------------------- GET EVENT STATUS NOTIFICATION (MMC-3)

    public static final int GESN_POLLED = 0x01;
    public static final int GESN_CLASS_MEDIA = 4;
    public static final int GESN_NO_EVENT_AVAILABLE = 0x80;
    public static final int MEDIA_EVENT_NO_CHANGE = 0;
    public static final int MEDIA_EVENT_NEW_MEDIA = 2;
    public static final int MEDIA_EVENT_MEDIA_REMOVAL = 3;
    public static final int MEDIA_STATUS_TRAY_OPEN = 0x01;
    public static final int MEDIA_STATUS_PRESENT = 0x02;

    // ---------------------------------------------------------------- MODE SENSE (SPC-3, MMC-3 mode pages)

    public static final int PAGE_CONTROL_CURRENT = 0;
    public static final int PAGE_CONTROL_SAVED = 3;
    public static final int PAGE_READ_WRITE_ERROR_RECOVERY = 0x01;
    public static final int PAGE_CD_AUDIO_CONTROL = 0x0e;
    public static final int PAGE_CAPABILITIES = 0x2a;
    public static final int PAGE_ALL = 0x3f;
    /** The mode header's medium type (SFF-8020i Table 87): 120 mm data disc, no disc, tray open. */
    public static final int MEDIUM_TYPE_DATA_DISC = 0x01;
    public static final int MEDIUM_TYPE_NO_DISC = 0x70;
    public static final int MEDIUM_TYPE_TRAY_OPEN = 0x71;

    // ---------------------------------------------------------------- START STOP UNIT, READ CD

    public static final int START_STOP_START = 0x01;
    public static final int START_STOP_LOAD_EJECT = 0x02;
    public static final int START_STOP_POWER_CONDITION = 0xf0;
    /** READ CD byte 9: which parts of each sector to return (MMC-3 Table 355); 10h is user data only. */
    public static final int READ_CD_FIELDS = 0xf8;
    public static final int READ_CD_NO_DATA = 0x00;
    public static final int READ_CD_USER_DATA = 0x10;
}
