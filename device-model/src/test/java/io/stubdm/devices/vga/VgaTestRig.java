package io.stubdm.devices.vga;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.pci.PciBus;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.firmware.OptionRom;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import io.stubdm.machine.GuestRamVideoMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What StdVgaTest and CirrusVgaTest share: one vcpu driving an adapter through the ioreq engine over the simulated
 * Xen, with its video RAM in guest RAM, and the standard VGA BIOS steps (mode 3, font load, text) both adapters
 * go through.
 */
final class VgaTestRig implements AutoCloseable {
    static final int VGA_SLOT = 3;
    static final long RAM = 64L << 20;
    static final long LFB = 0xf0000000L;
    /** Where the video RAM sits while its BAR is unprogrammed (the low memory top is the PCI hole's start). */
    static final long VRAM_HOME = GuestRamVideoMemory.homeAddress(RAM, 0xf0000000L);

    /** IBM's register values for mode 3 (80×25 text, 9×16 cells, 720×400), as the VGA BIOS loads them. */
    static final int MODE3_MISC = 0x67;
    private static final int[] MODE3_SEQ = {0x03, 0x00, 0x03, 0x00, 0x02};
    private static final int[] MODE3_CRTC = {0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e,
        0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff};
    private static final int[] MODE3_ATTR = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b,
        0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00};
    private static final int[] MODE3_GC = {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff};

    final EmbeddedEngine engine = new EmbeddedEngine(1, RAM);
    final SimVcpu cpu = engine.vcpu(0);
    final GuestRamVideoMemory vram;

    VgaTestRig(int vramBytes) {
        vram = new GuestRamVideoMemory(engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID),
                engine.xen().foreignMemory(EmbeddedEngine.DEFAULT_DOMID), VRAM_HOME, vramBytes);
    }

    /** The VGA BIOS image for the ROM BAR, when the Debian package seabios is installed. */
    static Optional<OptionRom> biosIfInstalled(Path bios, int vendor, int device) throws IOException {
        return Files.isReadable(bios)
                ? Optional.of(OptionRom.parse(bios.getFileName().toString(), Files.readAllBytes(bios), vendor, device))
                : Optional.empty();
    }

    /** Plugs the adapter into VGA_SLOT, registers its legacy ranges as the machine does, and starts the engine. */
    <T extends PciFunction & DisplayAdapter> T plug(T adapter) {
        new PciBus(engine.pci(), engine.ports(), engine.mmio(), (device, pin) -> IrqLine.NONE)
                .plug(VGA_SLOT, 0, adapter);
        for (StdVga.LegacyRange r : adapter.legacyRanges()) {
            (r.mmio() ? engine.mmio() : engine.ports()).register(r.base(), r.length(), r.device(), r.name());
        }
        engine.start();
        return adapter;
    }

    @Override
    public void close() {
        engine.close();
        vram.close();
    }

    /** hvmloader: BAR0 (video RAM) at the LFB, the MMIO BAR at {@code mmioBar}, memory and I/O decode on. */
    void hvmloaderPlacesBars(int mmioBarOffset, long mmioBar) {
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x10, 4, LFB);
        cpu.pciConfigWrite(0, VGA_SLOT, 0, mmioBarOffset, 4, mmioBar);
        cpu.pciConfigWrite(0, VGA_SLOT, 0, 0x04, 2, 0x0003);
    }

    /** The BIOS's mode set: sequencer held in reset, CRTC unlocked, attribute controller through the flip-flop. */
    void setMode3() {
        cpu.outb(0x3c2, MODE3_MISC);
        for (int i = 0; i < MODE3_SEQ.length; i++) {
            cpu.outw(0x3c4, i | (i == 0 ? 0x01 : MODE3_SEQ[i]) << 8);
        }
        cpu.outw(0x3c4, 0x0300); // out of reset
        cpu.outw(0x3d4, 0x11 | (MODE3_CRTC[0x11] & 0x7f) << 8); // unlock CR0-7
        for (int i = 0; i < MODE3_CRTC.length; i++) {
            cpu.outw(0x3d4, i | MODE3_CRTC[i] << 8);
        }
        cpu.inb(0x3da);
        for (int i = 0; i < MODE3_ATTR.length; i++) {
            cpu.outb(0x3c0, i);
            cpu.outb(0x3c0, MODE3_ATTR[i]);
        }
        for (int i = 0; i < MODE3_GC.length; i++) {
            cpu.outw(0x3ce, i | MODE3_GC[i] << 8);
        }
        // The EGA palette in the first 64 DAC entries: 2 bits per primary from the index's rgbRGB bits.
        cpu.outb(0x3c8, 0);
        for (int i = 0; i < 64; i++) {
            cpu.outb(0x3c9, 0x2a * ((i >> 2) & 1) + 0x15 * ((i >> 5) & 1));
            cpu.outb(0x3c9, 0x2a * ((i >> 1) & 1) + 0x15 * ((i >> 4) & 1));
            cpu.outb(0x3c9, 0x2a * (i & 1) + 0x15 * ((i >> 3) & 1));
        }
        cpu.inb(0x3da);
        cpu.outb(0x3c0, 0x20); // palette address source: the screen shows again
    }

    /** The BIOS's font load: plane 2 alone, odd/even off, the 64 KiB map at A0000, then text mode back. */
    void loadFont(byte[][] glyphs) {
        cpu.outw(0x3c4, 0x0100);
        cpu.outw(0x3c4, 0x0402);
        cpu.outw(0x3c4, 0x0704);
        cpu.outw(0x3c4, 0x0300);
        cpu.outw(0x3ce, 0x0204);
        cpu.outw(0x3ce, 0x0005);
        cpu.outw(0x3ce, 0x0406);
        for (int ch = 0; ch < glyphs.length; ch++) {
            for (int line = 0; line < glyphs[ch].length; line++) {
                cpu.mmioWrite(0xa0000 + ch * 32 + line, 1, glyphs[ch][line] & 0xff);
            }
        }
        cpu.outw(0x3c4, 0x0100);
        cpu.outw(0x3c4, 0x0302);
        cpu.outw(0x3c4, 0x0304);
        cpu.outw(0x3c4, 0x0300);
        cpu.outw(0x3ce, 0x0004);
        cpu.outw(0x3ce, 0x1005);
        cpu.outw(0x3ce, 0x0e06);
    }

    /** Characters and attribute into the 80-column text buffer at B8000. */
    void writeText(int row, int col, String s, int attribute) {
        for (int i = 0; i < s.length(); i++) {
            long at = 0xb8000 + (row * 80L + col + i) * 2;
            cpu.mmioWrite(at, 2, s.charAt(i) | attribute << 8);
        }
    }

    /** The guest's own view of its memory, fresh each time (frames move under a cached mapping otherwise). */
    GuestMemory guest() {
        return engine.domain().guestMemory();
    }

    /** A synchronous access drains the buffered ring first, so the window writes before it are done. */
    void drainBufferedWrites() {
        cpu.inb(0x3cc);
    }

    /** {@code onLoop} on the device loop, after the window writes so far. */
    <T> T afterBufferedWrites(Supplier<T> onLoop) {
        drainBufferedWrites();
        return engine.onLoop(onLoop);
    }
}
