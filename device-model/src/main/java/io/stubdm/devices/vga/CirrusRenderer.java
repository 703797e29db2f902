package io.stubdm.devices.vga;

import java.nio.ByteBuffer;

/**
 * What a CL-GD5446 shows: the packed-pixel modes (SR07 bit 0 with the 256-colour shift in GR05) at 8 bpp through
 * the palette and at 15, 16, 24 and 32 bpp direct, with the start address and pitch of CR0C/CR0D/CR13 and their
 * extension bits in CR1B/CR1D; every other mode as the plain VGA draws it ({@link VgaRenderer}). The hardware
 * cursor goes over any graphics mode.
 */
final class CirrusRenderer {
    private static final int MAX_DIMENSION = 4096;

    private final CirrusRegisters regs;
    private final VgaRenderer vgaRenderer;
    private final CirrusCursor cursor;

    CirrusRenderer(CirrusRegisters regs) {
        this.regs = regs;
        this.vgaRenderer = new VgaRenderer(regs.vga, null);
        this.cursor = new CirrusCursor(regs);
    }

    VgaRenderer.Frame render() {
        Vga vga = regs.vga;
        boolean packed = packedPixelMode();
        VgaRenderer.Frame frame = packed ? renderPackedPixels() : vgaRenderer.render();
        boolean showing = packed ? paletteSourceOn() : vga.graphicsMode() && vga.displayEnabled();
        if (showing) {
            cursor.overlay(frame);
        }
        return frame;
    }

    String text() {
        return vgaRenderer.text();
    }

    boolean packedPixelMode() {
        Vga vga = regs.vga;
        return regs.extendedModes() && vga.graphicsMode() && ((vga.gc[Vga.GC_MODE] >> Vga.MODE_SHIFT_SHIFT) & 3) >= 2;
    }

    /**
     * Only the attribute controller's palette address source blanks these modes, not SR01's screen-off bit:
     * vgabios-cirrus's mode tables leave SR01 at 0x21, and QEMU, which they were written for, ignores the bit.
     */
    private VgaRenderer.Frame renderPackedPixels() {
        Vga vga = regs.vga;
        int width = (vga.crtc[Vga.CRTC_HORIZONTAL_DISPLAY_END] + 1) * 8;
        int height = vga.verticalDisplayLines();
        if ((vga.crtc[CirrusRegisters.CR_MISC_CONTROL] & 0x01) != 0) {
            height *= 2; // interlaced: CR12 counts field lines
        }
        if (width > MAX_DIMENSION || height > MAX_DIMENSION) {
            return blank(640, 480);
        }
        int[] out = new int[width * height];
        if (!paletteSourceOn()) {
            return new VgaRenderer.Frame(width, height, out);
        }
        int maxScan = vga.crtc[Vga.CRTC_MAX_SCAN_LINE];
        int repeat = ((maxScan & 0x1f) + 1) << ((maxScan >> 7) & 1);
        int bpp = regs.bitsPerPixel();
        int bytes = (bpp + 7) / 8;
        int start = regs.displayStart();
        int pitch = regs.displayPitch();
        int limit = regs.addressable;
        ByteBuffer m = regs.memory();
        for (int y = 0; y < height; y++) {
            long row = start + (long) (y / repeat) * pitch;
            for (int x = 0; x < width; x++) {
                long address = row + (long) x * bytes;
                if (address + bytes > limit) {
                    break; // past the card's memory: black
                }
                int at = (int) address;
                out[y * width + x] = VgaRenderer.linearPixel(vga, m, at, bpp, vga.pelMask);
            }
        }
        return new VgaRenderer.Frame(width, height, out);
    }

    private boolean paletteSourceOn() {
        return (regs.vga.attrIndex & Vga.AR_INDEX_PALETTE_ADDRESS_SOURCE) != 0;
    }

    private static VgaRenderer.Frame blank(int width, int height) {
        return new VgaRenderer.Frame(width, height, new int[width * height]);
    }
}
