package io.stubdm.devices.ide;

import static io.stubdm.devices.ide.Ata.*;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.Resettable;
import io.stubdm.ioreq.BusDevice;

/**
 * One IDE channel (cable): a master and a slave position, the command block (eight ports), the control block
 * (one port: Alternate Status / Device Control), one interrupt line and the channel's bus-master engine.
 *
 * <p>Register semantics follow QEMU's hw/ide/core.c, which SeaBIOS, Linux and FreeBSD are known to accept:
 * <ul>
 *   <li>Writes to registers 1-6 go to both positions' task files and are ignored while the selected drive has
 *       BSY or DRQ set; a write to the Command register goes to the selected drive only and clears the pending
 *       interrupt.</li>
 *   <li>Reading Status clears the pending interrupt; reading Alternate Status does not (ATA/ATAPI-6, Status
 *       and Alternate Status registers).</li>
 *   <li>A channel with no drive reads 0 from every register. An empty position next to a drive reads 0 from
 *       Status and Error, ignores commands, and reads the latched task file otherwise (the drive present
 *       answers for it, as a real device 0 answers for a missing device 1). SeaBIOS's 0x55/0xAA latch test
 *       therefore passes for a missing slave, and it is its following check, "status 0: can't be a valid
 *       drive", that skips it; FreeBSD's ata_generic_reset sees a slave that is not busy and has no signature
 *       and moves on at once; Linux's classify gives up on it after one IDENTIFY, as with QEMU.</li>
 *   <li>Software reset: setting SRST makes both drives busy and stops what they were doing; clearing it
 *       completes the reset (signature, diagnostic code 01h, device 0 selected) without an interrupt, so BSY
 *       is visible for exactly as long as the host holds SRST (ATA/ATAPI-6 software reset protocol).</li>
 *   <li>The interrupt line is the pending interrupt gated by nIEN; a pending interrupt shows once nIEN is
 *       cleared (ATA/ATAPI-6, INTRQ). Each assertion sets the bus-master INTERRUPT bit.</li>
 * </ul>
 */
final class IdeChannel implements Resettable {
    final int index;
    final BusMasterDma dma;
    private final IrqLine irq;
    private final TaskFile[] taskFiles = {new TaskFile(), new TaskFile()};
    private final IdeDrive[] drives = new IdeDrive[2];
    private final BusDevice commandBlock = new CommandBlock();
    private final BusDevice controlBlock = new ControlBlock();
    private int unit;
    private int control;
    private boolean interruptPending;
    private boolean lineHigh;

    IdeChannel(int index, IrqLine irq, BusMasterDma dma) {
        this.index = index;
        this.irq = irq;
        this.dma = dma;
        reset();
    }

    /** Data, Error/Features, Sector Count, LBA Low/Mid/High, Device, Status/Command: 0x1F0 or 0x170. */
    BusDevice commandBlock() {
        return commandBlock;
    }

    /** Alternate Status / Device Control: 0x3F6 or 0x376. */
    BusDevice controlBlock() {
        return controlBlock;
    }

    void attach(int position, IdeDrive drive) {
        if (drives[position] != null) {
            throw new IllegalArgumentException("IDE channel " + index + " position " + position + " holds "
                    + drives[position].name() + " already");
        }
        drive.attach(this, position, taskFiles[position]);
        drives[position] = drive;
    }

    /** Takes the drive out; the position reads as empty from now on. */
    IdeDrive detach(int position) {
        IdeDrive d = drives[position];
        drives[position] = null;
        if (d != null) {
            d.detach();
            taskFiles[position].resetWithSignature(SIGNATURE_NONE, SIGNATURE_NONE);
        }
        return d;
    }

    IdeDrive drive(int position) {
        return drives[position];
    }

    /** The drive asserts INTRQ. */
    void interrupt() {
        interruptPending = true;
        updateLine(true);
    }

    private void clearInterrupt() {
        interruptPending = false;
        updateLine(false);
    }

    private void updateLine(boolean newInterrupt) {
        boolean level = interruptPending && (control & CONTROL_NIEN) == 0;
        if (level && (newInterrupt || !lineHigh)) {
            dma.interruptRaised();
        }
        if (level != lineHigh) {
            lineHigh = level;
            irq.setLevel(level);
        }
    }

    private boolean empty() {
        return drives[0] == null && drives[1] == null;
    }

    // ---------------------------------------------------------------- registers

    private int readRegister(int reg) {
        if (reg == REG_STATUS) {
            clearInterrupt();
        }
        if (reg == REG_DATA) {
            // Byte reads of the data port move no data (QEMU's ide_ioport_read answers 0xFF).
            return 0xff;
        }
        if (empty()) {
            return 0;
        }
        IdeDrive d = drives[unit];
        boolean hob = (control & CONTROL_HOB) != 0;
        return switch (reg) {
            case REG_ERROR -> d == null ? 0 : hob ? taskFiles[unit].previousFeature : d.error;
            case REG_STATUS -> d == null ? 0 : d.status;
            default -> taskFiles[unit].hostRead(reg, hob);
        };
    }

    private void writeRegister(int reg, int value) {
        IdeDrive d = drives[unit];
        if (reg == REG_COMMAND) {
            control &= ~CONTROL_HOB;
            clearInterrupt();
            if (d != null) {
                d.command(value);
            }
            return;
        }
        if (reg == REG_DATA || (d != null && d.busy())) {
            return;
        }
        control &= ~CONTROL_HOB;
        taskFiles[0].hostWrite(reg, value);
        taskFiles[1].hostWrite(reg, value);
        if (reg == REG_DEVICE) {
            unit = (value & DEVICE_DEV) != 0 ? 1 : 0;
        }
    }

    private int alternateStatus() {
        IdeDrive d = drives[unit];
        return d == null ? 0 : d.status;
    }

    private void writeDeviceControl(int value) {
        boolean wasReset = (control & CONTROL_SRST) != 0;
        boolean reset = (value & CONTROL_SRST) != 0;
        control = value;
        if (reset && !wasReset) {
            interruptPending = false;
            for (IdeDrive d : drives) {
                if (d != null) {
                    d.holdInReset();
                }
            }
        } else if (wasReset && !reset) {
            unit = 0;
            for (int i = 0; i < 2; i++) {
                if (drives[i] != null) {
                    drives[i].softwareReset();
                } else {
                    taskFiles[i].resetWithSignature(SIGNATURE_NONE, SIGNATURE_NONE);
                }
            }
        }
        updateLine(false);
    }

    /** Power-on state; drives keep their media but lose their settings. */
    @Override
    public void reset() {
        control = 0;
        unit = 0;
        interruptPending = false;
        updateLine(false);
        dma.reset();
        for (int i = 0; i < 2; i++) {
            if (drives[i] != null) {
                drives[i].powerOnReset();
            } else {
                taskFiles[i].resetWithSignature(SIGNATURE_NONE, SIGNATURE_NONE);
            }
        }
    }

    private final class CommandBlock implements BusDevice {
        @Override
        public long read(long offset, int size) {
            if (offset == REG_DATA && size > 1) {
                IdeDrive d = drives[unit];
                return d == null ? 0 : d.dataRead(size);
            }
            long value = 0;
            for (int i = 0; i < size; i++) {
                value |= (long) readRegister((int) offset + i) << (8 * i);
            }
            return value;
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset == REG_DATA && size > 1) {
                IdeDrive d = drives[unit];
                if (d != null) {
                    d.dataWrite(size, value);
                }
                return;
            }
            for (int i = 0; i < size; i++) {
                writeRegister((int) offset + i, (int) (value >>> (8 * i)) & 0xff);
            }
        }
    }

    private final class ControlBlock implements BusDevice {
        @Override
        public long read(long offset, int size) {
            // One port wide, so the bus hands it byte accesses only.
            return alternateStatus();
        }

        @Override
        public void write(long offset, int size, long value) {
            writeDeviceControl((int) value & 0xff);
        }
    }
}
