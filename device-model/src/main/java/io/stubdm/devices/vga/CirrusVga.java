package io.stubdm.devices.vga;

import io.stubdm.devices.pci.PciBar;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.firmware.OptionRom;
import io.stubdm.ioreq.BusDevice;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * QEMU's {@code cirrus-vga}, libxl's default adapter ({@code -device cirrus-vga,vgamem_mb=8}): a Cirrus Logic
 * CL-GD5446, 1013:00B8, class 0x030000, revision 0, subsystem 1af4:1100 (Linux's cirrus DRM driver binds only to
 * that). A {@link Vga} with the Cirrus extensions ({@link CirrusRegisters}), the BitBLT engine
 * ({@link CirrusBlitter}), packed-pixel modes and the hardware cursor ({@link CirrusRenderer}).
 * <ul>
 *   <li>BAR0: 32 MiB, prefetchable, the video RAM at its start. See the note below.</li>
 *   <li>BAR1: 4 KiB of MMIO: ports 0x3C0-0x3DF at 0x000-0x01F, the blitter's register block at 0x100-0x1FF.</li>
 *   <li>The ROM BAR: SeaBIOS's vgabios-cirrus.bin.</li>
 * </ul>
 * Ports 0x3B0-0x3DF and the window at 0xA0000 are fixed ({@link #legacyRanges()}); the Bochs DISPI ports are not
 * there, as on QEMU's Cirrus.
 *
 * <p>BAR0. On QEMU the 32 MiB BAR is a container: the video RAM mapped over its first part while plain packed-pixel
 * access is enough, and otherwise MMIO that implements the extended write modes, the blitter registers at the end
 * of the aperture (SR17 bit 6) and system-to-screen data (also taken at 16 MiB); qemu-xen moves the video RAM in
 * and out of the guest's physmap each time it switches. {@link PciBar} knows a BAR that is all RAM or all MMIO,
 * not one that flips between them, so BAR0 is {@link PciBar#ram32} of QEMU's size and layout: the video RAM sits
 * at its start whenever the guest decodes it, so framebuffer writes (all the Linux cirrus DRM driver, FreeBSD's
 * vt_vbefb and the VBE BIOS do) never leave the guest, and the rest of the BAR reads as nothing. What that loses is
 * only the MMIO uses of BAR0: system-to-screen data (drivers can and cirrusfb does write it through BAR0; through
 * the 0xA0000 window, which is always MMIO, it works), extended write modes through the LFB (they work in the
 * window), and the blitter registers at the LFB's end (they stay at BAR1 + 0x100 and at 0xB8000). Those semantics
 * are implemented ({@link CirrusRegisters#linearAperture()}, tested) for when PciBar learns to flip a BAR.
 */
public final class CirrusVga extends PciFunction implements DisplayAdapter {
    public static final int VENDOR_CIRRUS = 0x1013;
    public static final int DEVICE_GD5446 = 0x00b8;
    public static final int CLASS_VGA = 0x030000;
    public static final int REVISION = 0;
    private static final int SUBSYSTEM_VENDOR_QEMU = 0x1af4;
    private static final int SUBSYSTEM_QEMU = 0x1100;

    static final long LINEAR_BAR_SIZE = 32L << 20;
    static final int MMIO_BAR_SIZE = 0x1000;
    /** BAR1 + 0x000: port 0x3C0 + offset (QEMU's cirrus_mmio: port base 0x3B0 + 0x10). */
    static final int MMIO_VGA_PORTS = 0x000;
    static final int MMIO_VGA_PORTS_SIZE = 0x20;
    static final int MMIO_BLT = 0x100;
    static final int MMIO_BLT_SIZE = CirrusRegisters.MMIO_SIZE;

    private final Vga vga;
    private final CirrusRegisters regs;
    private final CirrusRenderer renderer;
    private final BusDevice mmio;

    /**
     * {@code vram} is 4, 8 or 16 MiB, as QEMU accepts for vgamem_mb; {@code vgaBios} goes in the ROM BAR (without
     * it SeaBIOS finds no VGA BIOS and shows nothing).
     */
    public CirrusVga(VideoMemory vram, Optional<OptionRom> vgaBios) {
        super("cirrus-vga", VENDOR_CIRRUS, DEVICE_GD5446, CLASS_VGA, REVISION);
        int size = vram.size();
        if (size != 4 << 20 && size != 8 << 20 && size != 16 << 20) {
            throw new IllegalArgumentException("cirrus-vga video RAM must be 4, 8 or 16 MiB, not " + size + " bytes");
        }
        setSubsystem(SUBSYSTEM_VENDOR_QEMU, SUBSYSTEM_QEMU);
        this.vga = new Vga(vram);
        this.regs = new CirrusRegisters(vga);
        this.renderer = new CirrusRenderer(regs);
        this.mmio = Vga.byteWide(this::readMmio, this::writeMmio);
        defineBar(0, PciBar.ram32(LINEAR_BAR_SIZE, true, vram, "vram"));
        defineBar(1, PciBar.memory32(MMIO_BAR_SIZE, false, mmio, "mmio"));
        vgaBios.ifPresent(this::defineRom);
    }

    @Override
    public List<StdVga.LegacyRange> legacyRanges() {
        return List.of(
                new StdVga.LegacyRange(false, Vga.PORT_BASE, Vga.PORT_COUNT, regs.ports(), "vga"),
                new StdVga.LegacyRange(true, Vga.WINDOW_BASE, Vga.WINDOW_SIZE, regs.window(), "vga-lowmem"));
    }

    @Override
    public boolean changedSinceLastAsked() {
        return regs.vga.changedSinceLastAsked();
    }

    /** The current picture. */
    @Override
    public VgaRenderer.Frame render() {
        return renderer.render();
    }

    /** The text on the screen in a text mode (see {@link VgaRenderer#text()}), null in graphics modes. */
    public String text() {
        return renderer.text();
    }

    /** The video RAM, for display refresh and tests. */
    public ByteBuffer videoMemory() {
        return vga.videoMemory().buffer();
    }

    @Override
    protected void resetDevice() {
        vga.reset();
        regs.reset();
    }

    /** BAR1's contents, for tests that drive it without a bus. */
    BusDevice mmio() {
        return mmio;
    }

    /** BAR0's MMIO semantics, which nothing routes to yet (see the class comment). */
    BusDevice linearAperture() {
        return regs.linearAperture();
    }

    CirrusRegisters registers() {
        return regs;
    }

    private int readMmio(int offset) {
        if (offset >= MMIO_VGA_PORTS && offset < MMIO_VGA_PORTS + MMIO_VGA_PORTS_SIZE) {
            return regs.readPort(0x3c0 + offset - MMIO_VGA_PORTS);
        }
        if (offset >= MMIO_BLT && offset < MMIO_BLT + MMIO_BLT_SIZE) {
            return regs.blitter.readRegister(offset - MMIO_BLT);
        }
        return 0xff;
    }

    private void writeMmio(int offset, int v) {
        regs.vga.writes++;
        if (offset >= MMIO_VGA_PORTS && offset < MMIO_VGA_PORTS + MMIO_VGA_PORTS_SIZE) {
            regs.writePort(0x3c0 + offset - MMIO_VGA_PORTS, v);
        } else if (offset >= MMIO_BLT && offset < MMIO_BLT + MMIO_BLT_SIZE) {
            regs.blitter.writeRegister(offset - MMIO_BLT, v);
        }
    }
}
