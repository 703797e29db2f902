package io.stubdm.devices.ide;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import java.util.function.BooleanSupplier;

/**
 * FreeBSD's ata(4) on one legacy channel of the PIIX, transcribed access for access from
 * sys/dev/ata/ata-lowlevel.c (ata_generic_reset, ata_wait, ata_generic_command, ata_begin_transaction,
 * ata_end_transaction, ata_pio_read) and sys/dev/ata/ata-pci.c (ata_pci_status in legacy mode, ata_pci_dmastart,
 * ata_pci_dmastop, the PRD table of ata_dmasetprd). Delays are left out; the interrupt handler runs when the
 * test sees the channel's ISA IRQ go high.
 */
final class FreeBsdAta {
    // sys/dev/ata/ata-all.h
    static final int ATA_DATA = 0;
    static final int ATA_ERROR = 1;
    static final int ATA_FEATURE = 1;
    static final int ATA_COUNT = 2;
    static final int ATA_IREASON = 2;
    static final int ATA_SECTOR = 3;
    static final int ATA_CYL_LSB = 4;
    static final int ATA_CYL_MSB = 5;
    static final int ATA_DRIVE = 6;
    static final int ATA_STATUS = 7;
    static final int ATA_COMMAND = 7;
    static final int ATA_D_LBA = 0x40;
    static final int ATA_D_IBM = 0xa0;
    static final int ATA_MASTER = 0x00;
    static final int ATA_SLAVE = 0x10;
    static final int ATA_S_ERROR = 0x01;
    static final int ATA_S_DRQ = 0x08;
    static final int ATA_S_DSC = 0x10;
    static final int ATA_S_READY = 0x40;
    static final int ATA_S_BUSY = 0x80;
    static final int ATA_E_ILI = 0x01;
    static final int ATA_A_IDS = 0x02;
    static final int ATA_A_RESET = 0x04;
    static final int ATA_A_4BIT = 0x08;
    static final int ATA_I_CMD = 0x01;
    static final int ATA_I_IN = 0x02;
    static final int ATAPI_MAGIC_LSB = 0x14;
    static final int ATAPI_MAGIC_MSB = 0xeb;
    static final int ATAPI_P_READ = ATA_S_DRQ | ATA_I_IN;
    static final int ATAPI_P_WRITE = ATA_S_DRQ;
    static final int ATAPI_P_CMDOUT = ATA_S_DRQ | ATA_I_CMD;
    static final int ATAPI_P_ABORT = 0;
    static final int ATAPI_P_DONE = ATA_I_CMD | ATA_I_IN;
    static final int ATA_ATA_MASTER = 0x01;
    static final int ATA_ATA_SLAVE = 0x02;
    static final int ATA_ATAPI_MASTER = 0x04;
    static final int ATA_ATAPI_SLAVE = 0x08;
    static final int ATA_BMCMD_PORT = 0;
    static final int ATA_BMSTAT_PORT = 2;
    static final int ATA_BMDTP_PORT = 4;
    static final int ATA_BMCMD_START_STOP = 0x01;
    static final int ATA_BMCMD_WRITE_READ = 0x08;
    static final int ATA_BMSTAT_ERROR = 0x02;
    static final int ATA_BMSTAT_INTERRUPT = 0x04;
    static final int ATA_BMSTAT_MASK = 0x07;
    static final long ATA_DMA_EOT = 0x8000_0000L;
    static final int ATA_READ_DMA = 0xc8;
    static final int ATA_ATA_IDENTIFY = 0xec;
    static final int ATA_ATAPI_IDENTIFY = 0xa1;
    static final int ATA_PACKET_CMD = 0xa0;

    private final SimVcpu cpu;
    private final GuestMemory ram;
    private final int io;
    private final int ctlr;
    private final int bm;
    private final BooleanSupplier irq;
    /** The reset loop's iteration count when it finished: 310 means it timed out (31 s on real hardware). */
    int resetIterations;

    FreeBsdAta(SimVcpu cpu, GuestMemory ram, int channel, int bmiba, BooleanSupplier irq) {
        this.cpu = cpu;
        this.ram = ram;
        this.io = channel == 0 ? 0x1f0 : 0x170;
        this.ctlr = channel == 0 ? 0x3f6 : 0x376;
        this.bm = bmiba + 8 * channel;
        this.irq = irq;
    }

    private int inb(int reg) {
        return cpu.inb(io + reg);
    }

    private void outb(int reg, int value) {
        cpu.outb(io + reg, value);
    }

    private int altstat() {
        return cpu.inb(ctlr);
    }

    /** ata_generic_reset: returns ch->devices. */
    int genericReset() {
        int ostat0;
        int stat0 = 0;
        int ostat1;
        int stat1 = 0;
        int err;
        int lsb;
        int msb;
        int mask = 0;
        outb(ATA_DRIVE, ATA_D_IBM | ATA_D_LBA | ATA_MASTER);
        ostat0 = inb(ATA_STATUS);
        if ((ostat0 & 0xf8) != 0xf8 && ostat0 != 0xa5) {
            stat0 = ATA_S_BUSY;
            mask |= 0x01;
        }
        outb(ATA_DRIVE, ATA_D_IBM | ATA_D_LBA | ATA_SLAVE);
        ostat1 = inb(ATA_STATUS);
        if ((ostat1 & 0xf8) != 0xf8 && ostat1 != 0xa5) {
            stat1 = ATA_S_BUSY;
            mask |= 0x02;
        }
        int devices = 0;
        if (mask == 0) {
            return devices;
        }
        outb(ATA_DRIVE, ATA_D_IBM | ATA_D_LBA | ATA_MASTER);
        cpu.outb(ctlr, ATA_A_IDS | ATA_A_RESET);
        cpu.outb(ctlr, ATA_A_IDS);
        inb(ATA_ERROR);
        int timeout;
        for (timeout = 0; timeout < 310; timeout++) {
            if ((mask & 0x01) != 0 && (stat0 & ATA_S_BUSY) != 0) {
                outb(ATA_DRIVE, ATA_D_IBM | ATA_MASTER);
                err = inb(ATA_ERROR);
                lsb = inb(ATA_CYL_LSB);
                msb = inb(ATA_CYL_MSB);
                stat0 = inb(ATA_STATUS);
                if (stat0 == err && lsb == err && msb == err && timeout > ((stat0 & ATA_S_BUSY) != 0 ? 100 : 10)) {
                    mask &= ~0x01;
                }
                if ((stat0 & ATA_S_BUSY) == 0) {
                    if ((err & 0x7f) == ATA_E_ILI) {
                        if (lsb == ATAPI_MAGIC_LSB && msb == ATAPI_MAGIC_MSB) {
                            devices |= ATA_ATAPI_MASTER;
                        } else if ((stat0 & ATA_S_READY) != 0) {
                            devices |= ATA_ATA_MASTER;
                        }
                    } else if ((stat0 & 0x0f) != 0 && err == lsb && err == msb) {
                        stat0 |= ATA_S_BUSY;
                    }
                }
            }
            if ((mask & 0x02) != 0 && (stat1 & ATA_S_BUSY) != 0
                    && !((mask & 0x01) != 0 && (stat0 & ATA_S_BUSY) != 0)) {
                outb(ATA_DRIVE, ATA_D_IBM | ATA_SLAVE);
                err = inb(ATA_ERROR);
                lsb = inb(ATA_CYL_LSB);
                msb = inb(ATA_CYL_MSB);
                stat1 = inb(ATA_STATUS);
                if (stat1 == err && lsb == err && msb == err && timeout > ((stat1 & ATA_S_BUSY) != 0 ? 100 : 10)) {
                    mask &= ~0x02;
                }
                if ((stat1 & ATA_S_BUSY) == 0) {
                    if ((err & 0x7f) == ATA_E_ILI) {
                        if (lsb == ATAPI_MAGIC_LSB && msb == ATAPI_MAGIC_MSB) {
                            devices |= ATA_ATAPI_SLAVE;
                        } else if ((stat1 & ATA_S_READY) != 0) {
                            devices |= ATA_ATA_SLAVE;
                        }
                    } else if ((stat1 & 0x0f) != 0 && err == lsb && err == msb) {
                        stat1 |= ATA_S_BUSY;
                    }
                }
            }
            if (mask == 0x00) {
                break;
            }
            if (mask == 0x01 && ((stat0 & ATA_S_BUSY) == 0 || (stat0 == 0xff && timeout > 10))) {
                break;
            }
            if (mask == 0x02 && ((stat1 & ATA_S_BUSY) == 0 || (stat1 == 0xff && timeout > 10))) {
                break;
            }
            if (mask == 0x03) {
                if ((stat0 & ATA_S_BUSY) == 0 && (stat1 & ATA_S_BUSY) == 0) {
                    break;
                }
                if (stat0 == 0xff && timeout > 20) {
                    mask &= ~0x01;
                }
                if (stat1 == 0xff && timeout > 20) {
                    mask &= ~0x02;
                }
            }
        }
        resetIterations = timeout;
        return devices;
    }

    /** ata_wait: poll ALTSTAT for !BUSY, then for every bit of {@code mask}; the error bit, or -2/-3. */
    int ataWait(int unit, int mask) {
        int status = 0;
        int timeout = 0;
        while (timeout < 1_000_000) {
            status = altstat();
            if (status == 0xff) {
                outb(ATA_DRIVE, ATA_D_IBM | unit);
                timeout += 1000;
                continue;
            }
            if ((status & ATA_S_BUSY) == 0) {
                break;
            }
            timeout += 10;
        }
        if (timeout >= 1_000_000) {
            return -2;
        }
        if (mask == 0) {
            return status & ATA_S_ERROR;
        }
        for (int i = 0; i < 5000; i++) {
            status = altstat();
            if ((status & mask) == mask) {
                return status & ATA_S_ERROR;
            }
        }
        return -3;
    }

    /** ata_generic_command for a 28-bit LBA command. */
    int genericCommand(int unit, int command, long lba, int count, int feature) {
        outb(ATA_DRIVE, ATA_D_IBM | ATA_D_LBA | unit);
        if (ataWait(unit, 0) < 0) {
            return -1;
        }
        cpu.outb(ctlr, ATA_A_4BIT);
        outb(ATA_FEATURE, feature);
        outb(ATA_COUNT, count);
        outb(ATA_SECTOR, (int) lba & 0xff);
        outb(ATA_CYL_LSB, (int) (lba >>> 8) & 0xff);
        outb(ATA_CYL_MSB, (int) (lba >>> 16) & 0xff);
        outb(ATA_DRIVE, ATA_D_IBM | ATA_D_LBA | unit | ((int) (lba >>> 24) & 0x0f));
        outb(ATA_COMMAND, command);
        return 0;
    }

    /** ata_interrupt → ata_pci_status (legacy: no BMSTAT check) → ata_end_transaction's status read. */
    private int awaitInterrupt() {
        IdeRig.pollUntil("the ATA interrupt", irq);
        if ((altstat() & ATA_S_BUSY) != 0) {
            throw new AssertionError("interrupt while busy");
        }
        return inb(ATA_STATUS); // "clear interrupt and get status"
    }

    /**
     * ata_getparam's IDENTIFY: a PIO read of 512 bytes through begin and end transaction; the data lands at
     * {@code buf} (INSL, since 512 is a multiple of 4). Returns the request's status.
     */
    int identify(int unit, boolean atapi, long buf) {
        if (genericCommand(unit, atapi ? ATA_ATAPI_IDENTIFY : ATA_ATA_IDENTIFY, 0, 1, 0) != 0) {
            return -1;
        }
        int status = awaitInterrupt();
        if ((status & ATA_S_ERROR) != 0) {
            return status;
        }
        if (ataWait(unit, ATA_S_READY | ATA_S_DSC | ATA_S_DRQ) < 0) {
            return -1;
        }
        cpu.ins(io + ATA_DATA, 4, buf, 128, false);
        return status;
    }

    /** ata_dmasetprd for one physically contiguous buffer of at most 64 KiB. */
    void loadPrd(long prd, long addr, int length) {
        ram.writeValue(prd, 4, addr);
        ram.writeValue(prd + 4, 4, (length & 0xffff) | ATA_DMA_EOT);
    }

    /** What ata_end_transaction made of a DMA request: the drive's status and ata_pci_dmastop's error. */
    record DmaResult(int status, int dmastat) {
    }

    /** A READ DMA of {@code count} sectors: load, command, dmastart, interrupt, end transaction with dmastop. */
    DmaResult readDma(int unit, long lba, int count, long prd) {
        if (genericCommand(unit, ATA_READ_DMA, lba, count, 0) != 0) {
            return new DmaResult(-1, -1);
        }
        cpu.outb(bm + ATA_BMSTAT_PORT, cpu.inb(bm + ATA_BMSTAT_PORT) | ATA_BMSTAT_INTERRUPT | ATA_BMSTAT_ERROR);
        cpu.outl(bm + ATA_BMDTP_PORT, prd);
        cpu.outb(bm + ATA_BMCMD_PORT, (cpu.inb(bm + ATA_BMCMD_PORT) & ~ATA_BMCMD_WRITE_READ)
                | ATA_BMCMD_WRITE_READ | ATA_BMCMD_START_STOP);
        int status = awaitInterrupt();
        cpu.outb(bm + ATA_BMCMD_PORT, cpu.inb(bm + ATA_BMCMD_PORT) & ~ATA_BMCMD_START_STOP);
        int error = cpu.inb(bm + ATA_BMSTAT_PORT) & ATA_BMSTAT_MASK;
        cpu.outb(bm + ATA_BMSTAT_PORT, ATA_BMSTAT_INTERRUPT | ATA_BMSTAT_ERROR);
        return new DmaResult(status, error);
    }

    /** What an ATAPI PIO request ended with: status, error and the bytes moved. */
    record AtapiResult(int status, int error, int donecount) {
    }

    /**
     * An ATAPI PIO request as CAM's cd(4) issues it through ata(4): PACKET with the transfer size as byte count
     * limit, the poll for CMDOUT, the 12-byte CDB, then one interrupt per phase until DONE.
     */
    AtapiResult atapi(int unit, byte[] cdb, int transfersize, int bytecount, long buf) {
        if (genericCommand(unit, ATA_PACKET_CMD, (long) transfersize << 8, 0, 0) != 0) {
            return new AtapiResult(-1, 0, 0);
        }
        int timeout = 5000;
        while (timeout-- > 0) {
            int reason = inb(ATA_IREASON);
            int status = inb(ATA_STATUS);
            if (((reason & (ATA_I_CMD | ATA_I_IN)) | (status & (ATA_S_DRQ | ATA_S_BUSY))) == ATAPI_P_CMDOUT) {
                break;
            }
        }
        if (timeout <= 0) {
            return new AtapiResult(-2, 0, 0);
        }
        byte[] packet = new byte[12];
        System.arraycopy(cdb, 0, packet, 0, Math.min(12, cdb.length));
        long cdbAddress = buf - 0x100;
        ram.write(cdbAddress, packet, 0, 12);
        cpu.outs(io + ATA_DATA, 2, cdbAddress, 6, false);
        int donecount = 0;
        for (;;) {
            int status = awaitInterrupt();
            int length = inb(ATA_CYL_LSB) | inb(ATA_CYL_MSB) << 8;
            int phase = (inb(ATA_IREASON) & (ATA_I_CMD | ATA_I_IN)) | (status & ATA_S_DRQ);
            switch (phase) {
                case ATAPI_P_READ -> {
                    int size = Math.min(Math.min(transfersize, bytecount - donecount), length);
                    if (size % 4 == 0) {
                        cpu.ins(io + ATA_DATA, 4, buf + donecount, size / 4, false);
                    } else {
                        cpu.ins(io + ATA_DATA, 2, buf + donecount, size / 2, false);
                    }
                    donecount += length;
                }
                case ATAPI_P_ABORT, ATAPI_P_DONE -> {
                    int error = (status & ATA_S_ERROR) != 0 ? inb(ATA_ERROR) : 0;
                    return new AtapiResult(status, error, donecount);
                }
                default -> throw new AssertionError("unknown transfer phase " + phase);
            }
        }
    }
}
