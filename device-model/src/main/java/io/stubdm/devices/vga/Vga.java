package io.stubdm.devices.vga;

import io.stubdm.devices.Resettable;
import io.stubdm.ioreq.BusDevice;
import java.nio.ByteBuffer;

/**
 * The IBM VGA core every PC graphics adapter starts from: the sequencer, CRT controller, graphics controller,
 * attribute controller and DAC behind ports 0x3B0-0x3DF, and the legacy memory window at 0xA0000-0xBFFFF with
 * its four planes, latches and write modes. Register names follow IBM's "VGA Technical Reference"
 * (the sections cited are those of Richard Ferraro's "Programmer's Guide to the EGA, VGA and Super VGA Cards",
 * which reproduces it).
 *
 * <p>The planes live in video RAM the way QEMU lays them out, so that the VGA BIOS, a VBE mode and a renderer
 * agree on one memory: byte {@code 4 * a + p} holds plane {@code p} of planar address {@code a}. Chain-4 mode
 * (mode 13h and VBE's banked window) addresses video RAM linearly; odd/even mode (text) sends even addresses to
 * planes 0 and 2 and odd ones to planes 1 and 3, so a text screen's characters are plane 0, its attributes plane
 * 1 and the font plane 2.
 */
public final class Vga implements Resettable {

    // ---------------------------------------------------------------- I/O ports
    public static final int PORT_BASE = 0x3b0;
    public static final int PORT_COUNT = 0x30;
    static final int CRTC_INDEX_MONO = 0x3b4;
    static final int CRTC_DATA_MONO = 0x3b5;
    static final int INPUT_STATUS_1_MONO = 0x3ba;
    static final int ATTRIBUTE_INDEX_DATA = 0x3c0;
    static final int ATTRIBUTE_DATA_READ = 0x3c1;
    /** Write: Miscellaneous Output; read: Input Status 0. */
    static final int MISC_OUTPUT_WRITE = 0x3c2;
    static final int SEQUENCER_INDEX = 0x3c4;
    static final int SEQUENCER_DATA = 0x3c5;
    static final int DAC_PEL_MASK = 0x3c6;
    /** Write: DAC read index; read: DAC state. */
    static final int DAC_READ_INDEX = 0x3c7;
    static final int DAC_WRITE_INDEX = 0x3c8;
    static final int DAC_DATA = 0x3c9;
    static final int FEATURE_CONTROL_READ = 0x3ca;
    static final int MISC_OUTPUT_READ = 0x3cc;
    static final int GRAPHICS_INDEX = 0x3ce;
    static final int GRAPHICS_DATA = 0x3cf;
    static final int CRTC_INDEX_COLOR = 0x3d4;
    static final int CRTC_DATA_COLOR = 0x3d5;
    /** Read: Input Status 1 (and the attribute flip-flop reset); write: Feature Control. */
    static final int INPUT_STATUS_1_COLOR = 0x3da;

    /** Miscellaneous Output bit 0: the CRTC and Input Status 1 answer at 0x3Dx (color), else at 0x3Bx (mono). */
    static final int MISC_COLOR_IO = 0x01;
    /** Input Status 1: display enable (active low) and vertical retrace, toggled on each read so pollers move on. */
    static final int INPUT_STATUS_1_DISPLAY_DISABLED = 0x01;
    static final int INPUT_STATUS_1_VERTICAL_RETRACE = 0x08;

    // ---------------------------------------------------------------- sequencer
    static final int SEQ_RESET = 0;
    static final int SEQ_CLOCKING_MODE = 1;
    static final int SEQ_MAP_MASK = 2;
    static final int SEQ_CHARACTER_MAP_SELECT = 3;
    static final int SEQ_MEMORY_MODE = 4;
    static final int CLOCKING_8_DOT = 0x01;
    static final int CLOCKING_HALF_DOT_CLOCK = 0x08;
    static final int CLOCKING_SCREEN_OFF = 0x20;
    static final int MEMORY_MODE_ODD_EVEN_DISABLE = 0x04;
    static final int MEMORY_MODE_CHAIN4 = 0x08;
    /** Writable bits per sequencer register (QEMU's sr_mask). */
    private static final int[] SEQ_WRITABLE = {0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff};

    // ---------------------------------------------------------------- graphics controller
    static final int GC_SET_RESET = 0;
    static final int GC_ENABLE_SET_RESET = 1;
    static final int GC_COLOR_COMPARE = 2;
    static final int GC_DATA_ROTATE = 3;
    static final int GC_READ_MAP_SELECT = 4;
    static final int GC_MODE = 5;
    static final int GC_MISCELLANEOUS = 6;
    static final int GC_COLOR_DONT_CARE = 7;
    static final int GC_BIT_MASK = 8;
    static final int MODE_READ_MODE_1 = 0x08;
    static final int MODE_HOST_ODD_EVEN = 0x10;
    /** Mode register bits 6:5, the shift register: 0 = 16-color planar, 1 = CGA 4-color, 2 and 3 = 256-color. */
    static final int MODE_SHIFT_SHIFT = 5;
    static final int MISC_GRAPHICS_MODE = 0x01;
    static final int MISC_MEMORY_MAP_SHIFT = 2;
    private static final int[] GC_WRITABLE = {0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0};

    // ---------------------------------------------------------------- attribute controller
    static final int AR_MODE_CONTROL = 0x10;
    static final int AR_OVERSCAN = 0x11;
    static final int AR_COLOR_PLANE_ENABLE = 0x12;
    static final int AR_HORIZONTAL_PEL_PANNING = 0x13;
    static final int AR_COLOR_SELECT = 0x14;
    static final int AR_REGISTER_COUNT = 0x15;
    /** Index bit 5, Palette Address Source: 0 while the palette is being loaded, which blanks the screen. */
    static final int AR_INDEX_PALETTE_ADDRESS_SOURCE = 0x20;
    static final int AR_MODE_LINE_GRAPHICS = 0x04;
    static final int AR_MODE_BLINK = 0x08;
    static final int AR_MODE_P54_SELECT = 0x80;

    // ---------------------------------------------------------------- CRT controller
    static final int CRTC_HORIZONTAL_DISPLAY_END = 0x01;
    static final int CRTC_OVERFLOW = 0x07;
    static final int CRTC_MAX_SCAN_LINE = 0x09;
    static final int CRTC_CURSOR_START = 0x0a;
    static final int CRTC_CURSOR_END = 0x0b;
    static final int CRTC_START_ADDRESS_HIGH = 0x0c;
    static final int CRTC_START_ADDRESS_LOW = 0x0d;
    static final int CRTC_CURSOR_LOCATION_HIGH = 0x0e;
    static final int CRTC_CURSOR_LOCATION_LOW = 0x0f;
    static final int CRTC_VERTICAL_RETRACE_END = 0x11;
    static final int CRTC_VERTICAL_DISPLAY_END = 0x12;
    static final int CRTC_OFFSET = 0x13;
    static final int CRTC_MODE_CONTROL = 0x17;
    static final int CRTC_REGISTER_COUNT = 0x19;
    /** Vertical Retrace End bit 7: CRTC registers 0-7 are write-protected, except CR07's line-compare bit 4. */
    static final int RETRACE_END_PROTECT = 0x80;
    static final int CURSOR_START_DISABLE = 0x20;

    private final VideoMemory vram;
    final int[] seq = new int[8];
    final int[] gc = new int[16];
    final int[] attr = new int[AR_REGISTER_COUNT];
    final int[] crtc = new int[256];
    /** 256 entries of red, green, blue; 6 bits each unless a VBE mode switched the DAC to 8 bits. */
    final int[] dac = new int[768];
    int seqIndex;
    int gcIndex;
    int attrIndex;
    /** false: the next write to 0x3C0 is an index, true: data. */
    boolean attrData;
    int crtcIndex;
    int misc;
    int featureControl;
    int inputStatus1;
    int pelMask = 0xff;
    private int dacReadIndex;
    private int dacWriteIndex;
    private int dacComponent;
    /** 0 after a write index was set, 3 after a read index (the DAC State register). */
    private int dacState;
    private final int[] dacEntry = new int[3];
    private int latch;
    /** The 64 KiB bank VBE's banked window shows at 0xA0000 (Bochs DISPI BANK). */
    int bankOffset;
    boolean dac8Bit;

    public Vga(VideoMemory vram) {
        if (vram.size() < 256 << 10) {
            throw new IllegalArgumentException("a VGA needs at least 256 KiB of video RAM, not " + vram.size());
        }
        this.vram = vram;
        reset();
    }

    public VideoMemory videoMemory() {
        return vram;
    }

    /** Power-on: a colour adapter whose BIOS has not run yet (the VGA BIOS programs every register). */
    @Override
    public void reset() {
        writes++;
        java.util.Arrays.fill(seq, 0);
        java.util.Arrays.fill(gc, 0);
        java.util.Arrays.fill(attr, 0);
        java.util.Arrays.fill(crtc, 0);
        java.util.Arrays.fill(dac, 0);
        seqIndex = gcIndex = attrIndex = crtcIndex = 0;
        attrData = false;
        misc = MISC_COLOR_IO;
        featureControl = 0;
        inputStatus1 = 0;
        pelMask = 0xff;
        dacReadIndex = dacWriteIndex = dacComponent = dacState = 0;
        latch = 0;
        bankOffset = 0;
        dac8Bit = false;
    }

    // ---------------------------------------------------------------- ports

    /** Ports 0x3B0-0x3DF, offset 0 = 0x3B0; a 16-bit access is two byte accesses (an index then its data). */
    public BusDevice ports() {
        return byteWide(offset -> readPort(PORT_BASE + offset), (offset, v) -> writePort(PORT_BASE + offset, v));
    }

    /** Reads and writes one byte of a register file or memory at an offset. */
    interface ByteAccess {
        int read(int offset);
    }

    interface ByteStore {
        void write(int offset, int value);
    }

    /** A bus device whose wider accesses are byte accesses in address order, as the VGA's 8-bit interface takes them. */
    static BusDevice byteWide(ByteAccess reader, ByteStore writer) {
        return new BusDevice() {
            @Override
            public long read(long offset, int size) {
                long v = 0;
                for (int i = 0; i < size; i++) {
                    v |= (long) reader.read((int) offset + i) << (8 * i);
                }
                return v;
            }

            @Override
            public void write(long offset, int size, long value) {
                for (int i = 0; i < size; i++) {
                    writer.write((int) offset + i, (int) (value >>> (8 * i)) & 0xff);
                }
            }
        };
    }

    /** The CRTC and Input Status 1 answer only at the address Miscellaneous Output selects (mono 0x3Bx, color 0x3Dx). */
    private boolean wrongAddressSpace(int port) {
        return (misc & MISC_COLOR_IO) != 0 ? port >= 0x3b0 && port <= 0x3bf : port >= 0x3d0 && port <= 0x3df;
    }

    int readPort(int port) {
        if (wrongAddressSpace(port)) {
            return 0xff;
        }
        switch (port) {
            case ATTRIBUTE_INDEX_DATA:
                return attrData ? 0 : attrIndex;
            case ATTRIBUTE_DATA_READ: {
                int index = attrIndex & 0x1f;
                return index < AR_REGISTER_COUNT ? attr[index] : 0;
            }
            case MISC_OUTPUT_WRITE:
                return 0; // Input Status 0: no switch sense, no CRT interrupt
            case SEQUENCER_INDEX:
                return seqIndex;
            case SEQUENCER_DATA:
                return seq[seqIndex];
            case DAC_PEL_MASK:
                return pelMask;
            case DAC_READ_INDEX:
                return dacState;
            case DAC_WRITE_INDEX:
                return dacWriteIndex;
            case DAC_DATA: {
                int v = dac[dacReadIndex * 3 + dacComponent];
                if (++dacComponent == 3) {
                    dacComponent = 0;
                    dacReadIndex = (dacReadIndex + 1) & 0xff;
                }
                return v;
            }
            case FEATURE_CONTROL_READ:
                return featureControl;
            case MISC_OUTPUT_READ:
                return misc;
            case GRAPHICS_INDEX:
                return gcIndex;
            case GRAPHICS_DATA:
                return gc[gcIndex];
            case CRTC_INDEX_MONO:
            case CRTC_INDEX_COLOR:
                return crtcIndex;
            case CRTC_DATA_MONO:
            case CRTC_DATA_COLOR:
                return crtc[crtcIndex];
            case INPUT_STATUS_1_MONO:
            case INPUT_STATUS_1_COLOR:
                // Nothing scans out here, so both bits toggle on every read: a driver waiting for retrace (or for
                // its end) sees it at once, as on QEMU. The read also resets the attribute flip-flop.
                inputStatus1 ^= INPUT_STATUS_1_VERTICAL_RETRACE | INPUT_STATUS_1_DISPLAY_DISABLED;
                attrData = false;
                return inputStatus1;
            default:
                return 0xff;
        }
    }

    /**
     * Writes the guest made to the adapter's registers and legacy window (and, for the adapters built on this one,
     * to their own registers): the display refresh renders again only when this moved or the framebuffer was
     * written ({@link DisplayAdapter#changedSinceLastAsked()}).
     */
    long writes;

    private long writesSeen = -1;

    /** {@link DisplayAdapter#changedSinceLastAsked()} for an adapter built on this VGA. */
    boolean changedSinceLastAsked() {
        boolean framebufferWritten = vram.anyPageWritten();
        boolean changed = framebufferWritten || writes != writesSeen;
        writesSeen = writes;
        return changed;
    }

    void writePort(int port, int v) {
        writes++;
        if (wrongAddressSpace(port)) {
            return;
        }
        switch (port) {
            case ATTRIBUTE_INDEX_DATA:
                if (!attrData) {
                    attrIndex = v & 0x3f;
                } else {
                    writeAttribute(attrIndex & 0x1f, v);
                }
                attrData = !attrData;
                break;
            case MISC_OUTPUT_WRITE:
                misc = v & ~0x10;
                break;
            case SEQUENCER_INDEX:
                seqIndex = v & 7;
                break;
            case SEQUENCER_DATA:
                seq[seqIndex] = v & SEQ_WRITABLE[seqIndex];
                break;
            case DAC_PEL_MASK:
                pelMask = v;
                break;
            case DAC_READ_INDEX:
                dacReadIndex = v;
                dacComponent = 0;
                dacState = 3;
                break;
            case DAC_WRITE_INDEX:
                dacWriteIndex = v;
                dacComponent = 0;
                dacState = 0;
                break;
            case DAC_DATA:
                dacEntry[dacComponent] = v;
                if (++dacComponent == 3) {
                    System.arraycopy(dacEntry, 0, dac, dacWriteIndex * 3, 3);
                    dacComponent = 0;
                    dacWriteIndex = (dacWriteIndex + 1) & 0xff;
                }
                break;
            case GRAPHICS_INDEX:
                gcIndex = v & 0x0f;
                break;
            case GRAPHICS_DATA:
                gc[gcIndex] = v & GC_WRITABLE[gcIndex];
                break;
            case CRTC_INDEX_MONO:
            case CRTC_INDEX_COLOR:
                crtcIndex = v;
                break;
            case CRTC_DATA_MONO:
            case CRTC_DATA_COLOR:
                if ((crtc[CRTC_VERTICAL_RETRACE_END] & RETRACE_END_PROTECT) != 0 && crtcIndex <= CRTC_OVERFLOW) {
                    if (crtcIndex == CRTC_OVERFLOW) {
                        crtc[CRTC_OVERFLOW] = (crtc[CRTC_OVERFLOW] & ~0x10) | (v & 0x10);
                    }
                    return;
                }
                crtc[crtcIndex] = v;
                break;
            case INPUT_STATUS_1_MONO:
            case INPUT_STATUS_1_COLOR:
                featureControl = v & 0x10;
                break;
            default:
                break;
        }
    }

    private void writeAttribute(int index, int v) {
        if (index < 0x10) {
            attr[index] = v & 0x3f;
        } else if (index == AR_MODE_CONTROL) {
            attr[index] = v & ~0x10;
        } else if (index == AR_OVERSCAN) {
            attr[index] = v;
        } else if (index == AR_COLOR_PLANE_ENABLE) {
            attr[index] = v & ~0xc0;
        } else if (index == AR_HORIZONTAL_PEL_PANNING || index == AR_COLOR_SELECT) {
            attr[index] = v & ~0xf0;
        }
    }

    // ---------------------------------------------------------------- the legacy window, 0xA0000-0xBFFFF

    public static final long WINDOW_BASE = 0xa0000;
    public static final int WINDOW_SIZE = 0x20000;

    /** The window as a bus device (offset 0 = 0xA0000); wider accesses are byte accesses in address order. */
    public BusDevice window() {
        return byteWide(this::readMemory, this::writeMemory);
    }

    /**
     * The offset in the selected memory map (Miscellaneous register bits 3:2: 128 KiB at A0000, 64 KiB at A0000,
     * 32 KiB at B0000 or at B8000) of a window offset, or -1 when the map does not cover it.
     */
    private int mapped(int windowOffset) {
        switch ((gc[GC_MISCELLANEOUS] >> MISC_MEMORY_MAP_SHIFT) & 3) {
            case 0:
                return windowOffset;
            case 1:
                return windowOffset < 0x10000 ? windowOffset + bankOffset : -1;
            case 2:
                return windowOffset >= 0x10000 && windowOffset < 0x18000 ? windowOffset - 0x10000 : -1;
            default:
                return windowOffset >= 0x18000 ? windowOffset - 0x18000 : -1;
        }
    }

    int readMemory(int windowOffset) {
        int a = mapped(windowOffset);
        if (a < 0) {
            return 0xff;
        }
        ByteBuffer m = vram.buffer();
        if ((seq[SEQ_MEMORY_MODE] & MEMORY_MODE_CHAIN4) != 0) {
            return a < m.capacity() ? m.get(a) & 0xff : 0xff;
        }
        if ((gc[GC_MODE] & MODE_HOST_ODD_EVEN) != 0) {
            int plane = (gc[GC_READ_MAP_SELECT] & 2) | (a & 1);
            int at = ((a & ~1) << 1) | plane;
            return at < m.capacity() ? m.get(at) & 0xff : 0xff;
        }
        if ((long) a * 4 + 3 >= m.capacity()) {
            return 0xff;
        }
        // Every planar read loads the four latches (Ferraro, "Read Mode 0/1").
        latch = m.getInt(a * 4);
        if ((gc[GC_MODE] & MODE_READ_MODE_1) == 0) {
            return (latch >>> (8 * (gc[GC_READ_MAP_SELECT] & 3))) & 0xff;
        }
        // Read mode 1: a bit is 1 where every plane that Color Don't Care selects matches Color Compare.
        int differs = (latch ^ planeMask(gc[GC_COLOR_COMPARE])) & planeMask(gc[GC_COLOR_DONT_CARE]);
        differs |= differs >>> 16;
        differs |= differs >>> 8;
        return ~differs & 0xff;
    }

    void writeMemory(int windowOffset, int v) {
        writes++;
        int a = mapped(windowOffset);
        if (a < 0) {
            return;
        }
        ByteBuffer m = vram.buffer();
        if ((seq[SEQ_MEMORY_MODE] & MEMORY_MODE_CHAIN4) != 0) {
            if ((seq[SEQ_MAP_MASK] & (1 << (a & 3))) != 0 && a < m.capacity()) {
                m.put(a, (byte) v);
            }
            return;
        }
        if ((seq[SEQ_MEMORY_MODE] & MEMORY_MODE_ODD_EVEN_DISABLE) == 0) {
            int plane = (gc[GC_READ_MAP_SELECT] & 2) | (a & 1);
            int at = ((a & ~1) << 1) | plane;
            if ((seq[SEQ_MAP_MASK] & (1 << plane)) != 0 && at < m.capacity()) {
                m.put(at, (byte) v);
            }
            return;
        }
        if ((long) a * 4 + 3 >= m.capacity()) {
            return;
        }
        int value;
        int bitMask = gc[GC_BIT_MASK];
        switch (gc[GC_MODE] & 3) {
            case 0: {
                // Write mode 0: rotate, then set/reset for the enabled planes, then the logical op and bit mask.
                int b = rotate(v);
                int setResetPlanes = planeMask(gc[GC_ENABLE_SET_RESET]);
                value = (b * 0x01010101 & ~setResetPlanes) | (planeMask(gc[GC_SET_RESET]) & setResetPlanes);
                break;
            }
            case 1:
                // Write mode 1: the latches as they are, under the map mask only.
                writePlanes(m, a, latch);
                return;
            case 2:
                value = planeMask(v & 0x0f);
                break;
            default:
                // Write mode 3: the rotated byte ANDed with the bit mask selects where Set/Reset goes.
                bitMask &= rotate(v);
                value = planeMask(gc[GC_SET_RESET]);
                break;
        }
        switch ((gc[GC_DATA_ROTATE] >> 3) & 3) {
            case 1: value &= latch; break;
            case 2: value |= latch; break;
            case 3: value ^= latch; break;
            default: break;
        }
        int mask = bitMask * 0x01010101;
        writePlanes(m, a, (value & mask) | (latch & ~mask));
    }

    private void writePlanes(ByteBuffer m, int a, int value) {
        int writeMask = planeMask(seq[SEQ_MAP_MASK] & 0x0f);
        m.putInt(a * 4, (m.getInt(a * 4) & ~writeMask) | (value & writeMask));
    }

    private int rotate(int v) {
        int r = gc[GC_DATA_ROTATE] & 7;
        return ((v >> r) | (v << (8 - r))) & 0xff;
    }

    /** 0xff in byte {@code p} for each plane {@code p} whose bit is set in the 4-bit {@code planes}. */
    static int planeMask(int planes) {
        int m = 0;
        for (int p = 0; p < 4; p++) {
            if ((planes & (1 << p)) != 0) {
                m |= 0xff << (8 * p);
            }
        }
        return m;
    }

    // ---------------------------------------------------------------- what the renderer needs

    /** The 16 attribute palette entries as RGB, through Color Select and the DAC (QEMU's update_palette16). */
    int[] palette16() {
        int[] out = new int[16];
        for (int i = 0; i < 16; i++) {
            int v = attr[i];
            if ((attr[AR_MODE_CONTROL] & AR_MODE_P54_SELECT) != 0) {
                v = ((attr[AR_COLOR_SELECT] & 0x0f) << 4) | (v & 0x0f);
            } else {
                v = ((attr[AR_COLOR_SELECT] & 0x0c) << 4) | (v & 0x3f);
            }
            out[i] = dacColor(v);
        }
        return out;
    }

    int dacColor(int index) {
        int i = index & 0xff;
        return (expand(dac[i * 3]) << 16) | (expand(dac[i * 3 + 1]) << 8) | expand(dac[i * 3 + 2]);
    }

    private int expand(int component) {
        if (dac8Bit) {
            return component & 0xff;
        }
        int c = component & 0x3f;
        return (c << 2) | (c >> 4);
    }

    /** Whether the screen shows anything: the palette is not being loaded and the sequencer has not blanked it. */
    boolean displayEnabled() {
        return (attrIndex & AR_INDEX_PALETTE_ADDRESS_SOURCE) != 0 && (seq[SEQ_CLOCKING_MODE] & CLOCKING_SCREEN_OFF) == 0;
    }

    boolean graphicsMode() {
        return (gc[GC_MISCELLANEOUS] & MISC_GRAPHICS_MODE) != 0;
    }

    int startAddress() {
        return (crtc[CRTC_START_ADDRESS_HIGH] << 8) | crtc[CRTC_START_ADDRESS_LOW];
    }

    /** Bytes of video RAM from one displayed row to the next (CR13 counts in units of 8 bytes of interleaved planes). */
    int lineOffset() {
        return crtc[CRTC_OFFSET] << 3;
    }

    /** Scan lines displayed: Vertical Display End with its bits 8 and 9 from Overflow, plus one. */
    int verticalDisplayLines() {
        return (crtc[CRTC_VERTICAL_DISPLAY_END] | ((crtc[CRTC_OVERFLOW] & 0x02) << 7)
                | ((crtc[CRTC_OVERFLOW] & 0x40) << 3)) + 1;
    }
}
