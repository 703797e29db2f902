package io.stubdm.devices.ide;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * SeaBIOS 1.16's ATA driver as the guest runs it, transcribed access for access from src/hw/ata.c (ata_detect,
 * ata_reset, send_cmd, ata_pio_transfer, ata_readwrite, ata_atapi_process_op), src/hw/blockcmd.c (the CDB
 * helpers and scsi_is_ready) and src/cdrom.c (cdrom_boot). Built as Debian builds it: CONFIG_ATA_DMA and
 * CONFIG_ATA_PIO32 off, so every transfer is {@code rep insw}/{@code rep outsw}. Delays (ndelay, udelay, msleep)
 * are left out: the device must not depend on the guest being slow. Timeouts are 5 s instead of 32 s so that a
 * broken device fails a test quickly.
 */
final class SeaBiosAta {
    // src/hw/ata.h
    static final int ATA_CB_ERR = 1;
    static final int ATA_CB_FR = 1;
    static final int ATA_CB_SC = 2;
    static final int ATA_CB_SN = 3;
    static final int ATA_CB_CL = 4;
    static final int ATA_CB_CH = 5;
    static final int ATA_CB_DH = 6;
    static final int ATA_CB_STAT = 7;
    static final int ATA_CB_CMD = 7;
    static final int ATA_CB_ASTAT = 0;
    static final int ATA_CB_DC = 0;
    static final int ATA_CB_STAT_BSY = 0x80;
    static final int ATA_CB_STAT_RDY = 0x40;
    static final int ATA_CB_STAT_DF = 0x20;
    static final int ATA_CB_STAT_DRQ = 0x08;
    static final int ATA_CB_STAT_ERR = 0x01;
    static final int ATA_CB_DC_HD15 = 0x08;
    static final int ATA_CB_DC_NIEN = 0x02;
    static final int ATA_CB_DC_SRST = 0x04;
    static final int ATA_CB_DH_DEV0 = 0xa0;
    static final int ATA_CB_DH_DEV1 = 0xb0;
    static final int ATA_CB_DH_LBA = 0x40;
    static final int ATA_CMD_READ_SECTORS = 0x20;
    static final int ATA_CMD_READ_SECTORS_EXT = 0x24;
    static final int ATA_CMD_WRITE_SECTORS = 0x30;
    static final int ATA_CMD_WRITE_SECTORS_EXT = 0x34;
    static final int ATA_CMD_PACKET = 0xa0;
    static final int ATA_CMD_IDENTIFY_PACKET_DEVICE = 0xa1;
    static final int ATA_CMD_IDENTIFY_DEVICE = 0xec;
    static final int DISK_RET_SUCCESS = 0x00;
    static final int DISK_RET_EBADTRACK = 0x0c;
    static final int DISK_SECTOR_SIZE = 512;
    static final int CDROM_SECTOR_SIZE = 2048;
    static final long IDE_TIMEOUT_MS = 5000;

    /** Guest-physical scratch: SeaBIOS's stack buffers (identify data, CDBs, sense) live here. */
    static final long STACK = 0x9000;
    static final long STACK_CDB = 0x9800;
    static final long STACK_SENSE = 0x9900;

    /** A drive ata_detect registered, with what init_drive_ata(pi) extracted. */
    record Drive(int iobase1, int iobase2, int slave, boolean atapi, String model, long sectors, int cylinders,
            int heads, int spt, int[] identify) {
    }

    private final SimVcpu cpu;
    private final GuestMemory ram;
    /** What dprintf would print, for assertions. */
    final List<String> log = new ArrayList<>();

    SeaBiosAta(SimVcpu cpu, GuestMemory ram) {
        this.cpu = cpu;
        this.ram = ram;
    }

    private int inb(int port) {
        return cpu.inb(port);
    }

    private void outb(int value, int port) {
        cpu.outb(port, value);
    }

    // ---------------------------------------------------------------- helpers

    private int awaitIde(int mask, int flags, int base, long timeoutMs) {
        long end = System.nanoTime() + timeoutMs * 1_000_000;
        for (;;) {
            int status = inb(base + ATA_CB_STAT);
            if ((status & mask) == flags) {
                return status;
            }
            if (System.nanoTime() > end) {
                log.add("timeout");
                return -1;
            }
        }
    }

    private int awaitNotBsy(int base) {
        return awaitIde(ATA_CB_STAT_BSY, 0, base, IDE_TIMEOUT_MS);
    }

    private int awaitRdy(int base) {
        return awaitIde(ATA_CB_STAT_RDY, ATA_CB_STAT_RDY, base, IDE_TIMEOUT_MS);
    }

    private int pauseAwaitNotBsy(int iobase1, int iobase2) {
        inb(iobase2 + ATA_CB_ASTAT);
        return awaitNotBsy(iobase1);
    }

    private int ndelayAwaitNotBsy(int iobase1) {
        return awaitNotBsy(iobase1);
    }

    void ataReset(Drive drive) {
        ataReset(drive.iobase1(), drive.iobase2(), drive.slave(), drive.atapi() ? 2 : 1);
    }

    /** {@code type} 1 is DTYPE_ATA: wait for RDY afterwards. */
    private void ataReset(int iobase1, int iobase2, int slave, int type) {
        outb(ATA_CB_DC_HD15 | ATA_CB_DC_NIEN | ATA_CB_DC_SRST, iobase2 + ATA_CB_DC);
        outb(ATA_CB_DC_HD15 | ATA_CB_DC_NIEN, iobase2 + ATA_CB_DC);
        int status = awaitNotBsy(iobase1);
        if (status >= 0) {
            boolean ok = true;
            if (slave != 0) {
                long end = System.nanoTime() + IDE_TIMEOUT_MS * 1_000_000;
                for (;;) {
                    outb(ATA_CB_DH_DEV1, iobase1 + ATA_CB_DH);
                    status = ndelayAwaitNotBsy(iobase1);
                    if (status < 0) {
                        ok = false;
                        break;
                    }
                    if (inb(iobase1 + ATA_CB_DH) == ATA_CB_DH_DEV1) {
                        break;
                    }
                    if (System.nanoTime() > end) {
                        ok = false;
                        break;
                    }
                }
            } else {
                // QEMU doesn't reset dh on reset, so set it explicitly.
                outb(ATA_CB_DH_DEV0, iobase1 + ATA_CB_DH);
            }
            if (ok && type == 1) {
                status = awaitRdy(iobase1);
            }
        }
        outb(ATA_CB_DC_HD15, iobase2 + ATA_CB_DC);
        log.add(String.format("ata_reset exit status=%x", status));
    }

    /** struct ata_pio_command: the low registers, and the "2" (previous) bytes of 48-bit commands. */
    static final class Command {
        int feature;
        int sectorCount;
        int lbaLow;
        int lbaMid;
        int lbaHigh;
        int device;
        int command;
        int feature2;
        int sectorCount2;
        int lbaLow2;
        int lbaMid2;
        int lbaHigh2;
    }

    private int sendCmd(int iobase1, int slave, Command cmd) {
        int status = awaitNotBsy(iobase1);
        if (status < 0) {
            return status;
        }
        int newdh = (cmd.device & ~ATA_CB_DH_DEV1) | (slave != 0 ? ATA_CB_DH_DEV1 : ATA_CB_DH_DEV0);
        int olddh = inb(iobase1 + ATA_CB_DH);
        outb(newdh, iobase1 + ATA_CB_DH);
        if (((olddh ^ newdh) & (1 << 4)) != 0) {
            status = ndelayAwaitNotBsy(iobase1);
            if (status < 0) {
                return status;
            }
        }
        if ((cmd.command & ~0x11) == ATA_CMD_READ_SECTORS_EXT) {
            outb(cmd.feature2, iobase1 + ATA_CB_FR);
            outb(cmd.sectorCount2, iobase1 + ATA_CB_SC);
            outb(cmd.lbaLow2, iobase1 + ATA_CB_SN);
            outb(cmd.lbaMid2, iobase1 + ATA_CB_CL);
            outb(cmd.lbaHigh2, iobase1 + ATA_CB_CH);
        }
        outb(cmd.feature, iobase1 + ATA_CB_FR);
        outb(cmd.sectorCount, iobase1 + ATA_CB_SC);
        outb(cmd.lbaLow, iobase1 + ATA_CB_SN);
        outb(cmd.lbaMid, iobase1 + ATA_CB_CL);
        outb(cmd.lbaHigh, iobase1 + ATA_CB_CH);
        outb(cmd.command, iobase1 + ATA_CB_CMD);
        return 0;
    }

    private int ataWaitData(int iobase1) {
        int status = ndelayAwaitNotBsy(iobase1);
        if (status < 0) {
            return status;
        }
        if ((status & ATA_CB_STAT_ERR) != 0) {
            log.add(String.format("send_cmd : read error (status=%02x err=%02x)", status, inb(iobase1 + ATA_CB_ERR)));
            return -4;
        }
        if ((status & ATA_CB_STAT_DRQ) == 0) {
            log.add(String.format("send_cmd : DRQ not set (status %02x)", status));
            return -5;
        }
        return 0;
    }

    private int ataPioTransfer(int iobase1, int iobase2, long buf, int count, boolean iswrite, int blocksize) {
        int status;
        for (;;) {
            if (iswrite) {
                cpu.outs(iobase1, 2, buf, blocksize / 2, false);
            } else {
                cpu.ins(iobase1, 2, buf, blocksize / 2, false);
            }
            buf += blocksize;
            status = pauseAwaitNotBsy(iobase1, iobase2);
            if (status < 0) {
                return status;
            }
            count--;
            if (count == 0) {
                break;
            }
            status &= ATA_CB_STAT_BSY | ATA_CB_STAT_DRQ | ATA_CB_STAT_ERR;
            if (status != ATA_CB_STAT_DRQ) {
                log.add(String.format("ata_pio_transfer : more sectors left (status %02x)", status));
                return -6;
            }
        }
        status &= ATA_CB_STAT_BSY | ATA_CB_STAT_DF | ATA_CB_STAT_DRQ | ATA_CB_STAT_ERR;
        if (!iswrite) {
            status &= ~ATA_CB_STAT_DF;
        }
        if (status != 0) {
            log.add(String.format("ata_pio_transfer : no sectors left (status %02x)", status));
            return -7;
        }
        return 0;
    }

    private int ataPioCmdData(int iobase1, int iobase2, int slave, Command cmd, long buf, int count,
            boolean iswrite, int blocksize) {
        outb(ATA_CB_DC_HD15 | ATA_CB_DC_NIEN, iobase2 + ATA_CB_DC);
        int ret = sendCmd(iobase1, slave, cmd);
        if (ret == 0) {
            ret = ataWaitData(iobase1);
        }
        if (ret == 0) {
            ret = ataPioTransfer(iobase1, iobase2, buf, count, iswrite, blocksize);
        }
        outb(ATA_CB_DC_HD15, iobase2 + ATA_CB_DC);
        return ret;
    }

    // ---------------------------------------------------------------- int 13h disk access

    /** ata_readwrite without DMA: READ/WRITE SECTORS (EXT) into/from guest memory at {@code buf}. */
    int ataReadwrite(Drive drive, long lba, int count, long buf, boolean iswrite) {
        Command cmd = new Command();
        if (count >= (1 << 8) || lba + count >= (1 << 28)) {
            cmd.sectorCount2 = count >> 8;
            cmd.lbaLow2 = (int) (lba >>> 24) & 0xff;
            cmd.lbaMid2 = (int) (lba >>> 32) & 0xff;
            cmd.lbaHigh2 = (int) (lba >>> 40) & 0xff;
            lba &= 0xffffff;
            cmd.command = iswrite ? ATA_CMD_WRITE_SECTORS_EXT : ATA_CMD_READ_SECTORS_EXT;
        } else {
            cmd.command = iswrite ? ATA_CMD_WRITE_SECTORS : ATA_CMD_READ_SECTORS;
        }
        cmd.sectorCount = count & 0xff;
        cmd.lbaLow = (int) lba & 0xff;
        cmd.lbaMid = (int) (lba >>> 8) & 0xff;
        cmd.lbaHigh = (int) (lba >>> 16) & 0xff;
        cmd.device = (int) ((lba >>> 24) & 0xf) | ATA_CB_DH_LBA;
        int ret = ataPioCmdData(drive.iobase1(), drive.iobase2(), drive.slave(), cmd, buf, count, iswrite,
                DISK_SECTOR_SIZE);
        return ret != 0 ? DISK_RET_EBADTRACK : DISK_RET_SUCCESS;
    }

    // ---------------------------------------------------------------- ATAPI

    /** ata_atapi_process_op for a CMD_SCSI op: {@code count} blocks of {@code blocksize} bytes to {@code buf}. */
    int atapiCommand(Drive drive, byte[] cdb, int blocksize, int count, long buf) {
        int iobase1 = drive.iobase1();
        int iobase2 = drive.iobase2();
        Command cmd = new Command();
        cmd.lbaMid = blocksize & 0xff;
        cmd.lbaHigh = blocksize >> 8;
        cmd.command = ATA_CMD_PACKET;
        outb(ATA_CB_DC_HD15 | ATA_CB_DC_NIEN, iobase2 + ATA_CB_DC);
        int ret = sendCmd(iobase1, drive.slave(), cmd);
        if (ret == 0) {
            ret = ataWaitData(iobase1);
        }
        if (ret == 0) {
            byte[] packet = new byte[12];
            System.arraycopy(cdb, 0, packet, 0, Math.min(cdb.length, 12));
            ram.write(STACK_CDB, packet, 0, 12);
            cpu.outs(iobase1, 2, STACK_CDB, 6, false);
            int status = pauseAwaitNotBsy(iobase1, iobase2);
            if (status < 0) {
                ret = status;
            } else if ((status & ATA_CB_STAT_ERR) != 0) {
                int err = inb(iobase1 + ATA_CB_ERR);
                if (err != 0x20) {
                    log.add(String.format("send_atapi_cmd : read error (status=%02x err=%02x)", status, err));
                }
                ret = -2;
            } else if (blocksize != 0) {
                if ((status & ATA_CB_STAT_DRQ) == 0) {
                    log.add(String.format("send_atapi_cmd : DRQ not set (status %02x)", status));
                    ret = -3;
                } else {
                    ret = ataPioTransfer(iobase1, iobase2, buf, count, false, blocksize);
                }
            }
        }
        outb(ATA_CB_DC_HD15, iobase2 + ATA_CB_DC);
        return ret != 0 ? DISK_RET_EBADTRACK : DISK_RET_SUCCESS;
    }

    int cdbTestUnitReady(Drive drive) {
        return atapiCommand(drive, new byte[] {Mmc.TEST_UNIT_READY}, 0, 0, 0);
    }

    /** cdb_get_sense: REQUEST SENSE into the 18-byte struct cdbres_request_sense. */
    int cdbGetSense(Drive drive) {
        return atapiCommand(drive, new byte[] {Mmc.REQUEST_SENSE, 0, 0, 0, 18}, 18, 1, STACK_SENSE);
    }

    byte[] lastSense() {
        byte[] sense = new byte[18];
        ram.read(STACK_SENSE, sense, 0, 18);
        return sense;
    }

    int cdbReadCapacity(Drive drive, long buf) {
        return atapiCommand(drive, new byte[] {Mmc.READ_CAPACITY}, 8, 1, buf);
    }

    /** cdb_read via scsi_fill_cmd: READ(10) of {@code count} 2048-byte blocks. */
    int cdbRead(Drive drive, long lba, int count, long buf) {
        byte[] cdb = {Mmc.READ_10, 0, (byte) (lba >>> 24), (byte) (lba >>> 16), (byte) (lba >>> 8), (byte) lba, 0,
            (byte) (count >>> 8), (byte) count, 0};
        return atapiCommand(drive, cdb, CDROM_SECTOR_SIZE, count, buf);
    }

    /** scsi_is_ready: TEST UNIT READY until it passes, REQUEST SENSE after each failure; 0 when ready. */
    int scsiIsReady(Drive drive) {
        boolean inProgress = false;
        long end = System.nanoTime() + 5_000_000_000L;
        for (;;) {
            if (System.nanoTime() > end) {
                log.add("test unit ready failed");
                return -1;
            }
            if (cdbTestUnitReady(drive) == 0) {
                return 0;
            }
            if (cdbGetSense(drive) != 0) {
                continue;
            }
            byte[] sense = lastSense();
            if ((sense[12] & 0xff) == 0x3a) {
                log.add("Device reports MEDIUM NOT PRESENT");
                return -1;
            }
            if (sense[12] == 0x04 && sense[13] == 0x01 && !inProgress) {
                end = System.nanoTime() + 30_000_000_000L;
                inProgress = true;
            }
        }
    }

    /** What cdrom_boot put where: its return code and, on success, the boot image's load address and size. */
    record Boot(int code, long loadAddress, int sectors, int media) {
    }

    /** cdrom_boot: the El Torito boot record, the boot catalog, the initial entry, the image. */
    Boot cdromBoot(Drive drive) {
        int ret = scsiIsReady(drive);
        if (ret != 0) {
            log.add("scsi_is_ready returned " + ret);
        }
        long buffer = STACK;
        ret = cdbRead(drive, 0x11, 1, buffer);
        if (ret != 0) {
            return new Boot(3, 0, 0, 0);
        }
        byte[] b = new byte[2048];
        ram.read(buffer, b, 0, b.length);
        if (b[0] != 0) {
            return new Boot(4, 0, 0, 0);
        }
        if (!"CD001\001EL TORITO SPECIFICATION".equals(cString(b, 1))) {
            return new Boot(5, 0, 0, 0);
        }
        long lba = le32(b, 0x47);
        ret = cdbRead(drive, lba, 1, buffer);
        if (ret != 0) {
            return new Boot(7, 0, 0, 0);
        }
        ram.read(buffer, b, 0, b.length);
        if (b[0x00] != 0x01) {
            return new Boot(8, 0, 0, 0);
        }
        if (b[0x01] != 0x00) {
            return new Boot(9, 0, 0, 0);
        }
        if ((b[0x1e] & 0xff) != 0x55 || (b[0x1f] & 0xff) != 0xaa) {
            return new Boot(10, 0, 0, 0);
        }
        if ((b[0x20] & 0xff) != 0x88) {
            return new Boot(11, 0, 0, 0);
        }
        int media = b[0x21] & 0xff;
        int bootSegment = (b[0x22] & 0xff) | (b[0x23] & 0xff) << 8;
        if (bootSegment == 0) {
            bootSegment = 0x07c0;
        }
        int nbsectors = (b[0x26] & 0xff) | (b[0x27] & 0xff) << 8;
        lba = le32(b, 0x28);
        ret = cdbRead(drive, lba, (nbsectors + 3) / 4, (long) bootSegment << 4);
        if (ret != 0) {
            return new Boot(12, 0, 0, 0);
        }
        return new Boot(0, (long) bootSegment << 4, nbsectors, media);
    }

    // ---------------------------------------------------------------- detection

    private int[] sendAtaIdentity(int iobase1, int iobase2, int slave, int command) {
        ram.write(STACK, new byte[512], 0, 512);
        Command cmd = new Command();
        cmd.command = command;
        if (ataPioCmdData(iobase1, iobase2, slave, cmd, STACK, 1, false, DISK_SECTOR_SIZE) != 0) {
            return null;
        }
        byte[] data = new byte[512];
        ram.read(STACK, data, 0, 512);
        int[] words = new int[256];
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 256; i++) {
            words[i] = b.getShort() & 0xffff;
        }
        return words;
    }

    /** ata_extract_model: words 27-46, each big-endian, trailing spaces dropped. */
    static String model(int[] identify) {
        StringBuilder s = new StringBuilder();
        for (int i = 27; i < 47; i++) {
            s.append((char) (identify[i] >> 8)).append((char) (identify[i] & 0xff));
        }
        return s.toString().stripTrailing();
    }

    private Drive initDriveAtapi(int iobase1, int iobase2, int slave) {
        int[] id = sendAtaIdentity(iobase1, iobase2, slave, ATA_CMD_IDENTIFY_PACKET_DEVICE);
        if (id == null) {
            return null;
        }
        boolean iscd = ((id[0] >> 8) & 0x1f) == 0x05;
        log.add(String.format("DVD/CD [ata%d-%d: %s ATAPI-%d %s]", iobase1 == 0x1f0 ? 0 : 1, slave, model(id),
                version(id), iscd ? "DVD/CD" : "Device"));
        return new Drive(iobase1, iobase2, slave, true, model(id), -1, 0, 0, 0, id);
    }

    private Drive initDriveAta(int iobase1, int iobase2, int slave) {
        int[] id = sendAtaIdentity(iobase1, iobase2, slave, ATA_CMD_IDENTIFY_DEVICE);
        if (id == null) {
            return null;
        }
        long sectors;
        if ((id[83] & (1 << 10)) != 0) {
            sectors = (long) id[100] | (long) id[101] << 16 | (long) id[102] << 32 | (long) id[103] << 48;
        } else {
            sectors = (long) id[60] | (long) id[61] << 16;
        }
        log.add(String.format("ata%d-%d: %s ATA-%d Hard-Disk", iobase1 == 0x1f0 ? 0 : 1, slave, model(id),
                version(id)));
        return new Drive(iobase1, iobase2, slave, false, model(id), sectors, id[1], id[3], id[6], id);
    }

    private static int version(int[] id) {
        int version;
        for (version = 15; version > 0; version--) {
            if ((id[80] & (1 << version)) != 0) {
                break;
            }
        }
        return version;
    }

    private int powerupAwaitNonBsy(int base) {
        int orstatus = 0;
        int status;
        long end = System.nanoTime() + IDE_TIMEOUT_MS * 1_000_000;
        for (;;) {
            status = inb(base + ATA_CB_STAT);
            if ((status & ATA_CB_STAT_BSY) == 0) {
                break;
            }
            orstatus |= status;
            if (orstatus == 0xff) {
                log.add("powerup IDE floating");
                return orstatus;
            }
            if (System.nanoTime() > end) {
                return -1;
            }
        }
        return status;
    }

    /** ata_detect for one channel: the drives it registers. */
    List<Drive> ataDetect(int iobase1, int iobase2) {
        List<Drive> found = new ArrayList<>();
        boolean didreset = false;
        for (int slave = 0; slave <= 1; slave++) {
            int status = powerupAwaitNonBsy(iobase1);
            if (status < 0) {
                continue;
            }
            int newdh = slave != 0 ? ATA_CB_DH_DEV1 : ATA_CB_DH_DEV0;
            outb(newdh, iobase1 + ATA_CB_DH);
            status = powerupAwaitNonBsy(iobase1);
            if (status < 0) {
                continue;
            }
            outb(newdh, iobase1 + ATA_CB_DH);
            int dh = inb(iobase1 + ATA_CB_DH);
            outb(0x55, iobase1 + ATA_CB_SC);
            outb(0xaa, iobase1 + ATA_CB_SN);
            int sc = inb(iobase1 + ATA_CB_SC);
            int sn = inb(iobase1 + ATA_CB_SN);
            log.add(String.format("ata_detect %x-%d: sc=%x sn=%x dh=%x", iobase1, slave, sc, sn, dh));
            if (sc != 0x55 || sn != 0xaa || dh != newdh) {
                continue;
            }
            if (!didreset) {
                ataReset(iobase1, iobase2, slave, 0);
                didreset = true;
            }
            Drive drive = initDriveAtapi(iobase1, iobase2, slave);
            if (drive == null) {
                int st = inb(iobase1 + ATA_CB_STAT);
                if (st == 0) {
                    continue;
                }
                if (awaitRdy(iobase1) < 0) {
                    continue;
                }
                drive = initDriveAta(iobase1, iobase2, slave);
                if (drive == null) {
                    continue;
                }
            }
            found.add(drive);
            int resetresult = drive.identify()[93];
            if (slave == 0 && (resetresult & 0xdf61) == 0x4041) {
                break;
            }
        }
        return found;
    }

    private static String cString(byte[] b, int at) {
        int end = at;
        while (end < b.length && b[end] != 0) {
            end++;
        }
        return new String(b, at, end - at, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static long le32(byte[] b, int at) {
        return (b[at] & 0xffL) | (b[at + 1] & 0xffL) << 8 | (b[at + 2] & 0xffL) << 16 | (b[at + 3] & 0xffL) << 24;
    }
}
