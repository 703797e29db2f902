package io.stubdm.devices.vga;

import io.stubdm.devices.pci.PciBar;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.firmware.OptionRom;
import io.stubdm.ioreq.BusDevice;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * QEMU's standard VGA ({@code -device VGA}, xl's {@code vga="stdvga"}): a {@link Vga} with the Bochs VBE extension
 * ({@link BochsDispi}) on a PCI function, 1234:1111, class 0x030000, revision 2, subsystem 1af4:1100.
 * <ul>
 *   <li>BAR0: the video RAM, prefetchable, which is guest RAM moved under the BAR ({@link VideoMemory}).</li>
 *   <li>BAR2: 4 KiB of MMIO with the VGA ports at 0x400-0x41F (port 0x3C0 + offset), the DISPI registers at
 *       0x500-0x515 (16 bits each, by index) and QEMU's extension registers at 0x600 (region size, byte order),
 *       which Linux's bochs-drm prefers to the ports.</li>
 *   <li>The ROM BAR: SeaBIOS's vgabios-stdvga.bin, which SeaBIOS copies to C0000 and runs.</li>
 * </ul>
 * The legacy ports (0x3B0-0x3DF, 0x1CE-0x1D0) and the window at 0xA0000 are fixed ({@link #legacyRanges()}),
 * registered by the machine; Xen sends the window's writes through the buffered ring.
 */
public final class StdVga extends PciFunction implements DisplayAdapter {
    public static final int VENDOR_BOCHS = 0x1234;
    public static final int DEVICE_STD_VGA = 0x1111;
    public static final int CLASS_VGA = 0x030000;
    public static final int REVISION = 2;
    private static final int SUBSYSTEM_VENDOR_QEMU = 0x1af4;
    private static final int SUBSYSTEM_QEMU = 0x1100;

    static final int MMIO_BAR_SIZE = 0x1000;
    static final int MMIO_VGA_PORTS = 0x400;
    static final int MMIO_VGA_PORTS_SIZE = 0x20;
    static final int MMIO_DISPI = 0x500;
    static final int MMIO_DISPI_SIZE = 2 * BochsDispi.REGISTER_COUNT;
    static final int MMIO_QEXT = 0x600;
    static final int QEXT_REG_SIZE = 0x0;
    static final int QEXT_REG_BYTEORDER = 0x4;
    static final int QEXT_SIZE = 8;
    static final int QEXT_LITTLE_ENDIAN = 0x1e1e1e1e;

    private final Vga vga;
    private final BochsDispi dispi;
    private final VgaRenderer renderer;
    /** Ports 0x3C0-0x3DF as BAR2 mirrors them, offset 0 = 0x3C0. */
    private final BusDevice portMirror;

    /** A fixed range the machine registers: I/O ports when {@code mmio} is false, guest-physical memory otherwise. */
    public record LegacyRange(boolean mmio, long base, int length, BusDevice device, String name) {
    }

    /** {@code vgaBios} is the ROM for the ROM BAR; without it SeaBIOS finds no VGA BIOS and shows nothing. */
    public StdVga(VideoMemory vram, Optional<OptionRom> vgaBios) {
        super("vga", VENDOR_BOCHS, DEVICE_STD_VGA, CLASS_VGA, REVISION);
        if (Integer.bitCount(vram.size()) != 1) {
            throw new IllegalArgumentException("video RAM must be a power of two, not " + vram.size() + " bytes");
        }
        setSubsystem(SUBSYSTEM_VENDOR_QEMU, SUBSYSTEM_QEMU);
        this.vga = new Vga(vram);
        this.dispi = new BochsDispi(vga);
        this.renderer = new VgaRenderer(vga, dispi);
        this.portMirror = Vga.byteWide(offset -> vga.readPort(0x3c0 + offset), (offset, v) -> vga.writePort(0x3c0 + offset, v));
        defineBar(0, PciBar.ram32(vram.size(), true, vram, "vram"));
        defineBar(2, PciBar.memory32(MMIO_BAR_SIZE, false, new MmioBar(), "mmio"));
        vgaBios.ifPresent(this::defineRom);
    }

    @Override
    public List<LegacyRange> legacyRanges() {
        return List.of(
                new LegacyRange(false, Vga.PORT_BASE, Vga.PORT_COUNT, vga.ports(), "vga"),
                new LegacyRange(false, BochsDispi.INDEX_PORT, BochsDispi.PORT_COUNT, dispi.ports(), "vbe"),
                new LegacyRange(true, Vga.WINDOW_BASE, Vga.WINDOW_SIZE, vga.window(), "vga-lowmem"));
    }

    public VgaRenderer renderer() {
        return renderer;
    }

    @Override
    public boolean changedSinceLastAsked() {
        return vga.changedSinceLastAsked();
    }

    @Override
    public VgaRenderer.Frame render() {
        return renderer.render();
    }

    /** The video RAM, for display refresh and tests. */
    public ByteBuffer videoMemory() {
        return vga.videoMemory().buffer();
    }

    @Override
    protected void resetDevice() {
        vga.reset();
        dispi.reset();
    }

    /** BAR2: QEMU's "vga-pci" MMIO window (hw/display/vga-pci.c). */
    private final class MmioBar implements BusDevice {
        @Override
        public long read(long offset, int size) {
            if (offset >= MMIO_VGA_PORTS && offset + size <= MMIO_VGA_PORTS + MMIO_VGA_PORTS_SIZE) {
                return portMirror.read(offset - MMIO_VGA_PORTS, size);
            }
            if (offset >= MMIO_DISPI && offset + size <= MMIO_DISPI + MMIO_DISPI_SIZE && size == 2) {
                return dispi.readRegister((int) (offset - MMIO_DISPI) / 2);
            }
            if (offset == MMIO_QEXT + QEXT_REG_SIZE && size == 4) {
                return QEXT_SIZE;
            }
            if (offset == MMIO_QEXT + QEXT_REG_BYTEORDER && size == 4) {
                return QEXT_LITTLE_ENDIAN;
            }
            return -1L;
        }

        @Override
        public void write(long offset, int size, long value) {
            if (offset >= MMIO_VGA_PORTS && offset + size <= MMIO_VGA_PORTS + MMIO_VGA_PORTS_SIZE) {
                portMirror.write(offset - MMIO_VGA_PORTS, size, value);
            } else if (offset >= MMIO_DISPI && offset + size <= MMIO_DISPI + MMIO_DISPI_SIZE && size == 2) {
                dispi.writeRegister((int) (offset - MMIO_DISPI) / 2, (int) value & 0xffff);
            }
            // QEXT byte order is fixed little-endian here; anything else is ignored.
        }
    }
}
