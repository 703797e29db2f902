package io.stubdm.devices.vga;

import static io.stubdm.devices.vga.VgaTestRig.LFB;
import static io.stubdm.devices.vga.VgaTestRig.MODE3_MISC;
import static io.stubdm.devices.vga.VgaTestRig.VGA_SLOT;
import static io.stubdm.devices.vga.VgaTestRig.VRAM_HOME;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The standard VGA as firmware and drivers program it, through the ioreq engine over the simulated Xen: the
 * VGA BIOS's mode 3 set-up and font load, text written into the B8000 window (which Xen sends through the
 * buffered ring), hvmloader placing the video RAM BAR, SeaBIOS's VBE mode set through the DISPI ports and a
 * framebuffer written straight into guest RAM, and what the renderer makes of each.
 */
class StdVgaTest {
    private static final int VRAM = 16 << 20;
    private static final long MMIO_BAR = 0xf1000000L;
    private static final Path BIOS = Path.of("/usr/share/seabios/vgabios-stdvga.bin");

    private final VgaTestRig rig = new VgaTestRig(VRAM);
    private final EmbeddedEngine engine = rig.engine;
    private final SimVcpu cpu = rig.cpu;
    private final StdVga vga;

    StdVgaTest() throws IOException {
        vga = rig.plug(new StdVga(rig.vram,
                VgaTestRig.biosIfInstalled(BIOS, StdVga.VENDOR_BOCHS, StdVga.DEVICE_STD_VGA)));
    }

    @AfterEach
    void stop() {
        rig.close();
    }

    // ---------------------------------------------------------------- what the firmware does

    /** hvmloader: BAR0 (video RAM) and BAR2 (MMIO) in the PCI hole, memory and I/O decode on. */
    private void hvmloaderPlacesBars() {
        rig.hvmloaderPlacesBars(0x18, MMIO_BAR);
    }

    /** A font where glyph {@code c} has scan line {@code l} = c ^ l: every glyph and line is distinct. */
    private static byte[][] testFont() {
        byte[][] font = new byte[256][16];
        for (int c = 0; c < 256; c++) {
            for (int l = 0; l < 16; l++) {
                font[c][l] = (byte) (c ^ (l * 0x11));
            }
        }
        return font;
    }

    // ---------------------------------------------------------------- text

    @Test
    void textModeShowsTheCharactersInTheFontTheBiosLoaded() {
        hvmloaderPlacesBars();
        rig.setMode3();
        byte[][] font = testFont();
        rig.loadFont(font);
        cpu.stosToMmio(0xb8000, 2, 0x0720, 80 * 25, false); // what the BIOS's clear screen does
        rig.writeText(0, 0, "Linux version 6.1", 0x07);
        rig.writeText(24, 70, "login:", 0x1e); // yellow on blue
        cpu.outw(0x3d4, 0x0e | (0 << 8));
        cpu.outw(0x3d4, 0x0f | (81 << 8)); // cursor at row 1, column 1

        String text = rig.afterBufferedWrites(() -> vga.renderer().text());
        String[] rows = text.split("\n", -1);
        assertEquals("Linux version 6.1", rows[0]);
        assertEquals(" ".repeat(70) + "login:", rows[24]);
        assertEquals(26, rows.length, "25 rows and the final newline");

        VgaRenderer.Frame f = rig.afterBufferedWrites(() -> vga.renderer().render());
        assertEquals(720, f.width());
        assertEquals(400, f.height());
        int grey = 0xaaaaaa;
        int yellow = 0xffff55;
        int blue = 0x0000aa;
        // 'L' in the first cell: dot d of line l is set where glyph bit (7 - d) is.
        for (int l = 0; l < 16; l++) {
            for (int d = 0; d < 8; d++) {
                boolean on = (font['L'][l] & (0x80 >> d)) != 0;
                assertEquals(on ? grey : 0, f.pixel(d, l), "dot " + d + " of line " + l + " of 'L'");
            }
            assertEquals(0, f.pixel(8, l), "the ninth dot of a letter is background");
        }
        int x0 = 70 * 9;
        int y0 = 24 * 16;
        for (int l = 0; l < 16; l++) {
            for (int d = 0; d < 8; d++) {
                boolean on = (font['l'][l] & (0x80 >> d)) != 0;
                assertEquals(on ? yellow : blue, f.pixel(x0 + d, y0 + l));
            }
        }
        // The cursor (CR0A/CR0B: lines 13-14) fills its cell's lines in the foreground colour.
        assertEquals(grey, f.pixel(9 + 3, 16 + 13));
        assertEquals(grey, f.pixel(9 + 3, 16 + 14));
    }

    @Test
    void inputStatusTogglesRetraceAndResetsTheAttributeFlipFlop() {
        rig.setMode3();
        int a = cpu.inb(0x3da);
        int b = cpu.inb(0x3da);
        assertEquals(Vga.INPUT_STATUS_1_VERTICAL_RETRACE | Vga.INPUT_STATUS_1_DISPLAY_DISABLED, a ^ b,
                "a poll loop for retrace sees the bit change on every read");
        cpu.outb(0x3c0, 0x10); // index: mode control ... and then a stray read of 0x3DA
        cpu.inb(0x3da);
        cpu.outb(0x3c0, 0x10 | 0x20); // so this is an index again, not data
        cpu.outb(0x3c0, 0x0c);
        cpu.outb(0x3c0, 0x10 | 0x20);
        assertEquals(0x0c, cpu.inb(0x3c1));
        assertEquals(0xff, cpu.inb(0x3ba), "with colour addressing the mono port is not decoded");
        cpu.outb(0x3c2, MODE3_MISC & ~Vga.MISC_COLOR_IO);
        assertEquals(0xff, cpu.inb(0x3d5), "and the other way round");
        cpu.outb(0x3b4, 0x0a);
        assertEquals(0x0d, cpu.inb(0x3b5), "CR0A through the mono ports");
    }

    @Test
    void crtcProtectBitGuardsTheTimingRegisters() {
        rig.setMode3(); // leaves CR11 bit 7 set
        cpu.outw(0x3d4, 0x01 | 0x12 << 8);
        cpu.outw(0x3d4, 0x07 | 0xff << 8);
        cpu.outb(0x3d4, 0x01);
        assertEquals(0x4f, cpu.inb(0x3d5), "CR01 is protected");
        cpu.outb(0x3d4, 0x07);
        assertEquals(0x1f | 0x10, cpu.inb(0x3d5), "only CR07 bit 4 gets through");
        cpu.outw(0x3d4, 0x0c | 0x12 << 8);
        cpu.outb(0x3d4, 0x0c);
        assertEquals(0x12, cpu.inb(0x3d5), "CR0C is not protected");
    }

    @Test
    void dacAutoIncrementsThroughThreeComponents() {
        cpu.outb(0x3c8, 250);
        for (int i = 0; i < 18; i++) {
            cpu.outb(0x3c9, i);
        }
        assertEquals(0, cpu.inb(0x3c7), "DAC state after a write index");
        cpu.outb(0x3c7, 251);
        assertEquals(3, cpu.inb(0x3c7));
        assertEquals(3, cpu.inb(0x3c9));
        assertEquals(4, cpu.inb(0x3c9));
        assertEquals(5, cpu.inb(0x3c9));
        assertEquals(6, cpu.inb(0x3c9), "the next entry follows");
        assertEquals(0, cpu.inb(0x3c8), "the write index wrapped past 255");
    }

    // ---------------------------------------------------------------- planar memory

    /** Planar access as FreeBSD's vt_vga and the BIOS use it: set/reset, latches, write modes 1-3, read mode 1. */
    @Test
    void planarWriteModesLatchesAndColorCompare() {
        cpu.outw(0x3c4, 0x0604); // planar: odd/even off, chain-4 off
        cpu.outw(0x3ce, 0x0506); // graphics, A0000 64 KiB
        cpu.outw(0x3c4, 0x0f02); // all planes
        // Write mode 0 with set/reset on planes 0 and 2 (value 0101b): those planes get 0xff, the others the byte.
        cpu.outw(0x3ce, 0x0500);
        cpu.outw(0x3ce, 0x0501);
        cpu.outw(0x3ce, 0xff08);
        cpu.mmioWrite(0xa0000, 1, 0x3c);
        assertEquals(0x3cff3cff, rig.afterBufferedWrites(() -> vga.videoMemory().getInt(0)));
        // Bit mask 0x0f: the high nibble of every plane comes from the latches (loaded by a read).
        cpu.outw(0x3ce, 0x0001);
        cpu.mmioWrite(0xa0001, 1, 0x00);
        cpu.outw(0x3ce, 0x0f08);
        cpu.mmioRead(0xa0000, 1); // latch 0x3cff3cff
        cpu.mmioWrite(0xa0001, 1, 0xff);
        assertEquals(0x3fff3fff, rig.afterBufferedWrites(() -> vga.videoMemory().getInt(4)));
        // Write mode 1 copies the latches whole (a screen-to-screen copy).
        cpu.outw(0x3ce, 0x0105);
        cpu.mmioRead(0xa0000, 1);
        cpu.mmioWrite(0xa0002, 1, 0x00);
        assertEquals(0x3cff3cff, rig.afterBufferedWrites(() -> vga.videoMemory().getInt(8)));
        // Write mode 2: the low nibble is a colour, spread over the planes; XOR with the latches.
        cpu.outw(0x3ce, 0x0205);
        cpu.outw(0x3ce, 0xff08);
        cpu.outw(0x3ce, 0x1803);
        cpu.mmioRead(0xa0000, 1);
        cpu.mmioWrite(0xa0003, 1, 0x09);
        assertEquals(0x3cff3cff ^ 0xff0000ff, rig.afterBufferedWrites(() -> vga.videoMemory().getInt(12)));
        // Write mode 3: the rotated byte ANDed with the bit mask selects where set/reset (0110b) goes.
        cpu.outw(0x3ce, 0x0003);
        cpu.outw(0x3ce, 0x0305);
        cpu.outw(0x3ce, 0x0600);
        cpu.mmioRead(0xa0010, 1); // latches 0
        cpu.mmioWrite(0xa0010, 1, 0xf0);
        assertEquals(0x00f0f000, rig.afterBufferedWrites(() -> vga.videoMemory().getInt(0x40)));
        // Read mode 1: 1 where the pixel's colour equals Color Compare on the planes Don't Care selects.
        cpu.outw(0x3ce, 0x0805);
        cpu.outw(0x3ce, 0x0602);
        cpu.outw(0x3ce, 0x0f07);
        assertEquals(0xf0, cpu.mmioRead(0xa0010, 1));
        cpu.outw(0x3ce, 0x0007);
        assertEquals(0xff, cpu.mmioRead(0xa0010, 1), "no plane compared: every pixel matches");
        // Read mode 0 returns the plane Read Map Select names.
        cpu.outw(0x3ce, 0x0005);
        cpu.outw(0x3ce, 0x0104);
        assertEquals(0xf0, cpu.mmioRead(0xa0010, 1));
    }

    /** Mode 12h as FreeBSD's vt_vga draws it: 640×480, 16 colours from four planes. */
    @Test
    void planarGraphicsRendersSixteenColours() {
        rig.setMode3();
        cpu.outw(0x3d4, 0x11 | 0x0e << 8); // unprotect CR0-7
        cpu.outw(0x3ce, 0x0506);
        cpu.outw(0x3ce, 0x0005);
        cpu.outw(0x3c4, 0x0604);
        cpu.outw(0x3d4, 0x09 | 0x40 << 8);
        cpu.outw(0x3d4, 0x12 | 0xdf << 8);
        cpu.outw(0x3d4, 0x07 | 0x3e << 8); // VDE bits 8 and 9: 480 lines
        cpu.outw(0x3d4, 0x01 | 0x4f << 8);
        cpu.outw(0x3d4, 0x13 | 0x28 << 8);
        cpu.outw(0x3c4, 0x0102); // plane 0 only: colour 1 (blue) in the first 8 pixels of line 1
        cpu.mmioWrite(0xa0000 + 80, 1, 0xff);
        cpu.outw(0x3c4, 0x0c02); // planes 2 and 3: colour 12 in pixels 8-11
        cpu.mmioWrite(0xa0000 + 81, 1, 0xf0);
        VgaRenderer.Frame f = rig.afterBufferedWrites(() -> vga.renderer().render());
        assertEquals(640, f.width());
        assertEquals(480, f.height());
        assertEquals(0x0000aa, f.pixel(0, 1));
        assertEquals(0x0000aa, f.pixel(7, 1));
        assertEquals(0xff5555, f.pixel(8, 1), "palette entry 12 is 0x3c: light red");
        assertEquals(0, f.pixel(12, 1));
        assertEquals(0, f.pixel(0, 0));
    }

    /** Mode 13h: 320×200, one byte per pixel in chain-4, each pixel two dots wide and two lines high. */
    @Test
    void chain4RendersTwoHundredFiftySixColours() {
        rig.setMode3();
        cpu.outw(0x3ce, 0x4005); // 256-colour shift
        cpu.outw(0x3ce, 0x0506);
        cpu.outw(0x3c4, 0x0e04); // chain-4
        cpu.outw(0x3c4, 0x0f02);
        cpu.outw(0x3c4, 0x0901); // 8-dot, half dot clock
        cpu.outw(0x3d4, 0x09 | 0x41 << 8);
        cpu.outw(0x3d4, 0x12 | 0x8f << 8);
        cpu.outw(0x3d4, 0x07 | 0x1f << 8);
        cpu.outb(0x3c8, 200);
        cpu.outb(0x3c9, 63);
        cpu.outb(0x3c9, 0);
        cpu.outb(0x3c9, 63);
        cpu.mmioWrite(0xa0000 + 320 + 5, 1, 200);
        VgaRenderer.Frame f = rig.afterBufferedWrites(() -> vga.renderer().render());
        assertEquals(640, f.width());
        assertEquals(400, f.height());
        assertEquals(0xff00ff, f.pixel(10, 2));
        assertEquals(0xff00ff, f.pixel(11, 3));
        assertNotEquals(0xff00ff, f.pixel(12, 2));
    }

    // ---------------------------------------------------------------- VBE and the framebuffer BAR

    private void dispi(int index, int value) {
        cpu.outw(BochsDispi.INDEX_PORT, index);
        cpu.outw(BochsDispi.DATA_PORT, value);
    }

    private int dispi(int index) {
        cpu.outw(BochsDispi.INDEX_PORT, index);
        return cpu.inw(BochsDispi.DATA_PORT);
    }

    /**
     * What a display refresh asks before it renders: nothing changed while the guest wrote nothing; a register
     * write, a window write through the buffered ring and a framebuffer write in guest RAM (seen only through
     * track_dirty_vram) each count, once.
     */
    @Test
    void theAdapterTellsWhenItsPictureMayHaveChanged() {
        hvmloaderPlacesBars();
        assertTrue(engine.onLoop(vga::changedSinceLastAsked), "the first question");
        assertFalse(engine.onLoop(vga::changedSinceLastAsked), "nothing written since");
        cpu.outw(0x3d4, 0x000c); // CRTC start address high
        assertTrue(engine.onLoop(vga::changedSinceLastAsked), "a register");
        assertFalse(engine.onLoop(vga::changedSinceLastAsked));
        cpu.mmioWrite(0xb8000, 2, 0x0741);
        assertTrue(rig.afterBufferedWrites(vga::changedSinceLastAsked), "the legacy window, through the buffered ring");
        assertFalse(engine.onLoop(vga::changedSinceLastAsked));
        rig.guest().writeValue(LFB + 0x2000, 4, 0x00ff00ff);
        assertTrue(engine.onLoop(vga::changedSinceLastAsked), "the framebuffer, through track_dirty_vram");
        assertFalse(engine.onLoop(vga::changedSinceLastAsked));
    }

    /** SeaBIOS's bochsvga: probe the interface, read the memory size, then 800×600×32 with the LFB on. */
    @Test
    void vbeModeDrawsFromTheFramebufferInGuestRam() {
        hvmloaderPlacesBars();
        dispi(BochsDispi.INDEX_ID, BochsDispi.ID0);
        assertEquals(BochsDispi.ID0, dispi(BochsDispi.INDEX_ID));
        dispi(BochsDispi.INDEX_ID, BochsDispi.ID5);
        assertEquals(BochsDispi.ID5, dispi(BochsDispi.INDEX_ID));
        assertEquals(VRAM >> 16, dispi(BochsDispi.INDEX_VIDEO_MEMORY_64K));
        dispi(BochsDispi.INDEX_ENABLE, BochsDispi.GETCAPS);
        assertEquals(BochsDispi.MAX_XRES, dispi(BochsDispi.INDEX_XRES));
        dispi(BochsDispi.INDEX_ENABLE, 0);
        dispi(BochsDispi.INDEX_XRES, 800);
        dispi(BochsDispi.INDEX_YRES, 600);
        dispi(BochsDispi.INDEX_BPP, 32);
        dispi(BochsDispi.INDEX_ENABLE, BochsDispi.ENABLED | BochsDispi.LFB_ENABLED);

        // The guest draws into the BAR: plain RAM, no ioreq.
        long before = engine.onLoop(() -> engine.stats().mmioWrites() + engine.stats().buffered());
        GuestMemory guest = rig.guest();
        guest.writeValue(LFB + (10L * 800 + 20) * 4, 4, 0x00123456);
        guest.writeValue(LFB + (599L * 800 + 799) * 4, 4, 0x00ffffff);
        assertEquals(before, (long) engine.onLoop(() -> engine.stats().mmioWrites() + engine.stats().buffered()),
                "framebuffer writes reach no device model");

        VgaRenderer.Frame f = engine.onLoop(() -> vga.renderer().render());
        assertEquals(800, f.width());
        assertEquals(600, f.height());
        assertEquals(0x123456, f.pixel(20, 10));
        assertEquals(0xffffff, f.pixel(799, 599));
        assertEquals(0, f.pixel(0, 0), "enabling without NOCLEARMEM cleared the screen");
        assertNull(engine.onLoop(() -> vga.renderer().text()));

        // Panning moves the picture; 16 bpp packs 5-6-5.
        dispi(BochsDispi.INDEX_Y_OFFSET, 10);
        assertEquals(0x123456, engine.onLoop(() -> vga.renderer().render()).pixel(20, 0));
        dispi(BochsDispi.INDEX_ENABLE, 0);
        dispi(BochsDispi.INDEX_BPP, 16);
        dispi(BochsDispi.INDEX_ENABLE, BochsDispi.ENABLED | BochsDispi.LFB_ENABLED);
        guest.writeValue(LFB + 2, 2, 0xf800);
        assertEquals(0xff0000, engine.onLoop(() -> vga.renderer().render()).pixel(1, 0));
    }

    /** VBE's banked window at A0000 reaches the whole video RAM, 64 KiB at a time. */
    @Test
    void bankedWindowReachesVideoRamPastTheFirstBank() {
        hvmloaderPlacesBars();
        dispi(BochsDispi.INDEX_XRES, 640);
        dispi(BochsDispi.INDEX_YRES, 480);
        dispi(BochsDispi.INDEX_BPP, 8);
        dispi(BochsDispi.INDEX_ENABLE, BochsDispi.ENABLED);
        dispi(BochsDispi.INDEX_BANK, 3);
        cpu.mmioWrite(0xa0010, 1, 0x5a);
        assertEquals(0x5a, rig.afterBufferedWrites(() -> (int) vga.videoMemory().get(3 * 0x10000 + 0x10)));
        assertEquals(0x5a, rig.guest().readValue(LFB + 3 * 0x10000 + 0x10, 1), "the same byte through the LFB");
        assertEquals(0x5a, cpu.mmioRead(0xa0010, 1));
    }

    /** hvmloader moves the BAR, and the video RAM (contents included) follows; decode off puts it back home. */
    @Test
    void videoRamFollowsTheBar() {
        long home = VRAM_HOME;
        rig.guest().writeValue(home + 0x1234, 4, 0xfeedf00dL);
        hvmloaderPlacesBars();
        assertEquals(LFB, engine.onLoop(() -> vga.barMappedAt(0)));
        assertEquals(0xfeedf00dL, rig.guest().readValue(LFB + 0x1234, 4));
        assertFalse(rig.guest().isRam(home, 4096), "the frames left their home");

        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x10, 4, 0xe0000000L);
        assertEquals(0xfeedf00dL, rig.guest().readValue(0xe0000000L + 0x1234, 4));
        assertFalse(rig.guest().isRam(LFB, 4096));
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x04, 2, 0x0001); // memory decode off
        assertEquals(0xfeedf00dL, rig.guest().readValue(home + 0x1234, 4));
        assertEquals(-1L, engine.onLoop(() -> vga.barMappedAt(0)));
        assertTrue(engine.domain().dmOpLog().stream().anyMatch(l -> l.startsWith("pin_memory_cacheattr")),
                engine.domain().dmOpLog().toString());
        // BAR sizing reads the size of the video RAM.
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x10, 4, 0xffffffffL);
        assertEquals(~(VRAM - 1L) & 0xffffffffL | 0x8, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x10, 4));
    }

    @Test
    void pciIdentityAndTheMmioBarBochsDrmUses() {
        assertEquals(0x11111234L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x00, 4));
        assertEquals(0x03000002L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x08, 4));
        assertEquals(0x11001af4L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x2c, 4));
        hvmloaderPlacesBars();
        assertEquals(8, cpu.mmioRead(MMIO_BAR + 0x600, 4));
        assertEquals(0x1e1e1e1e, cpu.mmioRead(MMIO_BAR + 0x604, 4));
        cpu.mmioWrite(MMIO_BAR + 0x500 + 2 * BochsDispi.INDEX_XRES, 2, 1024);
        assertEquals(1024, dispi(BochsDispi.INDEX_XRES));
        assertEquals(VRAM >> 16, cpu.mmioRead(MMIO_BAR + 0x500 + 2 * BochsDispi.INDEX_VIDEO_MEMORY_64K, 2));
        cpu.mmioWrite(MMIO_BAR + 0x400 + 0x14, 2, 0x0a | 0x07 << 8); // 0x3D4: CR0A = 7
        assertEquals(0x07, cpu.mmioRead(MMIO_BAR + 0x400 + 0x15, 1));
    }

    @Test
    void romBarServesTheVgaBios() throws IOException {
        assumeTrue(Files.isReadable(BIOS), "Debian package seabios is not installed");
        byte[] image = Files.readAllBytes(BIOS);
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x30, 4, 0xffffffffL);
        long size = (~(cpu.pciConfigRead(0, VGA_SLOT, 0, 0x30, 4) & 0xfffff800L) & 0xffffffffL) + 1;
        assertTrue(size >= image.length, "ROM BAR of " + size + " bytes for a " + image.length + "-byte image");
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x30, 4, 0xf2000001L);
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x04, 2, 0x0003);
        assertEquals(0xaa55, cpu.mmioRead(0xf2000000L, 2));
        assertEquals(image[0x40] & 0xff, cpu.mmioRead(0xf2000040L, 1));
    }

    /** Whatever a guest writes to the ports and the window, nothing throws and a picture still comes out. */
    @Test
    void garbageInTheRegistersNeverBreaksTheDeviceOrTheRenderer() {
        hvmloaderPlacesBars();
        SplittableRandom random = new SplittableRandom(8);
        for (int i = 0; i < 20_000; i++) {
            int choice = random.nextInt(4);
            if (choice == 0) {
                cpu.outb(0x3b0 + random.nextInt(0x30), random.nextInt(256));
            } else if (choice == 1) {
                cpu.outw(0x1ce + random.nextInt(2), random.nextInt(0x10000));
            } else if (choice == 2) {
                cpu.mmioWrite(0xa0000 + random.nextInt(0x20000), 1 << random.nextInt(3), random.nextLong());
            } else {
                cpu.mmioRead(0xa0000 + random.nextInt(0x20000), 1 << random.nextInt(3));
            }
            if (i % 1000 == 0) {
                VgaRenderer.Frame f = rig.afterBufferedWrites(() -> vga.renderer().render());
                assertEquals(f.width() * f.height(), f.pixels().length);
                rig.afterBufferedWrites(() -> vga.renderer().text());
            }
        }
        assertEquals(0, engine.stats().deviceErrors());
        assertEquals(0, engine.loop().failures());
    }
}
