package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;

/**
 * One drive position's copy of the command block registers. Both positions on a channel receive every host
 * write (they share the cable), while each drive writes its own results back (signature, ATAPI byte count), so
 * each keeps a copy, as QEMU's IDEState does. A write moves the value before it into the "previous" register
 * that 48-bit commands read as the high-order byte and that reads return while Device Control's HOB bit is set
 * (ATA/ATAPI-6, 48-bit Address feature set).
 */
final class TaskFile {
    int feature;
    int sectorCount;
    int lbaLow;
    int lbaMid;
    int lbaHigh;
    int previousFeature;
    int previousSectorCount;
    int previousLbaLow;
    int previousLbaMid;
    int previousLbaHigh;
    int device = DEVICE_OBSOLETE_ONES;

    /** A host write to register {@code reg} (1 to 6). */
    void hostWrite(int reg, int value) {
        switch (reg) {
            case REG_FEATURES -> {
                previousFeature = feature;
                feature = value;
            }
            case REG_SECTOR_COUNT -> {
                previousSectorCount = sectorCount;
                sectorCount = value;
            }
            case REG_LBA_LOW -> {
                previousLbaLow = lbaLow;
                lbaLow = value;
            }
            case REG_LBA_MID -> {
                previousLbaMid = lbaMid;
                lbaMid = value;
            }
            case REG_LBA_HIGH -> {
                previousLbaHigh = lbaHigh;
                lbaHigh = value;
            }
            default -> device = value | DEVICE_OBSOLETE_ONES;
        }
    }

    /** Registers 2 to 6 as the host reads them; {@code hob} selects the previous values. */
    int hostRead(int reg, boolean hob) {
        return switch (reg) {
            case REG_SECTOR_COUNT -> hob ? previousSectorCount : sectorCount;
            case REG_LBA_LOW -> hob ? previousLbaLow : lbaLow;
            case REG_LBA_MID -> hob ? previousLbaMid : lbaMid;
            case REG_LBA_HIGH -> hob ? previousLbaHigh : lbaHigh;
            default -> device;
        };
    }

    boolean lbaAddressing() {
        return (device & DEVICE_LBA) != 0;
    }

    long lba28() {
        return (long) (device & DEVICE_HEAD) << 24 | lbaHigh << 16 | lbaMid << 8 | lbaLow;
    }

    long lba48() {
        return (long) previousLbaHigh << 40 | (long) previousLbaMid << 32 | (long) previousLbaLow << 24
                | lbaHigh << 16 | lbaMid << 8 | lbaLow;
    }

    /** Sector Count of a 28-bit command: 0 means 256. */
    int count28() {
        return sectorCount == 0 ? 256 : sectorCount;
    }

    /** Sector Count of a 48-bit command: 0 means 65536. */
    int count48() {
        int count = previousSectorCount << 8 | sectorCount;
        return count == 0 ? 65536 : count;
    }

    void setLba28(long lba) {
        lbaLow = (int) lba & 0xff;
        lbaMid = (int) (lba >>> 8) & 0xff;
        lbaHigh = (int) (lba >>> 16) & 0xff;
        device = (device & ~DEVICE_HEAD) | (int) (lba >>> 24) & DEVICE_HEAD;
    }

    void setLba48(long lba) {
        lbaLow = (int) lba & 0xff;
        lbaMid = (int) (lba >>> 8) & 0xff;
        lbaHigh = (int) (lba >>> 16) & 0xff;
        previousLbaLow = (int) (lba >>> 24) & 0xff;
        previousLbaMid = (int) (lba >>> 32) & 0xff;
        previousLbaHigh = (int) (lba >>> 40) & 0xff;
    }

    /** The byte count limit (or count) of the PACKET protocol, in LBA Mid/High. */
    int byteCount() {
        return lbaHigh << 8 | lbaMid;
    }

    void setByteCount(int count) {
        lbaMid = count & 0xff;
        lbaHigh = (count >>> 8) & 0xff;
    }

    /** Interrupt Reason's CoD/IO/REL bits, leaving the host's tag in bits 7:3 alone. */
    void setInterruptReason(int bits) {
        sectorCount = (sectorCount & ~0x07) | bits;
    }

    /** Power-on values, then the signature a reset leaves: count and LBA Low 1, head 0. */
    void resetWithSignature(int lbaMidValue, int lbaHighValue) {
        feature = 0;
        previousFeature = 0;
        previousSectorCount = 0;
        previousLbaLow = 0;
        previousLbaMid = 0;
        previousLbaHigh = 0;
        device = DEVICE_OBSOLETE_ONES;
        sectorCount = 1;
        lbaLow = 1;
        lbaMid = lbaMidValue;
        lbaHigh = lbaHighValue;
    }

    /** The signature alone, as IDENTIFY DEVICE leaves it on a PACKET device and QEMU's ide_set_signature. */
    void signature(int lbaMidValue, int lbaHighValue) {
        device &= ~DEVICE_HEAD;
        sectorCount = 1;
        lbaLow = 1;
        lbaMid = lbaMidValue;
        lbaHigh = lbaHighValue;
    }
}
