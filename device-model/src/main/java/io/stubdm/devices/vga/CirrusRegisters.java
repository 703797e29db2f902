package io.stubdm.devices.vga;

import io.stubdm.devices.Resettable;
import io.stubdm.ioreq.BusDevice;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The CL-GD5446's extensions to the {@link Vga} register file, and the memory paths they change: the extended
 * sequencer (SR05-SR1F), graphics controller (GR09-GR39) and CRT controller (CR19-CR27) registers, the hidden DAC
 * register behind the pixel mask port, the cursor colours hidden behind the DAC, the two 32 KiB banks of the
 * 0xA0000 window with their offset registers, the extended write modes 4 and 5, and the blitter's registers in
 * the window at 0xB8000. Register names are those of Cirrus Logic's "CL-GD5446 Technical Reference Manual"; where
 * the manual leaves a choice open, QEMU's cirrus-vga (what vgabios-cirrus, Linux and the BSDs run against) decides.
 *
 * <p>The standard registers stay in the {@link Vga}; this class sees every port access first and hands the
 * standard ones on. Like QEMU's GD5446, the card addresses 4 MiB of video RAM whatever the size of the buffer
 * (libxl's vgamem_mb=8 only makes the BAR's RAM larger): banks, the blitter and the cursor wrap or stop there.
 */
final class CirrusRegisters implements Resettable {
    /** The memory the GD5446 decodes (SR0F/SR15 report 4 MiB, as QEMU's real_vram_size). */
    static final int MAX_ADDRESSABLE = 4 << 20;

    // ---------------------------------------------------------------- sequencer extensions
    /** SR06, "Unlock All Extensions": 0x12 unlocks and reads back 0x12, anything else reads 0x0F. */
    static final int SR_UNLOCK = 0x06;
    static final int UNLOCK_KEY = 0x12;
    /** Only these bits take part in the key compare: SeaBIOS probes with 0x92 and expects 0x12. */
    static final int UNLOCK_KEY_BITS = 0x17;
    static final int LOCKED = 0x0f;
    static final int SR_EXTENDED_SEQUENCER_MODE = 0x07;
    static final int SR_DRAM_CONTROL = 0x0f;
    /** SR10 and SR11 hold bits 10:3 of the cursor position; bits 2:0 come from index bits 7:5 of the write. */
    static final int SR_CURSOR_X = 0x10;
    static final int SR_CURSOR_Y = 0x11;
    static final int SR_CURSOR_ATTRIBUTES = 0x12;
    static final int SR_CURSOR_PATTERN_ADDRESS = 0x13;
    static final int SR_SCRATCH_3 = 0x15;
    static final int SR_CONFIGURATION_READBACK = 0x17;
    static final int SR_MCLK_SELECT = 0x1f;
    static final int SR_COUNT = 0x20;

    /** SR07 bit 0: packed-pixel (SVGA) addressing instead of the VGA planes; bits 3:1 the pixel depth. */
    static final int SR07_EXTENDED_MODES = 0x01;
    static final int SR07_DEPTH_MASK = 0x0e;
    static final int SR07_DEPTH_8 = 0x00;
    static final int SR07_DEPTH_16_DOUBLE_CLOCK = 0x02;
    static final int SR07_DEPTH_24 = 0x04;
    static final int SR07_DEPTH_16 = 0x06;
    static final int SR07_DEPTH_32 = 0x08;

    static final int CURSOR_ENABLE = 0x01;
    /** SR12 bit 1: DAC data accesses reach the 16 extra cursor colours instead of the palette. */
    static final int CURSOR_DAC_EXTENDED_COLORS = 0x02;
    static final int CURSOR_SIZE_64 = 0x04;

    /** SR17 bit 2 puts the blitter registers in memory; bit 6 moves them from 0xB8000 to the LFB's last 256 bytes. */
    static final int SR17_MMIO_ENABLE = 0x04;
    static final int SR17_MMIO_AT_LINEAR_END = 0x40;
    /** SR17 bits 5:3, the bus type strapping: read-only, PCI. */
    static final int SR17_BUS_TYPE_MASK = 0x38;
    static final int SR17_BUS_PCI = 0x20;

    // ---------------------------------------------------------------- graphics controller extensions
    static final int GR_OFFSET_0 = 0x09;
    static final int GR_OFFSET_1 = 0x0a;
    static final int GR_MODE_EXTENSIONS = 0x0b;
    static final int GR_POWER_MANAGEMENT = 0x0e;
    static final int GR_BACKGROUND_BYTE_1 = 0x10;
    static final int GR_FOREGROUND_BYTE_1 = 0x11;
    static final int GR_MISC_CONTROL = 0x18;
    /** Reads past the last blitter register answer 0xFF. */
    static final int GR_COUNT = 0x3a;

    static final int EXT_DUAL_BANK = 0x01;
    /** GR0B bit 1: a window or LFB byte addresses 8 bytes of video RAM (with write modes 4/5 at 8 bpp). */
    static final int EXT_BY8_ADDRESSING = 0x02;
    static final int EXT_WRITE_MODES = 0x04;
    /** With bit 2, bit 4 selects 16-bit pixels for write modes 4/5 and makes a byte address 16 bytes. */
    static final int EXT_BY16_ADDRESSING = 0x14;
    static final int EXT_16K_GRANULARITY = 0x20;

    // ---------------------------------------------------------------- CRT controller extensions
    static final int CR_INTERLACE_END = 0x19;
    static final int CR_MISC_CONTROL = 0x1a;
    static final int CR_EXTENDED_DISPLAY_CONTROLS = 0x1b;
    static final int CR_OVERLAY_EXTENDED_CONTROL = 0x1d;
    static final int CR_GRAPHICS_LATCHES_READBACK = 0x22;
    static final int CR_ATTRIBUTE_TOGGLE_READBACK = 0x24;
    static final int CR_PART_STATUS = 0x25;
    static final int CR_ATTRIBUTE_INDEX_READBACK = 0x26;
    static final int CR_ID = 0x27;
    /** CR27 bits 7:2 = 0x2E: CL-GD5446, the chip SeaBIOS and Linux look for. */
    static final int ID_GD5446 = 0xb8;
    static final int CR_LAST_STANDARD = 0x18;

    /** The hidden DAC register appears after this many reads of the pixel mask port in a row. */
    private static final int HIDDEN_DAC_READS = 4;
    /** Hidden DAC bits 3:0 at 16 bpp: 0 = 5-5-5 (Sierra), 1 = 5-6-5 (XGA). */
    static final int HIDDEN_DAC_565 = 0x01;

    /** Window offsets of the blitter registers when SR17 maps them at 0xB8000. */
    static final int WINDOW_MMIO = 0x18000;
    static final int MMIO_SIZE = 0x100;
    private static final int BANK_SIZE = 0x8000;
    private static final int BANKED_WINDOW = 0x10000;

    final Vga vga;
    final int addressable;
    final int addressMask;
    final int[] sr = new int[SR_COUNT];
    final int[] gr = new int[0x40];
    int seqIndex;
    int grIndex;
    /** GR00 and GR01 keep 4 bits for the VGA's set/reset but all 8 as the blitter's and write modes' colour byte 0. */
    int backgroundByte0;
    int foregroundByte0;
    int hiddenDac;
    private int pelMaskReads;
    /** The 16 extended colours (6 bits per component); the cursor uses entries 0 and 15. */
    final int[] cursorPalette = new int[16 * 3];
    int cursorX;
    int cursorY;
    /** The DAC's index state as the Vga has it, kept in step to know which entry a hidden-colour access hits. */
    private int dacReadIndex;
    private int dacWriteIndex;
    private int dacComponent;
    final CirrusBlitter blitter;

    CirrusRegisters(Vga vga) {
        this.vga = vga;
        this.addressable = Math.min(vga.videoMemory().size(), MAX_ADDRESSABLE);
        this.addressMask = addressable - 1;
        this.blitter = new CirrusBlitter(this);
        reset();
    }

    /** The GD5446's power-on straps as QEMU presets them: 4 MiB, PCI, the VGA BIOS still to run. */
    @Override
    public void reset() {
        Arrays.fill(sr, 0);
        Arrays.fill(gr, 0);
        Arrays.fill(cursorPalette, 0);
        seqIndex = grIndex = 0;
        backgroundByte0 = foregroundByte0 = 0;
        hiddenDac = 0;
        pelMaskReads = 0;
        cursorX = cursorY = 0;
        dacReadIndex = dacWriteIndex = dacComponent = 0;
        sr[SR_UNLOCK] = LOCKED;
        sr[SR_DRAM_CONTROL] = 0x98; // 32-bit DRAM bus, bank switch: with SR15 the BIOS reads 4 MiB
        sr[SR_SCRATCH_3] = 0x04;
        sr[SR_CONFIGURATION_READBACK] = SR17_BUS_PCI;
        sr[SR_MCLK_SELECT] = 0x2d;
        gr[GR_MISC_CONTROL] = 0x0f;
        blitter.reset();
    }

    ByteBuffer memory() {
        return vga.videoMemory().buffer();
    }

    boolean extendedModes() {
        return (sr[SR_EXTENDED_SEQUENCER_MODE] & SR07_EXTENDED_MODES) != 0;
    }

    // ---------------------------------------------------------------- ports

    BusDevice ports() {
        return Vga.byteWide(offset -> readPort(Vga.PORT_BASE + offset),
                (offset, v) -> writePort(Vga.PORT_BASE + offset, v));
    }

    /** The CRTC answers only at the address Miscellaneous Output selects, as in {@link Vga}. */
    private boolean crtcDecoded(int port) {
        return (vga.misc & Vga.MISC_COLOR_IO) != 0 ? port >= 0x3d0 : port < 0x3c0;
    }

    int readPort(int port) {
        switch (port) {
            case Vga.SEQUENCER_INDEX:
                return seqIndex;
            case Vga.SEQUENCER_DATA:
                return readSequencer();
            case Vga.DAC_PEL_MASK:
                return readPelMask();
            case Vga.DAC_READ_INDEX:
            case Vga.DAC_WRITE_INDEX:
                pelMaskReads = 0;
                return vga.readPort(port);
            case Vga.DAC_DATA:
                pelMaskReads = 0;
                return readDacData();
            case Vga.GRAPHICS_INDEX:
                return grIndex;
            case Vga.GRAPHICS_DATA:
                return readGraphics(grIndex);
            case Vga.CRTC_DATA_MONO:
            case Vga.CRTC_DATA_COLOR:
                if (crtcDecoded(port) && vga.crtcIndex > CR_LAST_STANDARD) {
                    return readCrtcExtension(vga.crtcIndex);
                }
                return vga.readPort(port);
            default:
                return vga.readPort(port);
        }
    }

    void writePort(int port, int v) {
        vga.writes++;
        switch (port) {
            case Vga.SEQUENCER_INDEX:
                seqIndex = v;
                vga.writePort(port, v);
                break;
            case Vga.SEQUENCER_DATA:
                writeSequencer(v);
                break;
            case Vga.DAC_PEL_MASK:
                writePelMask(v);
                break;
            case Vga.DAC_READ_INDEX:
                pelMaskReads = 0;
                dacReadIndex = v;
                dacComponent = 0;
                vga.writePort(port, v);
                break;
            case Vga.DAC_WRITE_INDEX:
                pelMaskReads = 0;
                dacWriteIndex = v;
                dacComponent = 0;
                vga.writePort(port, v);
                break;
            case Vga.DAC_DATA:
                pelMaskReads = 0;
                writeDacData(v);
                break;
            case Vga.GRAPHICS_INDEX:
                grIndex = v;
                vga.writePort(port, v);
                break;
            case Vga.GRAPHICS_DATA:
                writeGraphics(grIndex, v);
                break;
            case Vga.CRTC_DATA_MONO:
            case Vga.CRTC_DATA_COLOR:
                if (crtcDecoded(port) && vga.crtcIndex > CR_LAST_STANDARD) {
                    writeCrtcExtension(vga.crtcIndex, v);
                } else {
                    vga.writePort(port, v);
                }
                break;
            default:
                vga.writePort(port, v);
                break;
        }
    }

    // ---------------------------------------------------------------- sequencer

    private int readSequencer() {
        int i = seqIndex;
        if (i <= Vga.SEQ_MEMORY_MODE) {
            return vga.readPort(Vga.SEQUENCER_DATA);
        }
        if ((i & 0x1f) == SR_CURSOR_X || (i & 0x1f) == SR_CURSOR_Y) {
            return sr[i & 0x1f];
        }
        return i < SR_COUNT ? sr[i] : 0xff;
    }

    private void writeSequencer(int v) {
        int i = seqIndex;
        if (i <= Vga.SEQ_MEMORY_MODE) {
            vga.writePort(Vga.SEQUENCER_DATA, v);
            return;
        }
        if ((i & 0x1f) == SR_CURSOR_X) {
            sr[SR_CURSOR_X] = v;
            cursorX = (v << 3) | (i >> 5);
            return;
        }
        if ((i & 0x1f) == SR_CURSOR_Y) {
            sr[SR_CURSOR_Y] = v;
            cursorY = (v << 3) | (i >> 5);
            return;
        }
        if (i >= SR_COUNT || i == 0x05) {
            return; // no register there
        }
        if (i == SR_UNLOCK) {
            sr[SR_UNLOCK] = (v & UNLOCK_KEY_BITS) == UNLOCK_KEY ? UNLOCK_KEY : LOCKED;
        } else if (i == SR_CONFIGURATION_READBACK) {
            sr[i] = (sr[i] & SR17_BUS_TYPE_MASK) | (v & ~SR17_BUS_TYPE_MASK);
        } else {
            sr[i] = v;
        }
    }

    // ---------------------------------------------------------------- the hidden DAC register and cursor colours

    /**
     * Four reads of the pixel mask in a row unlock the hidden DAC register for the next access of the port; any
     * other DAC port access starts the count again (Linux's cirrus driver reads 0x3C8 first, SeaBIOS writes 0x3C6).
     */
    private int readPelMask() {
        if (pelMaskReads == HIDDEN_DAC_READS) {
            pelMaskReads = 0;
            return hiddenDac;
        }
        pelMaskReads++;
        return vga.readPort(Vga.DAC_PEL_MASK);
    }

    private void writePelMask(int v) {
        if (pelMaskReads == HIDDEN_DAC_READS) {
            hiddenDac = v;
        } else {
            vga.writePort(Vga.DAC_PEL_MASK, v);
        }
        pelMaskReads = 0;
    }

    private boolean extendedColors() {
        return (sr[SR_CURSOR_ATTRIBUTES] & CURSOR_DAC_EXTENDED_COLORS) != 0;
    }

    /** The Vga still steps its indices; with SR12 bit 1 the value comes from the cursor colours instead. */
    private int readDacData() {
        int v = vga.readPort(Vga.DAC_DATA);
        if (extendedColors()) {
            v = cursorPalette[(dacReadIndex & 0x0f) * 3 + dacComponent];
        }
        if (++dacComponent == 3) {
            dacComponent = 0;
            dacReadIndex = (dacReadIndex + 1) & 0xff;
        }
        return v;
    }

    /** With SR12 bit 1 the completed entry goes to the cursor colours and the palette entry is put back. */
    private void writeDacData(int v) {
        int entry = dacWriteIndex;
        if (extendedColors() && dacComponent == 2) {
            int[] saved = Arrays.copyOfRange(vga.dac, entry * 3, entry * 3 + 3);
            vga.writePort(Vga.DAC_DATA, v);
            System.arraycopy(vga.dac, entry * 3, cursorPalette, (entry & 0x0f) * 3, 3);
            System.arraycopy(saved, 0, vga.dac, entry * 3, 3);
        } else {
            vga.writePort(Vga.DAC_DATA, v);
        }
        if (++dacComponent == 3) {
            dacComponent = 0;
            dacWriteIndex = (dacWriteIndex + 1) & 0xff;
        }
    }

    // ---------------------------------------------------------------- graphics controller

    int readGraphics(int i) {
        switch (i) {
            case Vga.GC_SET_RESET:
                return backgroundByte0;
            case Vga.GC_ENABLE_SET_RESET:
                return foregroundByte0;
            case Vga.GC_COLOR_COMPARE:
            case Vga.GC_DATA_ROTATE:
            case Vga.GC_READ_MAP_SELECT:
            case Vga.GC_MODE:
            case Vga.GC_MISCELLANEOUS:
            case Vga.GC_COLOR_DONT_CARE:
            case Vga.GC_BIT_MASK:
                return vga.gc[i];
            default:
                return i < GR_COUNT ? gr[i] : 0xff;
        }
    }

    void writeGraphics(int i, int v) {
        switch (i) {
            case Vga.GC_SET_RESET:
                backgroundByte0 = v;
                vga.gc[i] = v & 0x0f;
                break;
            case Vga.GC_ENABLE_SET_RESET:
                foregroundByte0 = v;
                vga.gc[i] = v & 0x0f;
                break;
            case Vga.GC_MODE:
                vga.gc[i] = v & 0x7f; // bit 2 makes write modes 4 and 5
                break;
            case Vga.GC_COLOR_COMPARE:
            case Vga.GC_DATA_ROTATE:
            case Vga.GC_READ_MAP_SELECT:
            case Vga.GC_MISCELLANEOUS:
            case Vga.GC_COLOR_DONT_CARE:
            case Vga.GC_BIT_MASK:
                vga.gc[i] = v & vgaGraphicsMask(i);
                break;
            case CirrusBlitter.GR_BLT_WIDTH_HIGH:
            case CirrusBlitter.GR_BLT_HEIGHT_HIGH:
            case CirrusBlitter.GR_BLT_DEST_PITCH_HIGH:
            case CirrusBlitter.GR_BLT_SOURCE_PITCH_HIGH:
                gr[i] = v & 0x1f;
                break;
            case CirrusBlitter.GR_BLT_DEST_START_HIGH:
                gr[i] = v & 0x3f;
                blitter.destinationWritten();
                break;
            case CirrusBlitter.GR_BLT_SOURCE_START_HIGH:
                gr[i] = v & 0x3f;
                break;
            case CirrusBlitter.GR_BLT_START_STATUS:
                blitter.writeStartStatus(v);
                break;
            default:
                if (i < GR_COUNT) {
                    gr[i] = v; // offsets, mode extensions, colours, blitter parameters: read back as written
                }
                break;
        }
    }

    /** The writable bits of GR02-GR08 as the plain VGA keeps them. */
    private static int vgaGraphicsMask(int i) {
        switch (i) {
            case Vga.GC_DATA_ROTATE: return 0x1f;
            case Vga.GC_READ_MAP_SELECT: return 0x03;
            case Vga.GC_BIT_MASK: return 0xff;
            default: return 0x0f;
        }
    }

    // ---------------------------------------------------------------- CRT controller

    private int readCrtcExtension(int i) {
        switch (i) {
            case CR_INTERLACE_END:
            case CR_MISC_CONTROL:
            case CR_EXTENDED_DISPLAY_CONTROLS:
            case 0x1c: // sync adjust and genlock
            case CR_OVERLAY_EXTENDED_CONTROL:
                return vga.crtc[i];
            case CR_GRAPHICS_LATCHES_READBACK:
            case CR_PART_STATUS:
                return 0; // not modelled; QEMU reads 0 too
            case CR_ATTRIBUTE_TOGGLE_READBACK:
                return vga.attrData ? 0x80 : 0;
            case CR_ATTRIBUTE_INDEX_READBACK:
                return vga.attrIndex & 0x3f;
            case CR_ID:
                return ID_GD5446;
            default:
                return 0xff;
        }
    }

    private void writeCrtcExtension(int i, int v) {
        if (i >= CR_INTERLACE_END && i <= CR_OVERLAY_EXTENDED_CONTROL) {
            vga.crtc[i] = v;
        }
        // the read-backs and the ID are read-only; nothing else is decoded
    }

    // ---------------------------------------------------------------- what the display uses

    /** Bits per pixel of the packed-pixel modes: 8, 15, 16, 24 or 32 (SR07 bits 3:1 and the hidden DAC). */
    int bitsPerPixel() {
        switch (sr[SR_EXTENDED_SEQUENCER_MODE] & SR07_DEPTH_MASK) {
            case SR07_DEPTH_16_DOUBLE_CLOCK:
            case SR07_DEPTH_16:
                return (hiddenDac & 0x0f) == HIDDEN_DAC_565 ? 16 : 15;
            case SR07_DEPTH_24:
                return 24;
            case SR07_DEPTH_32:
                return 32;
            default:
                return 8;
        }
    }

    /** The display start in bytes: CR0C/CR0D with bits 16-19 in CR1B bits 0, 3:2 and CR1D bit 7, in dwords. */
    int displayStart() {
        int[] cr = vga.crtc;
        int dwords = (cr[Vga.CRTC_START_ADDRESS_HIGH] << 8) | cr[Vga.CRTC_START_ADDRESS_LOW]
                | (cr[CR_EXTENDED_DISPLAY_CONTROLS] & 0x01) << 16
                | (cr[CR_EXTENDED_DISPLAY_CONTROLS] & 0x0c) << 15
                | (cr[CR_OVERLAY_EXTENDED_CONTROL] & 0x80) << 12;
        return dwords * 4;
    }

    /** Bytes from one displayed line to the next: CR13 with bit 8 in CR1B bit 4, in units of 8 bytes. */
    int displayPitch() {
        return (vga.crtc[Vga.CRTC_OFFSET] | (vga.crtc[CR_EXTENDED_DISPLAY_CONTROLS] & 0x10) << 4) << 3;
    }

    // ---------------------------------------------------------------- the 0xA0000 window

    BusDevice window() {
        return Vga.byteWide(this::readWindow, this::writeWindow);
    }

    /** SR07 bit 0 clear: the plain VGA's window; set: two banks, the blitter's data port and its registers. */
    int readWindow(int offset) {
        if (!extendedModes()) {
            return vga.readMemory(offset);
        }
        if (offset < BANKED_WINDOW) {
            int a = bankedAddress(offset);
            return a < 0 ? 0xff : memory().get(a) & 0xff;
        }
        if (windowMmio(offset)) {
            return blitter.readRegister(offset - WINDOW_MMIO);
        }
        return 0xff;
    }

    void writeWindow(int offset, int v) {
        vga.writes++;
        if (!extendedModes()) {
            vga.writeMemory(offset, v);
            return;
        }
        if (offset < BANKED_WINDOW) {
            if (blitter.awaitsSource()) {
                blitter.source(v); // a system-to-screen blit takes every write to the window as its data
                return;
            }
            int a = bankedAddress(offset);
            if (a >= 0) {
                writeVideo(a, v);
            }
        } else if (windowMmio(offset)) {
            blitter.writeRegister(offset - WINDOW_MMIO, v);
        }
    }

    private boolean windowMmio(int offset) {
        return offset >= WINDOW_MMIO && offset < WINDOW_MMIO + MMIO_SIZE
                && (sr[SR_CONFIGURATION_READBACK] & (SR17_MMIO_ENABLE | SR17_MMIO_AT_LINEAR_END)) == SR17_MMIO_ENABLE;
    }

    /**
     * The video RAM address of a window offset below 0x10000, or -1 past the end of video RAM. Bank 0 is
     * A0000-A7FFF (GR09), bank 1 A8000-AFFFF (GR0A with GR0B bit 0, else 32 KiB on from GR09); the offsets count
     * 4 KiB, or 16 KiB with GR0B bit 5.
     */
    int bankedAddress(int offset) {
        int bank = offset / BANK_SIZE;
        int extensions = gr[GR_MODE_EXTENSIONS];
        boolean dual = (extensions & EXT_DUAL_BANK) != 0;
        long base = (long) (dual ? gr[GR_OFFSET_0 + bank] : gr[GR_OFFSET_0])
                << ((extensions & EXT_16K_GRANULARITY) != 0 ? 14 : 12);
        if (!dual && bank == 1) {
            base += BANK_SIZE;
        }
        long a = base + (offset % BANK_SIZE);
        return a < addressable ? scaled((int) a) : -1;
    }

    /** BY8/BY16 addressing: each CPU byte stands for 8 (16) bytes of video RAM, for write modes 4 and 5. */
    private int scaled(int a) {
        int extensions = gr[GR_MODE_EXTENSIONS];
        if ((extensions & EXT_BY16_ADDRESSING) == EXT_BY16_ADDRESSING) {
            a <<= 4;
        } else if ((extensions & EXT_BY8_ADDRESSING) != 0) {
            a <<= 3;
        }
        return a & addressMask;
    }

    /**
     * A CPU byte at video RAM address {@code a}: stored as it is, or, in write mode 4 or 5 (GR05 bits 2:0 with
     * GR0B bit 2), expanded to 8 pixels in the foreground colour where its bits are 1 and, in mode 5, the
     * background colour where they are 0 (mode 4 leaves those pixels).
     */
    private void writeVideo(int a, int v) {
        ByteBuffer m = memory();
        int mode = vga.gc[Vga.GC_MODE] & 7;
        int extensions = gr[GR_MODE_EXTENSIONS];
        if ((extensions & EXT_WRITE_MODES) == 0 || (mode != 4 && mode != 5)) {
            m.put(a, (byte) v);
            return;
        }
        boolean wide = (extensions & EXT_BY16_ADDRESSING) == EXT_BY16_ADDRESSING;
        int step = wide ? 2 : 1;
        for (int i = 0; i < 8; i++) {
            boolean set = (v & (0x80 >> i)) != 0;
            if (!set && mode == 4) {
                continue;
            }
            int at = (a + i * step) & addressMask;
            m.put(at, (byte) (set ? foregroundByte0 : backgroundByte0));
            if (wide) {
                m.put((at + 1) & addressMask, (byte) gr[set ? GR_FOREGROUND_BYTE_1 : GR_BACKGROUND_BYTE_1]);
            }
        }
    }

    // ---------------------------------------------------------------- BAR0 where it is not RAM

    /** Where in BAR0 the blitter takes system-to-screen data (QEMU's "cirrus-bitblt-mmio"). */
    static final int LINEAR_BLT_SOURCE = 0x1000000;
    static final int LINEAR_BLT_SOURCE_SIZE = 0x400000;

    /**
     * BAR0 as QEMU decodes it when the video RAM is not mapped there: the linear aperture with the blitter
     * registers in its last 256 bytes (SR17 bits 6 and 2), system-to-screen data, the extended write modes, and
     * the blitter's data window at 16 MiB. See {@link CirrusVga} for why nothing routes accesses here yet.
     */
    BusDevice linearAperture() {
        return Vga.byteWide(this::readLinear, this::writeLinear);
    }

    int readLinear(int offset) {
        if (offset < 0 || offset >= vga.videoMemory().size()) {
            return 0xff; // the blit data window is write-only
        }
        int a = offset & addressMask;
        if (linearMmio(a)) {
            return blitter.readRegister(a & (MMIO_SIZE - 1));
        }
        return memory().get(scaled(a)) & 0xff;
    }

    void writeLinear(int offset, int v) {
        vga.writes++;
        if (offset >= LINEAR_BLT_SOURCE && offset < LINEAR_BLT_SOURCE + LINEAR_BLT_SOURCE_SIZE) {
            blitter.source(v);
            return;
        }
        if (offset < 0 || offset >= vga.videoMemory().size()) {
            return;
        }
        int a = offset & addressMask;
        if (linearMmio(a)) {
            blitter.writeRegister(a & (MMIO_SIZE - 1), v);
        } else if (blitter.awaitsSource()) {
            blitter.source(v);
        } else {
            writeVideo(scaled(a), v);
        }
    }

    private boolean linearMmio(int a) {
        int mmioBase = addressable - MMIO_SIZE;
        return (sr[SR_CONFIGURATION_READBACK] & (SR17_MMIO_ENABLE | SR17_MMIO_AT_LINEAR_END))
                == (SR17_MMIO_ENABLE | SR17_MMIO_AT_LINEAR_END) && (a & mmioBase) == mmioBase;
    }
}
