package io.stubdm.ioreq;

import java.util.ArrayList;
import java.util.List;

/** A device with a little-endian register file that records every access, for checking what the bus delivered. */
final class RecordingDevice implements BusDevice {
    final byte[] regs;
    final List<String> log = new ArrayList<>();
    /** Reads of a FIFO-like register at offset 0 return successive values when set. */
    long nextFifoValue = -1;

    RecordingDevice(int size) {
        regs = new byte[size];
    }

    @Override
    public long read(long offset, int size) {
        long v;
        if (offset == 0 && nextFifoValue >= 0) {
            v = nextFifoValue++;
        } else {
            v = 0;
            for (int i = size - 1; i >= 0; i--) {
                v = (v << 8) | (regs[(int) offset + i] & 0xff);
            }
        }
        log.add(String.format("r%d@%x=%x", size, offset, v & io.stubdm.hypervisor.ByteValues.mask(size)));
        return v;
    }

    @Override
    public void write(long offset, int size, long value) {
        log.add(String.format("w%d@%x=%x", size, offset, value));
        for (int i = 0; i < size; i++) {
            regs[(int) offset + i] = (byte) (value >>> (8 * i));
        }
    }
}
