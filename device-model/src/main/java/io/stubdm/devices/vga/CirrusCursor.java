package io.stubdm.devices.vga;

import java.nio.ByteBuffer;

/**
 * The CL-GD5446 hardware cursor, drawn over a rendered frame: 32×32 or 64×64 (SR12 bit 2), enabled by SR12 bit 0,
 * at the position in SR10/SR11, with its two bit planes in the last 16 KiB of video RAM at the pattern SR13
 * selects. Per pixel, plane 1 and plane 0 give: 00 transparent, 01 the screen inverted, 10 cursor colour 0,
 * 11 cursor colour 15 (the extra DAC entries SR12 bit 1 makes writable).
 */
final class CirrusCursor {
    private static final int PATTERN_AREA = 16 << 10;
    private static final int PATTERN_UNIT = 256;

    private final CirrusRegisters regs;

    CirrusCursor(CirrusRegisters regs) {
        this.regs = regs;
    }

    boolean enabled() {
        return (regs.sr[CirrusRegisters.SR_CURSOR_ATTRIBUTES] & CirrusRegisters.CURSOR_ENABLE) != 0;
    }

    void overlay(VgaRenderer.Frame frame) {
        if (!enabled()) {
            return;
        }
        boolean large = (regs.sr[CirrusRegisters.SR_CURSOR_ATTRIBUTES] & CirrusRegisters.CURSOR_SIZE_64) != 0;
        int size = large ? 64 : 32;
        int select = regs.sr[CirrusRegisters.SR_CURSOR_PATTERN_ADDRESS] & (large ? 0x3c : 0x3f);
        int base = regs.addressable - PATTERN_AREA + select * PATTERN_UNIT;
        // 32×32: 4 bytes a line, plane 1 128 bytes after plane 0; 64×64: 16 bytes a line, plane 0 then plane 1.
        int lineBytes = large ? 16 : 4;
        int plane1 = large ? 8 : 128;
        int color0 = color(0);
        int color15 = color(15);
        ByteBuffer m = regs.memory();
        int[] pixels = frame.pixels();
        for (int row = 0; row < size; row++) {
            int y = regs.cursorY + row;
            if (y >= frame.height()) {
                break;
            }
            int at = base + row * lineBytes;
            for (int col = 0; col < size; col++) {
                int x = regs.cursorX + col;
                if (x >= frame.width()) {
                    break;
                }
                int bit = 0x80 >> (col & 7);
                int p0 = (m.get(at + (col >> 3)) & bit) != 0 ? 1 : 0;
                int p1 = (m.get(at + plane1 + (col >> 3)) & bit) != 0 ? 2 : 0;
                int i = y * frame.width() + x;
                switch (p1 | p0) {
                    case 1: pixels[i] ^= 0xffffff; break;
                    case 2: pixels[i] = color0; break;
                    case 3: pixels[i] = color15; break;
                    default: break;
                }
            }
        }
    }

    private int color(int entry) {
        int[] p = regs.cursorPalette;
        return expand(p[entry * 3]) << 16 | expand(p[entry * 3 + 1]) << 8 | expand(p[entry * 3 + 2]);
    }

    private static int expand(int sixBits) {
        int c = sixBits & 0x3f;
        return (c << 2) | (c >> 4);
    }
}
