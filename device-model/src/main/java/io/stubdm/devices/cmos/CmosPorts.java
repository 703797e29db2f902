package io.stubdm.devices.cmos;

import io.stubdm.devices.Resettable;
import io.stubdm.firmware.CmosNvram;
import io.stubdm.ioreq.BusDevice;

/**
 * The device model's half of the MC146818 RTC at ports 0x70 (index) and 0x71 (data) under Xen, registered at
 * {@link #BASE_PORT} for {@link #PORT_COUNT} ports.
 *
 * <p>Xen emulates the clock registers 0-13 itself (xen/arch/x86/hvm/rtc.c). Its {@code rtc_ioport_write}
 * reports an index write handled only for an index below {@code RTC_CMOS_SIZE} (14), and a data access only
 * while its latched index is below 14; everything else comes here. So this device sees index writes of 14-127
 * and the data accesses that follow them, and serves those from a {@link CmosNvram}: the boot order SeaBIOS
 * reads, the memory sizes hvmloader writes. Xen answers reads of port 0x70 itself with 0xFF and only forwards
 * single-byte accesses; the device answers the same way and splits wider accesses into bytes, so a Xen that
 * forwarded more would still see the hardware's behaviour.
 *
 * <p>The NVRAM survives a {@link #reset()} as it survives a reboot on a PC (firmware reads the shutdown status
 * byte 0x0F after a reset to tell a resume from a cold boot); the latched index does not.
 */
public final class CmosPorts implements BusDevice, Resettable {
    public static final int BASE_PORT = 0x70;
    public static final int PORT_COUNT = 2;

    /** Bit 7 of an index write is the NMI mask on a PC; Xen and QEMU's mc146818 both ignore it. */
    private static final int NMI_DISABLE = 0x80;
    /** Latched after reset: below 14, so a data access before any index write names no byte of ours. */
    private static final int NO_INDEX = 0;

    private final CmosNvram nvram;
    private int index = NO_INDEX;
    private long clockIndexAccesses;

    public CmosPorts(CmosNvram nvram) {
        this.nvram = nvram;
    }

    @Override
    public long read(long offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (long) readPort(offset + i) << (8 * i);
        }
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            writePort(offset + i, (int) (value >>> (8 * i)) & 0xff);
        }
    }

    private int readPort(long port) {
        if (port == 0) {
            return 0xff; // the index register is write-only; Xen's rtc_ioport_read returns 0xFF for it too
        }
        if (index < CmosNvram.FIRST_INDEX) {
            clockIndexAccesses++;
            return 0xff;
        }
        return nvram.read(index);
    }

    private void writePort(long port, int value) {
        if (port == 0) {
            index = value & ~NMI_DISABLE;
        } else if (index < CmosNvram.FIRST_INDEX) {
            clockIndexAccesses++;
        } else {
            nvram.write(index, value);
        }
    }

    /** Keeps the NVRAM, forgets the index. */
    @Override
    public void reset() {
        index = NO_INDEX;
    }

    /** The latched index, NMI bit stripped. */
    public int index() {
        return index;
    }

    /**
     * Data accesses that reached the device while its index named one of Xen's clock registers (or none since
     * reset): Xen should never forward these, so a non-zero count means Xen and the device disagree about the
     * index. Each read 0xFF; each write was dropped.
     */
    public long clockIndexAccesses() {
        return clockIndexAccesses;
    }

    public CmosNvram nvram() {
        return nvram;
    }
}
