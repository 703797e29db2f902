package io.stubdm.devices.vga;

import io.stubdm.devices.Resettable;
import io.stubdm.ioreq.BusDevice;
import java.nio.ByteBuffer;

/**
 * The Bochs VBE extension ("DISPI") of the standard VGA: an index and a data port (0x1CE, 0x1CF) selecting
 * resolution, depth, virtual width and panning of a linear framebuffer in video RAM, and the 64 KiB bank the legacy
 * window shows. SeaBIOS's vgabios-stdvga drives it for every VBE mode; Linux's bochs-drm and FreeBSD's vt_vbefb
 * use what it leaves set. Register numbers and values are those of Bochs' {@code vbe.h}, which QEMU keeps.
 */
public final class BochsDispi implements Resettable {
    public static final int INDEX_PORT = 0x1ce;
    public static final int DATA_PORT = 0x1cf;
    /** Index, data and the second data port some guests use (0x1D0), as one port range. */
    public static final int PORT_COUNT = 3;

    static final int INDEX_ID = 0x0;
    static final int INDEX_XRES = 0x1;
    static final int INDEX_YRES = 0x2;
    static final int INDEX_BPP = 0x3;
    static final int INDEX_ENABLE = 0x4;
    static final int INDEX_BANK = 0x5;
    static final int INDEX_VIRT_WIDTH = 0x6;
    static final int INDEX_VIRT_HEIGHT = 0x7;
    static final int INDEX_X_OFFSET = 0x8;
    static final int INDEX_Y_OFFSET = 0x9;
    static final int INDEX_VIDEO_MEMORY_64K = 0xa;
    static final int REGISTER_COUNT = 0xb;

    static final int ID0 = 0xb0c0;
    /** The newest interface version: VIDEO_MEMORY_64K readable. */
    static final int ID5 = 0xb0c5;
    static final int ENABLED = 0x01;
    static final int GETCAPS = 0x02;
    static final int DAC_8BIT = 0x20;
    static final int LFB_ENABLED = 0x40;
    static final int NOCLEARMEM = 0x80;
    static final int MAX_XRES = 16000;
    static final int MAX_YRES = 12000;
    static final int MAX_BPP = 32;

    private final Vga vga;
    final int[] regs = new int[REGISTER_COUNT];
    private int index;

    public BochsDispi(Vga vga) {
        this.vga = vga;
        reset();
    }

    @Override
    public void reset() {
        java.util.Arrays.fill(regs, 0);
        regs[INDEX_ID] = ID5;
        regs[INDEX_BPP] = 8;
        index = 0;
    }

    /** Ports 0x1CE-0x1D0 (offset 0 = 0x1CE). */
    public BusDevice ports() {
        return new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return offset == 0 ? index : readRegister(index);
            }

            @Override
            public void write(long offset, int size, long value) {
                if (offset == 0) {
                    index = (int) value & 0xffff;
                } else {
                    writeRegister(index, (int) value & 0xffff);
                }
            }
        };
    }

    boolean enabled() {
        return (regs[INDEX_ENABLE] & ENABLED) != 0;
    }

    int bytesPerPixel() {
        return (regs[INDEX_BPP] + 7) / 8;
    }

    /** Bytes from one framebuffer line to the next. */
    int lineBytes() {
        return regs[INDEX_BPP] == 4 ? regs[INDEX_VIRT_WIDTH] / 2 : regs[INDEX_VIRT_WIDTH] * bytesPerPixel();
    }

    /** Where the visible picture starts in video RAM. */
    int startOffset() {
        return regs[INDEX_Y_OFFSET] * lineBytes() + regs[INDEX_X_OFFSET] * bytesPerPixel();
    }

    int readRegister(int i) {
        if (i == INDEX_VIDEO_MEMORY_64K) {
            return vga.videoMemory().size() >> 16;
        }
        if (i >= REGISTER_COUNT) {
            return 0;
        }
        if ((regs[INDEX_ENABLE] & GETCAPS) != 0) {
            switch (i) {
                case INDEX_XRES: return MAX_XRES;
                case INDEX_YRES: return MAX_YRES;
                case INDEX_BPP: return MAX_BPP;
                default: break;
            }
        }
        return regs[i];
    }

    void writeRegister(int i, int v) {
        vga.writes++;
        switch (i) {
            case INDEX_ID:
                if (v >= ID0 && v <= ID5) {
                    regs[INDEX_ID] = v;
                }
                break;
            case INDEX_XRES:
                if (v <= MAX_XRES && (v & 7) == 0) {
                    regs[INDEX_XRES] = v;
                }
                break;
            case INDEX_YRES:
                if (v <= MAX_YRES) {
                    regs[INDEX_YRES] = v;
                }
                break;
            case INDEX_BPP:
                if (v == 0) {
                    v = 8;
                }
                if (v == 4 || v == 8 || v == 15 || v == 16 || v == 24 || v == 32) {
                    regs[INDEX_BPP] = v;
                }
                break;
            case INDEX_BANK: {
                int banks = vga.videoMemory().size() >> 16;
                regs[INDEX_BANK] = v % Math.max(1, banks);
                vga.bankOffset = regs[INDEX_BANK] << 16;
                break;
            }
            case INDEX_ENABLE:
                writeEnable(v);
                break;
            case INDEX_VIRT_WIDTH:
                if (v >= regs[INDEX_XRES]) {
                    int old = regs[INDEX_VIRT_WIDTH];
                    regs[INDEX_VIRT_WIDTH] = v;
                    if ((long) lineBytes() * Math.max(1, regs[INDEX_YRES]) > vga.videoMemory().size()) {
                        regs[INDEX_VIRT_WIDTH] = old;
                    } else {
                        regs[INDEX_VIRT_HEIGHT] = vga.videoMemory().size() / Math.max(1, lineBytes());
                    }
                }
                break;
            case INDEX_X_OFFSET:
            case INDEX_Y_OFFSET:
                regs[i] = v;
                break;
            default:
                break;
        }
    }

    private void writeEnable(int v) {
        boolean wasEnabled = enabled();
        if ((v & ENABLED) != 0 && !wasEnabled) {
            int xres = regs[INDEX_XRES];
            int yres = regs[INDEX_YRES];
            regs[INDEX_VIRT_WIDTH] = xres;
            regs[INDEX_VIRT_HEIGHT] = yres;
            regs[INDEX_X_OFFSET] = 0;
            regs[INDEX_Y_OFFSET] = 0;
            long bytes = (long) lineBytes() * yres;
            if (bytes > vga.videoMemory().size() || xres == 0 || yres == 0) {
                return; // a mode that does not fit stays off, as on QEMU
            }
            if ((v & NOCLEARMEM) == 0) {
                ByteBuffer m = vga.videoMemory().buffer();
                for (int at = 0; at < bytes; at += 8) {
                    m.putLong(at, 0);
                }
            }
            // Graphics mode, the 64 KiB window at A0000 and chain-4 addressing, so that the banked window and
            // the VGA registers agree with the linear mode (QEMU's vbe_update_vgaregs).
            vga.gc[Vga.GC_MISCELLANEOUS] = (vga.gc[Vga.GC_MISCELLANEOUS] & ~0x0c) | 0x04 | Vga.MISC_GRAPHICS_MODE;
            vga.seq[Vga.SEQ_MEMORY_MODE] |= Vga.MEMORY_MODE_CHAIN4;
            vga.seq[Vga.SEQ_MAP_MASK] = 0x0f;
            vga.crtc[Vga.CRTC_MODE_CONTROL] |= 3;
            vga.bankOffset = 0;
            regs[INDEX_BANK] = 0;
        } else if ((v & ENABLED) == 0) {
            vga.bankOffset = 0;
            regs[INDEX_BANK] = 0;
        }
        vga.dac8Bit = (v & DAC_8BIT) != 0;
        regs[INDEX_ENABLE] = v;
    }
}
