package io.stubdm.hypervisor;

/**
 * The shared-page ABI between Xen and a device model, from {@code xen/include/public/hvm/ioreq.h} (Xen 4.17).
 * Offsets are checked against libxen-dev's headers by {@code AbiOffsetsTest}.
 *
 * <p>Both pages are little-endian. The synchronous page holds one {@code ioreq_t} per vCPU; the buffered page
 * is a ring of 511 eight-byte slots behind a read and a write pointer.
 */
public final class IoreqAbi {
    private IoreqAbi() {}

    public static final int PAGE_SIZE = 4096;

    // ---- ioreq_t (32 bytes) ----
    public static final int IOREQ_SIZE = 32;
    public static final int OFF_ADDR = 0;
    public static final int OFF_DATA = 8;
    public static final int OFF_COUNT = 16;
    public static final int OFF_SIZE = 20;
    public static final int OFF_VP_EPORT = 24;
    public static final int OFF_PAD0 = 28;
    /** The bit-field byte: state (bits 0-3), data_is_ptr (4), dir (5), df (6). */
    public static final int OFF_FLAGS = 30;
    public static final int OFF_TYPE = 31;

    public static final int FLAG_STATE_MASK = 0x0f;
    public static final int FLAG_DATA_IS_PTR = 0x10;
    public static final int FLAG_DIR_READ = 0x20;
    public static final int FLAG_DF = 0x40;

    /** One page of ioreq_t slots serves at most this many vCPUs (HVM_MAX_VCPUS). */
    public static final int MAX_VCPUS = PAGE_SIZE / IOREQ_SIZE;

    public static final int STATE_IOREQ_NONE = 0;
    public static final int STATE_IOREQ_READY = 1;
    public static final int STATE_IOREQ_INPROCESS = 2;
    public static final int STATE_IORESP_READY = 3;

    public static final int IOREQ_TYPE_PIO = 0;
    public static final int IOREQ_TYPE_COPY = 1;
    public static final int IOREQ_TYPE_PCI_CONFIG = 2;
    public static final int IOREQ_TYPE_TIMEOFFSET = 7;
    public static final int IOREQ_TYPE_INVALIDATE = 8;

    public static final int IOREQ_WRITE = 0;
    public static final int IOREQ_READ = 1;

    // ---- buffered_iopage_t (4096 bytes) ----
    public static final int BUF_OFF_READ_POINTER = 0;
    public static final int BUF_OFF_WRITE_POINTER = 4;
    public static final int BUF_OFF_SLOTS = 8;
    public static final int BUF_SLOT_SIZE = 8;
    /** IOREQ_BUFFER_SLOT_NUM: 8 + 511 * 8 = 4096. */
    public static final int BUF_SLOT_NUM = 511;

    // buf_ioreq_t word 0: type bits 0-7, pad bit 8, dir bit 9, size bits 10-11 (log2), addr bits 12-31
    public static final int BUF_TYPE_MASK = 0xff;
    public static final int BUF_DIR_SHIFT = 9;
    public static final int BUF_SIZE_SHIFT = 10;
    public static final int BUF_ADDR_SHIFT = 12;
    /** Only addresses below 1 MiB fit the 20-bit field, so only those are ever buffered. */
    public static final long BUF_ADDR_LIMIT = 1L << 20;

    // ---- create_ioreq_server handle_bufioreq ----
    public static final int HVM_IOREQSRV_BUFIOREQ_OFF = 0;
    public static final int HVM_IOREQSRV_BUFIOREQ_LEGACY = 1;
    public static final int HVM_IOREQSRV_BUFIOREQ_ATOMIC = 2;

    // ---- XENMEM_acquire_resource ----
    public static final int XENMEM_RESOURCE_IOREQ_SERVER = 0;
    public static final int XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ = 0;

    /** XENMEM_resource_ioreq_server_frame_ioreq(n). */
    public static int resourceFrameIoreq(int n) {
        return 1 + n;
    }

    /** XEN_DMOP_PCI_SBDF: the start and end of a PCI range mapped to an ioreq server. */
    public static long pciSbdf(int segment, int bus, int device, int function) {
        return ((long) (segment & 0xffff) << 16) | ((bus & 0xff) << 8) | ((device & 0x1f) << 3) | (function & 0x07);
    }

    public static String typeName(int type) {
        switch (type) {
            case IOREQ_TYPE_PIO: return "pio";
            case IOREQ_TYPE_COPY: return "mmio";
            case IOREQ_TYPE_PCI_CONFIG: return "pci-config";
            case IOREQ_TYPE_TIMEOFFSET: return "timeoffset";
            case IOREQ_TYPE_INVALIDATE: return "invalidate";
            default: return "type-" + type;
        }
    }
}
