package io.stubdm.devices.ide;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.BooleanSupplier;

/**
 * Linux's ata_piix on one legacy channel, transcribed access for access from drivers/ata/ata_piix.c
 * (piix_pata_prereset) and drivers/ata/libata-sff.c (ata_devchk, ata_sff_softreset, ata_bus_softreset,
 * ata_sff_wait_after_reset, ata_sff_dev_classify, ata_sff_tf_load, the polled PIO IDENTIFY of ata_dev_read_id,
 * ata_bmdma_setup/start/stop, ata_bmdma_port_intr, ata_bmdma_irq_clear). ata_piix uses the 32-bit data
 * accessors (ata_bmdma32_port_ops). Sleeps are left out.
 */
final class LinuxAtaPiix {
    // include/linux/ata.h
    static final int ATA_REG_DATA = 0;
    static final int ATA_REG_ERR = 1;
    static final int ATA_REG_FEATURE = 1;
    static final int ATA_REG_NSECT = 2;
    static final int ATA_REG_LBAL = 3;
    static final int ATA_REG_LBAM = 4;
    static final int ATA_REG_LBAH = 5;
    static final int ATA_REG_DEVICE = 6;
    static final int ATA_REG_STATUS = 7;
    static final int ATA_REG_CMD = 7;
    static final int ATA_BUSY = 0x80;
    static final int ATA_DRDY = 0x40;
    static final int ATA_DF = 0x20;
    static final int ATA_DRQ = 0x08;
    static final int ATA_ERR = 0x01;
    static final int ATA_NIEN = 0x02;
    static final int ATA_SRST = 0x04;
    static final int ATA_HOB = 0x80;
    static final int ATA_DEVCTL_OBS = 0x08;
    static final int ATA_DEVICE_OBS = 0xa0;
    static final int ATA_DEV1 = 0x10;
    static final int ATA_LBA = 0x40;
    static final int ATA_DMA_CMD = 0;
    static final int ATA_DMA_STATUS = 2;
    static final int ATA_DMA_TABLE_OFS = 4;
    static final int ATA_DMA_WR = 0x08;
    static final int ATA_DMA_START = 0x01;
    static final int ATA_DMA_INTR = 0x04;
    static final int ATA_DMA_ERR = 0x02;
    static final long ATA_PRD_EOT = 0x8000_0000L;
    static final int ATA_CMD_ID_ATA = 0xec;
    static final int ATA_CMD_ID_ATAPI = 0xa1;

    /** libata's device classes (ATA_DEV_*), as far as a PATA port produces them. */
    enum DevClass { ATA, ATAPI, NONE, UNKNOWN }

    private final SimVcpu cpu;
    private final GuestMemory ram;
    private final int cmd;
    private final int ctl;
    private final int bmdma;
    private final int port;
    private final BooleanSupplier irq;
    private int apCtl = ATA_DEVCTL_OBS;
    private int lastCtl = -1;

    /** Port {@code port} (0 primary, 1 secondary) of the controller at BAR4 {@code bmiba}; {@code irq} is its line. */
    LinuxAtaPiix(SimVcpu cpu, GuestMemory ram, int port, int bmiba, BooleanSupplier irq) {
        this.cpu = cpu;
        this.ram = ram;
        this.port = port;
        this.cmd = port == 0 ? 0x1f0 : 0x170;
        this.ctl = port == 0 ? 0x3f6 : 0x376;
        this.bmdma = bmiba + 8 * port;
        this.irq = irq;
    }

    /** piix_pata_prereset: piix_enable_bits {0x41, 1, 0x80, 0x80} / {0x43, ...}; a disabled port is skipped. */
    boolean portEnabled(PciConfig config) {
        return (config.read(port == 0 ? 0x41 : 0x43, 1) & 0x80) == 0x80;
    }

    /** PCI config access the way pci_read_config_byte sees it. */
    interface PciConfig {
        long read(int reg, int size);
    }

    private int status() {
        return cpu.inb(cmd + ATA_REG_STATUS);
    }

    private int altstatus() {
        return cpu.inb(ctl);
    }

    void devSelect(int device) {
        cpu.outb(cmd + ATA_REG_DEVICE, device == 0 ? ATA_DEVICE_OBS : ATA_DEVICE_OBS | ATA_DEV1);
        altstatus(); // ata_sff_pause
    }

    boolean devchk(int device) {
        devSelect(device);
        cpu.outb(cmd + ATA_REG_NSECT, 0x55);
        cpu.outb(cmd + ATA_REG_LBAL, 0xaa);
        cpu.outb(cmd + ATA_REG_NSECT, 0xaa);
        cpu.outb(cmd + ATA_REG_LBAL, 0x55);
        cpu.outb(cmd + ATA_REG_NSECT, 0x55);
        cpu.outb(cmd + ATA_REG_LBAL, 0xaa);
        int nsect = cpu.inb(cmd + ATA_REG_NSECT);
        int lbal = cpu.inb(cmd + ATA_REG_LBAL);
        return nsect == 0x55 && lbal == 0xaa;
    }

    /** ata_sff_wait_ready: 0 when BSY clears, -ENODEV (-19) for a floating bus. */
    private int waitReady() {
        long deadline = System.nanoTime() + 5_000_000_000L;
        for (;;) {
            int status = status();
            if ((status & ATA_BUSY) == 0) {
                return 0;
            }
            if (status == 0xff) {
                return -19;
            }
            if (System.nanoTime() > deadline) {
                return -16;
            }
        }
    }

    /** ata_sff_softreset on a PATA port (ATA_FLAG_SLAVE_POSS): the classes of device 0 and 1. */
    DevClass[] softreset() {
        int devmask = 0;
        if (devchk(0)) {
            devmask |= 1;
        }
        if (devchk(1)) {
            devmask |= 2;
        }
        devSelect(0);
        cpu.outb(ctl, apCtl);
        cpu.outb(ctl, apCtl | ATA_SRST);
        cpu.outb(ctl, apCtl);
        lastCtl = apCtl;
        int rc = waitAfterReset(devmask);
        if (rc != 0 && rc != -19) {
            throw new AssertionError("SRST failed (errno=" + rc + ")");
        }
        DevClass[] classes = {DevClass.NONE, DevClass.NONE};
        int[] err = new int[1];
        classes[0] = classify(0, (devmask & 1) != 0, err);
        if (err[0] != 0x81) {
            classes[1] = classify(1, (devmask & 2) != 0, err);
        }
        return classes;
    }

    private int waitAfterReset(int devmask) {
        int rc = waitReady();
        if (rc != 0) {
            return rc;
        }
        int ret = 0;
        if ((devmask & 2) != 0) {
            devSelect(1);
            for (int i = 0; i < 2; i++) {
                int nsect = cpu.inb(cmd + ATA_REG_NSECT);
                int lbal = cpu.inb(cmd + ATA_REG_LBAL);
                if (nsect == 1 && lbal == 1) {
                    break;
                }
            }
            rc = waitReady();
            if (rc != 0) {
                if (rc != -19) {
                    return rc;
                }
                ret = rc;
            }
        }
        devSelect(0);
        if ((devmask & 2) != 0) {
            devSelect(1);
        }
        if ((devmask & 1) != 0) {
            devSelect(0);
        }
        return ret;
    }

    /** ata_sff_dev_classify: ata_sff_tf_read, then ata_dev_classify on LBA Mid/High. */
    private DevClass classify(int device, boolean present, int[] rErr) {
        devSelect(device);
        int err = cpu.inb(cmd + ATA_REG_ERR);
        int lbam = cpu.inb(cmd + ATA_REG_LBAM);
        int lbah = cpu.inb(cmd + ATA_REG_LBAH);
        rErr[0] = err;
        boolean diagnosticFailed = false;
        if (err == 0) {
            diagnosticFailed = true;
        } else if (err != 1 && !(device == 0 && err == 0x81)) {
            return DevClass.NONE;
        }
        DevClass cls;
        if (lbam == 0 && lbah == 0) {
            cls = DevClass.ATA;
        } else if (lbam == 0x14 && lbah == 0xeb) {
            cls = DevClass.ATAPI;
        } else {
            cls = DevClass.UNKNOWN;
        }
        if (cls == DevClass.UNKNOWN) {
            cls = present && diagnosticFailed ? DevClass.ATA : DevClass.NONE;
        } else if (cls == DevClass.ATA && status() == 0) {
            cls = DevClass.NONE;
        }
        return cls;
    }

    /** ata_sff_tf_load for a taskfile with ATA_TFLAG_ISADDR | ATA_TFLAG_DEVICE (and LBA48 when asked). */
    private void tfLoad(int tfCtl, int feature, long lba, int count, int device, boolean lba48) {
        if (tfCtl != lastCtl) {
            cpu.outb(ctl, tfCtl);
            lastCtl = tfCtl;
        }
        if (lba48) {
            cpu.outb(cmd + ATA_REG_FEATURE, feature >> 8);
            cpu.outb(cmd + ATA_REG_NSECT, count >> 8);
            cpu.outb(cmd + ATA_REG_LBAL, (int) (lba >>> 24) & 0xff);
            cpu.outb(cmd + ATA_REG_LBAM, (int) (lba >>> 32) & 0xff);
            cpu.outb(cmd + ATA_REG_LBAH, (int) (lba >>> 40) & 0xff);
        }
        cpu.outb(cmd + ATA_REG_FEATURE, feature & 0xff);
        cpu.outb(cmd + ATA_REG_NSECT, count & 0xff);
        cpu.outb(cmd + ATA_REG_LBAL, (int) lba & 0xff);
        cpu.outb(cmd + ATA_REG_LBAM, (int) (lba >>> 8) & 0xff);
        cpu.outb(cmd + ATA_REG_LBAH, (int) (lba >>> 16) & 0xff);
        cpu.outb(cmd + ATA_REG_DEVICE, device);
    }

    private void execCommand(int command) {
        cpu.outb(cmd + ATA_REG_CMD, command);
        altstatus(); // ata_sff_pause
    }

    /**
     * ata_dev_read_id: IDENTIFY (PACKET) DEVICE, polled (ATA_TFLAG_POLLING sets nIEN), data read with
     * ioread32_rep into {@code buf}; the status the HSM finished with, or -1 if no data phase came.
     */
    int identify(int device, int command, long buf) {
        devSelect(device);
        tfLoad(apCtl | ATA_NIEN, 0, 0, 0, ATA_DEVICE_OBS | (device == 1 ? ATA_DEV1 : 0), false);
        execCommand(command);
        int status = busyWait();
        if ((status & ATA_DRQ) == 0) {
            return -1;
        }
        cpu.ins(cmd + ATA_REG_DATA, 4, buf, 128, false);
        return busyWait();
    }

    private int busyWait() {
        long deadline = System.nanoTime() + 5_000_000_000L;
        int status;
        do {
            status = status();
        } while (status != 0xff && (status & ATA_BUSY) != 0 && System.nanoTime() < deadline);
        return status;
    }

    /** What an interrupt-driven DMA command ended with. */
    record DmaResult(int hostStat, int status) {
        boolean ok() {
            return (hostStat & (ATA_DMA_INTR | ATA_DMA_ERR)) == ATA_DMA_INTR
                    && (status & (ATA_BUSY | ATA_DRDY | ATA_DF | ATA_DRQ | ATA_ERR)) == ATA_DRDY;
        }
    }

    /**
     * ata_bmdma_fill_sg for one guest buffer: PRD entries split at 64 KiB boundaries (a length of 64 KiB is
     * written as 0), the last one with EOT, in a table at {@code prd}.
     */
    void fillSg(long prd, long addr, int length) {
        int i = 0;
        long remaining = length;
        while (remaining > 0) {
            long offset = addr & 0xffff;
            long len = Math.min(remaining, 0x10000 - offset);
            ram.writeValue(prd + 8L * i, 4, addr);
            remaining -= len;
            ram.writeValue(prd + 8L * i + 4, 4, (len & 0xffff) | (remaining == 0 ? ATA_PRD_EOT : 0));
            addr += len;
            i++;
        }
    }

    /**
     * ata_bmdma_qc_issue for ATA_PROT_DMA, then the interrupt: tf_load, bmdma_setup (table, direction,
     * command), bmdma_start; on IRQ ata_bmdma_port_intr: BMDMA status, stop, altstatus/status, irq_clear.
     */
    DmaResult dma(int device, int command, long lba, int count, boolean write, boolean lba48, long prd) {
        devSelect(device);
        tfLoad(apCtl, 0, lba, count, ATA_LBA | ATA_DEVICE_OBS | (device == 1 ? ATA_DEV1 : 0)
                | (lba48 ? 0 : (int) (lba >>> 24) & 0xf), lba48);
        cpu.outl(bmdma + ATA_DMA_TABLE_OFS, prd);
        int dmactl = cpu.inb(bmdma + ATA_DMA_CMD);
        dmactl &= ~(ATA_DMA_WR | ATA_DMA_START);
        if (!write) {
            dmactl |= ATA_DMA_WR;
        }
        cpu.outb(bmdma + ATA_DMA_CMD, dmactl);
        execCommand(command);
        dmactl = cpu.inb(bmdma + ATA_DMA_CMD);
        cpu.outb(bmdma + ATA_DMA_CMD, dmactl | ATA_DMA_START);
        IdeRig.pollUntil("IRQ " + (port == 0 ? 14 : 15), irq);
        int hostStat = cpu.inb(bmdma + ATA_DMA_STATUS);
        if ((hostStat & ATA_DMA_INTR) == 0) {
            return new DmaResult(hostStat, -1);
        }
        cpu.outb(bmdma + ATA_DMA_CMD, cpu.inb(bmdma + ATA_DMA_CMD) & ~ATA_DMA_START);
        altstatus(); // ata_sff_dma_pause
        int status = altstatus();
        if ((status & ATA_BUSY) == 0) {
            status = status();
        }
        cpu.outb(bmdma + ATA_DMA_STATUS, cpu.inb(bmdma + ATA_DMA_STATUS));
        return new DmaResult(hostStat, status);
    }

    static int[] words(byte[] data) {
        int[] words = new int[data.length / 2];
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < words.length; i++) {
            words[i] = b.getShort() & 0xffff;
        }
        return words;
    }
}
