package io.stubdm.devices.vga;

import static io.stubdm.devices.vga.VgaTestRig.LFB;
import static io.stubdm.devices.vga.VgaTestRig.VGA_SLOT;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Cirrus GD5446 as firmware and drivers program it, through the ioreq engine over the simulated Xen:
 * vgabios-cirrus's detection and mode sets (register values from SeaBIOS's clext.c tables), the hidden DAC
 * register, the Linux cirrus DRM driver's mode set through BAR1, a framebuffer in guest RAM under BAR0, the banked
 * window, text mode, the hardware cursor, reset, and garbage.
 */
class CirrusVgaTest {
    private static final int VRAM = 8 << 20;
    private static final long MMIO_BAR = 0xf2000000L;
    private static final Path BIOS = Path.of("/usr/share/seabios/vgabios-cirrus.bin");

    private final VgaTestRig rig = new VgaTestRig(VRAM);
    private final EmbeddedEngine engine = rig.engine;
    private final SimVcpu cpu = rig.cpu;
    private final CirrusVga cirrus;

    CirrusVgaTest() throws IOException {
        cirrus = rig.plug(new CirrusVga(rig.vram,
                VgaTestRig.biosIfInstalled(BIOS, CirrusVga.VENDOR_CIRRUS, CirrusVga.DEVICE_GD5446)));
    }

    @AfterEach
    void stop() {
        rig.close();
    }

    // ---------------------------------------------------------------- firmware steps

    /** hvmloader: BAR0 (video RAM) and BAR1 (MMIO) in the PCI hole, memory and I/O decode on. */
    private void hvmloaderPlacesBars() {
        rig.hvmloaderPlacesBars(0x14, MMIO_BAR);
    }

    /** A Cirrus mode as vgabios-cirrus's cirrus_switch_mode sets it: register lists, hidden DAC, graphics in AR10. */
    private void cirrusSwitchMode(int[] seq, int[] graph, int[] crtc, int hiddenDac) {
        cpu.outw(0x3c4, 0x1206);
        for (int v : seq) {
            cpu.outw(0x3c4, v);
        }
        for (int v : graph) {
            cpu.outw(0x3ce, v);
        }
        for (int v : crtc) {
            cpu.outw(0x3d4, v);
        }
        cpu.outb(0x3c6, 0x00);
        for (int i = 0; i < 4; i++) {
            cpu.inb(0x3c6);
        }
        cpu.outb(0x3c6, hiddenDac);
        cpu.outb(0x3c6, 0xff);
        cpu.inb(0x3da);
        int index = cpu.inb(0x3c0);
        cpu.outb(0x3c0, 0x10);
        int modeControl = cpu.inb(0x3c1);
        cpu.outb(0x3c0, modeControl | 0x01);
        cpu.outb(0x3c0, index);
    }

    // Register lists from SeaBIOS's vgasrc/clext.c, the tables vgabios-cirrus.bin is built from.
    private static final int[] GRAPH_SVGA = {0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x4005, 0x0506, 0x0f07, 0xff08,
        0x0009, 0x000a, 0x000b};
    private static final int[] SEQ_800X600X16 = {0x0300, 0x2101, 0x0f02, 0x0003, 0x0e04, 0x1707, 0x230b, 0x230c,
        0x230d, 0x230e, 0x0412, 0x0013, 0x2017, 0x141b, 0x141c, 0x141d, 0x141e};
    private static final int[] CRTC_800X600X16 = {0x2311, 0x7d00, 0x6301, 0x6302, 0x8003, 0x6b04, 0x1a05, 0x9806,
        0xf007, 0x6009, 0x000c, 0x000d, 0x7d10, 0x5712, 0xc813, 0x4014, 0x5715, 0x9816, 0xc317, 0xff18, 0x001a,
        0x221b, 0x001d};
    private static final int[] SEQ_640X480X8 = {0x0300, 0x2101, 0x0f02, 0x0003, 0x0e04, 0x1107, 0x580b, 0x580c,
        0x580d, 0x580e, 0x0412, 0x0013, 0x2017, 0x331b, 0x331c, 0x331d, 0x331e};
    private static final int[] CRTC_640X480X8 = {0x2c11, 0x5f00, 0x4f01, 0x4f02, 0x8003, 0x5204, 0x1e05, 0x0b06,
        0x3e07, 0x4009, 0x000c, 0x000d, 0xea10, 0xdf12, 0x5013, 0x4014, 0xdf15, 0x0b16, 0xc317, 0xff18, 0x001a,
        0x221b, 0x001d};
    private static final int[] SEQ_640X480X24 = {0x0300, 0x2101, 0x0f02, 0x0003, 0x0e04, 0x1507, 0x580b, 0x580c,
        0x580d, 0x580e, 0x0412, 0x0013, 0x2017, 0x331b, 0x331c, 0x331d, 0x331e};
    private static final int[] CRTC_640X480X24 = {0x2c11, 0x5f00, 0x4f01, 0x4f02, 0x8003, 0x5204, 0x1e05, 0x0b06,
        0x3e07, 0x4009, 0x000c, 0x000d, 0xea10, 0xdf12, 0xf013, 0x4014, 0xdf15, 0x0b16, 0xc317, 0xff18, 0x001a,
        0x221b, 0x001d};
    /** The lists for going back to a standard mode (mode_switchback). */
    private static final int[] SEQ_VGA = {0x0007};
    private static final int[] GRAPH_VGA = {0x0009, 0x000a, 0x000b};
    private static final int[] CRTC_VGA = {0x001a, 0x001b, 0x001d};

    private void setMode800x600x16() {
        rig.setMode3();
        cirrusSwitchMode(SEQ_800X600X16, GRAPH_SVGA, CRTC_800X600X16, 0xe1);
    }

    private int sr(int index) {
        cpu.outb(0x3c4, index);
        return cpu.inb(0x3c5);
    }

    private int gr(int index) {
        cpu.outb(0x3ce, index);
        return cpu.inb(0x3cf);
    }

    private VgaRenderer.Frame render() {
        return rig.afterBufferedWrites(cirrus::render);
    }

    // ---------------------------------------------------------------- PCI

    @Test
    void pciIdentityAsQemusCirrusVga() {
        assertEquals(0x00b81013L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x00, 4));
        assertEquals(0x03000000L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x08, 4), "class 0x030000, revision 0");
        assertEquals(0x11001af4L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x2c, 4), "the subsystem cirrus-qemu binds to");
        assertEquals(0, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x3d, 1), "no interrupt pin");
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x10, 4, 0xffffffffL);
        assertEquals(0xfe000008L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x10, 4), "BAR0: 32 MiB, prefetchable");
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x14, 4, 0xffffffffL);
        assertEquals(0xfffff000L, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x14, 4), "BAR1: 4 KiB of MMIO");
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x18, 4, 0xffffffffL);
        assertEquals(0, cpu.pciConfigRead(0, VGA_SLOT, 0, 0x18, 4), "no BAR2");
    }

    @Test
    void videoRamSizesQemuAccepts() {
        for (int mib : new int[] {4, 8, 16}) {
            new CirrusVga(new CirrusBlitterTest.HeapVideoMemory(mib << 20), Optional.empty());
        }
        for (int bytes : new int[] {2 << 20, 32 << 20, 6 << 20}) {
            assertThrows(IllegalArgumentException.class,
                    () -> new CirrusVga(new CirrusBlitterTest.HeapVideoMemory(bytes), Optional.empty()));
        }
    }

    @Test
    void romBarServesVgabiosCirrus() throws IOException {
        assumeTrue(Files.isReadable(BIOS), "Debian package seabios is not installed");
        byte[] image = Files.readAllBytes(BIOS);
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x30, 4, 0xf3000001L);
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x04, 2, 0x0002);
        assertEquals(0xaa55, cpu.mmioRead(0xf3000000L, 2));
        int pcir = (image[0x18] & 0xff) | (image[0x19] & 0xff) << 8;
        assertEquals(0x00b81013L, cpu.mmioRead(0xf3000000L + pcir + 4, 4), "the PCIR SeaBIOS matches");
    }

    // ---------------------------------------------------------------- what vgabios-cirrus and drivers probe

    /** clext_init: the SR06 key (probed with 0x92), CR27, SR0F's memory size, blitter reset. */
    @Test
    void vgaBiosDetectsAGd5446WithFourMegabytes() {
        assertEquals(0x0f, sr(0x06), "locked at power-on");
        cpu.outw(0x3c4, 0x9206);
        assertEquals(0x12, sr(0x06), "only bits 4, 2:0 take part in the key");
        cpu.outw(0x3c4, 0x1306);
        assertEquals(0x0f, sr(0x06));
        cpu.outw(0x3c4, 0x1206);
        assertEquals(0x12, sr(0x06));
        cpu.outb(0x3d4, 0x27);
        assertEquals(0xb8, cpu.inb(0x3d5), "CL-GD5446");
        cpu.outw(0x3d4, 0x27 | 0x00 << 8);
        cpu.outb(0x3d4, 0x27);
        assertEquals(0xb8, cpu.inb(0x3d5), "CR27 is read-only");
        int dram = sr(0x0f);
        assertTrue(((dram >> 3) & 3) == 3 && (dram & 0x80) != 0, "SR0F says 4 MiB: " + Integer.toHexString(dram));
        cpu.outw(0x3c4, 0x0a | (dram & 0x18) << 8);
        assertEquals(0x18, sr(0x0a), "a scratch register");
        cpu.outw(0x3ce, 0x0431);
        cpu.outw(0x3ce, 0x0031);
        assertEquals(0, gr(0x31));
        assertEquals(0x20, sr(0x17), "PCI bus");
        // The extended CRTC registers are readable where the CRTC is; CR24/CR26 mirror the attribute controller.
        cpu.inb(0x3da);
        cpu.outb(0x3c0, 0x31);
        cpu.outb(0x3d4, 0x26);
        assertEquals(0x31, cpu.inb(0x3d5));
        cpu.outb(0x3d4, 0x24);
        assertEquals(0x80, cpu.inb(0x3d5), "the flip-flop is at data");
        cpu.outb(0x3c2, 0x66);
        cpu.outb(0x3b4, 0x27);
        assertEquals(0xb8, cpu.inb(0x3b5), "mono addressing");
        assertEquals(0xff, cpu.inb(0x3d5));
    }

    /** The hidden DAC register: SeaBIOS's sequence, and the cirrus DRM driver's through BAR1. */
    @Test
    void hiddenDacRegisterAfterFourPixelMaskReads() {
        hvmloaderPlacesBars();
        cpu.outb(0x3c6, 0x00);
        for (int i = 0; i < 4; i++) {
            assertEquals(0x00, cpu.inb(0x3c6), "the first four reads are the pixel mask");
        }
        cpu.outb(0x3c6, 0xe1);
        cpu.outb(0x3c6, 0xff);
        for (int i = 0; i < 4; i++) {
            assertEquals(0xff, cpu.inb(0x3c6));
        }
        assertEquals(0xe1, cpu.inb(0x3c6), "the fifth read is the hidden register");
        assertEquals(0xff, cpu.inb(0x3c6), "and the count starts again");
        // Another DAC port in between starts the count again.
        for (int i = 0; i < 3; i++) {
            cpu.inb(0x3c6);
        }
        cpu.inb(0x3c8);
        cpu.inb(0x3c6);
        cpu.outb(0x3c6, 0x5a);
        assertEquals(0x5a, rig.afterBufferedWrites(() -> cirrus.registers().vga.pelMask), "that was the pixel mask");
        // Linux's wreg_hdr: read the DAC write index, read the mask four times, write.
        cpu.mmioRead(MMIO_BAR + 0x08, 1);
        for (int i = 0; i < 4; i++) {
            cpu.mmioRead(MMIO_BAR + 0x06, 1);
        }
        cpu.mmioWrite(MMIO_BAR + 0x06, 1, 0xc5);
        assertEquals(0xc5, rig.afterBufferedWrites(() -> cirrus.registers().hiddenDac));
    }

    // ---------------------------------------------------------------- packed-pixel modes

    /** VESA 0x114 (Cirrus 0x65): 800x600, 5-6-5, drawn straight into the LFB in guest RAM. */
    @Test
    void mode800x600x16FromTheLinearFramebuffer() {
        hvmloaderPlacesBars();
        setMode800x600x16();
        long before = engine.onLoop(() -> engine.stats().mmioWrites() + engine.stats().buffered());
        GuestMemory guest = rig.guest();
        guest.writeValue(LFB + 10L * 1600 + 20 * 2, 2, 0xf800);
        guest.writeValue(LFB + 10L * 1600 + 21 * 2, 2, 0x07e0);
        guest.writeValue(LFB + 10L * 1600 + 22 * 2, 2, 0x001f);
        guest.writeValue(LFB + 599L * 1600 + 799 * 2, 2, 0xffff);
        assertEquals(before, (long) engine.onLoop(() -> engine.stats().mmioWrites() + engine.stats().buffered()),
                "framebuffer writes reach no device model");

        VgaRenderer.Frame f = render();
        assertEquals(800, f.width());
        assertEquals(600, f.height());
        assertEquals(0xff0000, f.pixel(20, 10));
        assertEquals(0x00ff00, f.pixel(21, 10));
        assertEquals(0x0000ff, f.pixel(22, 10));
        assertEquals(0xffffff, f.pixel(799, 599));
        assertEquals(0, f.pixel(0, 0));
        assertNull(rig.afterBufferedWrites(cirrus::text), "no text in a graphics mode");

        // VBE 4F07 (display start): one line down, in dwords through CR0C/CR0D.
        cpu.outw(0x3d4, 0x0d | (400 & 0xff) << 8);
        cpu.outw(0x3d4, 0x0c | (400 >> 8) << 8);
        assertEquals(0xff0000, render().pixel(20, 9));
        // The same registers with the 5-5-5 hidden DAC value: red is bit 14 down.
        cpu.outw(0x3d4, 0x0d);
        cpu.outw(0x3d4, 0x0c);
        cpu.inb(0x3c8);
        for (int i = 0; i < 4; i++) {
            cpu.inb(0x3c6);
        }
        cpu.outb(0x3c6, 0xf0);
        guest.writeValue(LFB, 2, 0x7c00);
        assertEquals(0xff0000, render().pixel(0, 0));
    }

    /** Cirrus mode 0x5F (VESA 0x101): 640x480 through the palette. */
    @Test
    void mode640x480x8ThroughThePalette() {
        hvmloaderPlacesBars();
        rig.setMode3();
        cirrusSwitchMode(SEQ_640X480X8, GRAPH_SVGA, CRTC_640X480X8, 0x00);
        cpu.outb(0x3c8, 0x80);
        cpu.outb(0x3c9, 63);
        cpu.outb(0x3c9, 32);
        cpu.outb(0x3c9, 0);
        rig.guest().writeValue(LFB + 479L * 640 + 639, 1, 0x80);
        rig.guest().writeValue(LFB + 5, 1, 0x04); // EGA palette entry 4: red
        VgaRenderer.Frame f = render();
        assertEquals(640, f.width());
        assertEquals(480, f.height());
        assertEquals(0xff8200, f.pixel(639, 479));
        assertEquals(0xaa0000, f.pixel(5, 0));
        // Blanking: the attribute index without its palette address source bit.
        cpu.inb(0x3da);
        cpu.outb(0x3c0, 0x00);
        assertEquals(0, render().pixel(639, 479));
    }

    @Test
    void mode640x480x24() {
        hvmloaderPlacesBars();
        rig.setMode3();
        cirrusSwitchMode(SEQ_640X480X24, GRAPH_SVGA, CRTC_640X480X24, 0xe5);
        rig.guest().writeValue(LFB + 2L * 1920 + 3 * 3, 4, 0x00123456); // blue 0x56, green 0x34, red 0x12
        VgaRenderer.Frame f = render();
        assertEquals(640, f.width());
        assertEquals(0x123456, f.pixel(3, 2));
    }

    /** What Linux's cirrus DRM driver writes for 800x600 XRGB8888, all through BAR1. */
    @Test
    void linuxDrmModeSetThroughBar1At32Bpp() {
        hvmloaderPlacesBars();
        rig.setMode3();
        drmCrtc(0x11, 0x20); // vertical sync end; the CRTC write protect off
        drmCrtc(0x01, 800 / 8 - 1);
        drmCrtc(0x12, 599 & 0xff);
        drmCrtc(0x09, 0x40);
        drmCrtc(0x07, 0x10 | 0x40); // vertical display end bit 9 (599 = 0x257)
        drmCrtc(0x1a, 0);
        drmCrtc(0x17, 0x03);
        cpu.mmioWrite(MMIO_BAR + 0x04, 1, 0x07);
        int sr07 = (int) cpu.mmioRead(MMIO_BAR + 0x05, 1);
        cpu.mmioWrite(MMIO_BAR + 0x05, 1, (sr07 & 0xe0) | 0x19);
        int pitch = 800 * 4;
        drmCrtc(0x13, (pitch / 8) & 0xff);
        drmCrtc(0x1b, 0x22 | ((pitch >> 7) & 0x10)); // offset bit 8 in CR1B bit 4
        cpu.mmioWrite(MMIO_BAR + 0x0e, 2, 0x05 | 0x40 << 8); // GR05: the 256-colour shift
        cpu.mmioWrite(MMIO_BAR + 0x0e, 2, 0x06 | 0x01 << 8); // GR06: graphics
        cpu.mmioRead(MMIO_BAR + 0x08, 1);
        for (int i = 0; i < 4; i++) {
            cpu.mmioRead(MMIO_BAR + 0x06, 1);
        }
        cpu.mmioWrite(MMIO_BAR + 0x06, 1, 0xc5);
        rig.guest().writeValue(LFB + 599L * pitch + 799 * 4, 4, 0x00abcdefL);
        rig.guest().writeValue(LFB + 300L * pitch + 400 * 4, 4, 0x00102030L);
        VgaRenderer.Frame f = render();
        assertEquals(800, f.width());
        assertEquals(600, f.height());
        assertEquals(0xabcdef, f.pixel(799, 599));
        assertEquals(0x102030, f.pixel(400, 300));
    }

    private void drmCrtc(int index, int v) {
        cpu.mmioWrite(MMIO_BAR + 0x14, 1, index);
        cpu.mmioWrite(MMIO_BAR + 0x15, 1, v);
    }

    // ---------------------------------------------------------------- text mode

    /** After a Cirrus mode, the BIOS's switchback and mode 3: text through B8000 renders as on a plain VGA. */
    @Test
    void textModeAfterSwitchingBack() {
        hvmloaderPlacesBars();
        setMode800x600x16();
        cirrusSwitchMode(SEQ_VGA, GRAPH_VGA, CRTC_VGA, 0x00);
        rig.setMode3();
        byte[][] font = new byte['A' + 1][16];
        font['A'][3] = (byte) 0x81;
        rig.loadFont(font);
        cpu.stosToMmio(0xb8000, 2, 0x0720, 80 * 25, false);
        String s = "Cirrus Logic GD5446";
        rig.writeText(2, 0, s, 0x07);
        rig.writeText(24, 79, "A", 0x1f);
        String[] rows = rig.afterBufferedWrites(cirrus::text).split("\n", -1);
        assertEquals(s, rows[2]);
        assertEquals(" ".repeat(79) + "A", rows[24]);
        VgaRenderer.Frame f = render();
        assertEquals(720, f.width());
        assertEquals(400, f.height());
        assertEquals(0xffffff, f.pixel(79 * 9, 24 * 16 + 3), "white 'A' on blue: its line 3 is 0x81");
        assertEquals(0x0000aa, f.pixel(79 * 9 + 1, 24 * 16 + 3));
    }

    // ---------------------------------------------------------------- the banked window

    @Test
    void bankedWindowWritesLandAtTheBankOffset() {
        hvmloaderPlacesBars();
        setMode800x600x16();
        // vgabios-cirrus's 16 KiB granularity, single bank: A0000 at GR09 × 16 KiB, A8000 32 KiB on.
        cpu.outw(0x3ce, 0x200b);
        cpu.outw(0x3ce, 0x0509);
        cpu.mmioWrite(0xa0010, 1, 0x11);
        cpu.mmioWrite(0xa8010, 2, 0x2222);
        rig.drainBufferedWrites();
        assertEquals(0x11, rig.guest().readValue(LFB + 5 * 0x4000 + 0x10, 1), "the same byte through the LFB");
        assertEquals(0x2222, rig.guest().readValue(LFB + 5 * 0x4000 + 0x8010, 2));
        assertEquals(0x11, cpu.mmioRead(0xa0010, 1));
        // Dual banks: A8000 has its own offset in GR0A.
        cpu.outw(0x3ce, 0x210b);
        cpu.outw(0x3ce, 0x070a);
        cpu.mmioWrite(0xa8020, 1, 0x33);
        rig.drainBufferedWrites();
        assertEquals(0x33, rig.guest().readValue(LFB + 7 * 0x4000 + 0x20, 1));
        // 4 KiB granularity.
        cpu.outw(0x3ce, 0x000b);
        cpu.outw(0x3ce, 0x0309);
        cpu.mmioWrite(0xa0004, 1, 0x44);
        rig.drainBufferedWrites();
        assertEquals(0x44, rig.guest().readValue(LFB + 3 * 0x1000 + 4, 1));
        // Past the GD5446's 4 MiB the bank reads 0xFF and takes no writes.
        cpu.outw(0x3ce, 0x200b);
        cpu.outw(0x3ce, 0xff09);
        cpu.mmioWrite(0xa3fff, 1, 0x55);
        cpu.mmioWrite(0xa4000, 1, 0x66);
        rig.drainBufferedWrites();
        assertEquals(0x55, rig.guest().readValue(LFB + 0x3fffff, 1));
        assertEquals(0xff, cpu.mmioRead(0xa4000, 1));
        assertEquals(0, rig.guest().readValue(LFB + 0x400000, 1));
        assertEquals(0, engine.stats().deviceErrors());
    }

    // ---------------------------------------------------------------- hardware cursor

    @Test
    void hardwareCursorIsDrawnOverTheFrame() {
        hvmloaderPlacesBars();
        setMode800x600x16();
        // Cursor colours 0 (red) and 15 (green) through the DAC with SR12 bit 1; the palette keeps its entries.
        cpu.outw(0x3c4, 0x0212);
        cpu.outb(0x3c8, 0);
        cpu.outb(0x3c9, 63);
        cpu.outb(0x3c9, 0);
        cpu.outb(0x3c9, 0);
        cpu.outb(0x3c8, 15);
        cpu.outb(0x3c9, 0);
        cpu.outb(0x3c9, 63);
        cpu.outb(0x3c9, 0);
        cpu.outb(0x3c7, 15);
        assertEquals(0, cpu.inb(0x3c9));
        assertEquals(63, cpu.inb(0x3c9), "reads come from the cursor colours too");
        cpu.outw(0x3c4, 0x0012);
        cpu.outb(0x3c7, 15);
        assertEquals(0x2a, cpu.inb(0x3c9), "palette entry 15 untouched");
        assertEquals(0x2a, cpu.inb(0x3c9));
        assertEquals(0x3f, cpu.inb(0x3c9));

        // Pattern 2 of the 32×32 cursors in the last 16 KiB; line 0 only.
        long pattern = LFB + (4 << 20) - 16384 + 2 * 256;
        rig.guest().writeValue(pattern, 1, 0xf0); // plane 0
        rig.guest().writeValue(pattern + 128, 1, 0xcc); // plane 1
        cpu.outw(0x3c4, 0x0213);
        cpu.outw(0x3c4, 0x50 | 12 << 8); // x = 12 × 8 + 2 (index bits 7:5)
        cpu.outw(0x3c4, 0x31 | 5 << 8); // y = 5 × 8 + 1
        for (int x = 97; x < 106; x++) {
            rig.guest().writeValue(LFB + 41L * 1600 + x * 2, 2, 0x001f);
        }
        cpu.outw(0x3c4, 0x0112);
        VgaRenderer.Frame f = render();
        assertEquals(0x00ff00, f.pixel(98, 41), "11: colour 15");
        assertEquals(0x00ff00, f.pixel(99, 41));
        assertEquals(0xffff00, f.pixel(100, 41), "01: the screen inverted");
        assertEquals(0xff0000, f.pixel(102, 41), "10: colour 0");
        assertEquals(0x0000ff, f.pixel(104, 41), "00: transparent");
        assertEquals(0x0000ff, f.pixel(97, 41), "left of the cursor");

        // 64×64: 16 bytes a line, plane 1 after plane 0's 8; pattern 4.
        long large = LFB + (4 << 20) - 16384 + 4 * 256 + 63 * 16;
        rig.guest().writeValue(large + 5, 1, 0x80);
        rig.guest().writeValue(large + 8 + 5, 1, 0x80);
        cpu.outw(0x3c4, 0x0413);
        cpu.outw(0x3c4, 0x0512);
        f = render();
        assertEquals(0x00ff00, f.pixel(98 + 40, 41 + 63));
        assertEquals(0x0000ff, f.pixel(98, 41), "the 32×32 pattern is not used");
        cpu.outw(0x3c4, 0x0012);
        assertEquals(0, render().pixel(98 + 40, 41 + 63), "disabled: the screen shows");
    }

    // ---------------------------------------------------------------- reset and garbage

    @Test
    void resetReturnsToPowerOn() {
        hvmloaderPlacesBars();
        setMode800x600x16();
        cpu.outw(0x3ce, 0x0430); // a system-to-screen blit left waiting for its data
        cpu.outw(0x3ce, 0x0231);
        assertEquals(0x03, gr(0x31));
        cpu.outw(0x3c4, 0x0112);
        engine.onLoop(() -> cirrus.reset());
        assertEquals(-1L, engine.onLoop(() -> cirrus.barMappedAt(0)), "BARs unprogrammed");
        assertEquals(0x0f, sr(0x06));
        assertEquals(0x00, sr(0x07));
        assertEquals(0x00, sr(0x12));
        assertEquals(0x98, sr(0x0f));
        assertEquals(0x00, gr(0x31));
        assertEquals(0x00, rig.afterBufferedWrites(() -> cirrus.registers().hiddenDac));
        cpu.outb(0x3d4, 0x27);
        assertEquals(0xb8, cpu.inb(0x3d5));
        VgaRenderer.Frame f = render();
        assertEquals(640, f.width(), "an unprogrammed adapter: blank");
        assertEquals(0, f.pixel(0, 0));
    }

    @Test
    void garbageInTheRegistersNeverBreaksTheDeviceOrTheRenderer() {
        hvmloaderPlacesBars();
        SplittableRandom random = new SplittableRandom(5446);
        for (int i = 0; i < 20_000; i++) {
            int choice = random.nextInt(5);
            if (choice == 0) {
                cpu.outb(0x3b0 + random.nextInt(0x30), random.nextInt(256));
            } else if (choice == 1) {
                cpu.outw(0x3c4 + 10 * random.nextInt(2), random.nextInt(0x10000)); // SR or GR index + data
            } else if (choice == 2) {
                cpu.mmioWrite(0xa0000 + random.nextInt(0x20000), 1 << random.nextInt(3), random.nextLong());
            } else if (choice == 3) {
                cpu.mmioWrite(MMIO_BAR + random.nextInt(0x200), 1 << random.nextInt(3), random.nextLong());
            } else {
                cpu.mmioRead(0xa0000 + random.nextInt(0x20000), 1 << random.nextInt(3));
            }
            if (i % 1000 == 0) {
                VgaRenderer.Frame f = render();
                assertEquals(f.width() * f.height(), f.pixels().length);
                rig.afterBufferedWrites(cirrus::text);
            }
        }
        assertEquals(0, engine.stats().deviceErrors());
        assertEquals(0, engine.loop().failures());
    }
}
