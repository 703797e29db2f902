package io.stubdm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.hypervisor.sim.SimVcpu;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The parts of Xen 4.17's hvmloader that talk to the device model, transcribed access for access from
 * tools/firmware/hvmloader/pci.c (pci_setup) and hvmloader.c (acpi_enable_sci): the same config-cycle widths,
 * the same order, the same ASSERTs. Its own xenstore and hypercall work is left out.
 */
final class Hvmloader {
    static final int PCI_ISA_DEVFN = 0x08;
    static final int PCI_ISA_IRQ_MASK = 0x0c20; // ISA IRQs 5, 10, 11
    static final long PCI_MEM_START = 0xf000_0000L;
    static final long PCI_MEM_END = 0xfc00_0000L;
    static final int PCI_IO_START = 0xc000;

    private final SimVcpu cpu;
    /** Messages hvmloader would print, for assertions. */
    final List<String> log = new ArrayList<>();
    final int[] pirq = new int[4];
    int vgaDevfn = -1;

    Hvmloader(SimVcpu cpu) {
        this.cpu = cpu;
    }

    private long read(int devfn, int reg, int size) {
        return cpu.pciConfigRead(0, devfn >> 3, devfn & 7, reg, size);
    }

    private void write(int devfn, int reg, int size, long v) {
        cpu.pciConfigWrite(0, devfn >> 3, devfn & 7, reg, size, v);
    }

    record Bar(int devfn, int reg, long size, boolean io, boolean is64) {}

    /** pci_setup(), without the MMIO-hole relocation a small test guest never needs. */
    void pciSetup() {
        // Program PCI-ISA bridge with appropriate link routes.
        int isaIrq = 0;
        int elcr = 0;
        for (int link = 0; link < 4; link++) {
            do {
                isaIrq = (isaIrq + 1) & 15;
            } while ((PCI_ISA_IRQ_MASK & (1 << isaIrq)) == 0);
            write(PCI_ISA_DEVFN, 0x60 + link, 1, isaIrq);
            pirq[link] = isaIrq;
            elcr |= 1 << isaIrq;
        }
        cpu.outb(0x4d0, elcr & 0xff); // Xen's vPIC ELCR: not the device model's
        cpu.outb(0x4d1, elcr >> 8);

        List<Bar> bars = new ArrayList<>();
        for (int devfn = 0; devfn < 256; devfn++) {
            int cls = (int) read(devfn, 0x0a, 2);
            int vendor = (int) read(devfn, 0x00, 2);
            int device = (int) read(devfn, 0x02, 2);
            if (vendor == 0xffff && device == 0xffff) {
                continue;
            }
            assertTrue(devfn != PCI_ISA_DEVFN || (vendor == 0x8086 && device == 0x7000),
                    "ASSERT: 00:01.0 must be a PIIX3 ISA bridge");
            switch (cls) {
                case 0x0300:
                    if (vgaDevfn < 0) {
                        vgaDevfn = devfn;
                    }
                    break;
                case 0x0680:
                    assertEquals(0x71138086L, (long) device << 16 | vendor, "ASSERT: class 0x0680 must be PIIX4 PM");
                    write(devfn, 0x20, 2, 0x0000); // no SMBus I/O
                    write(devfn, 0xd2, 2, 0x0000);
                    write(devfn, 0x22, 2, 0x0000);
                    write(devfn, 0x3c, 2, 0x0009); // IRQ9
                    write(devfn, 0x3d, 2, 0x0001);
                    write(devfn, 0x40, 4, 0xb000 | 1); // ACPI_PM1A_EVT_BLK_ADDRESS_V1 | 1
                    write(devfn, 0x80, 1, 0x01); // PM I/O space enable
                    break;
                case 0x0101:
                    if (vendor == 0x8086) {
                        write(devfn, 0x40, 2, 0x8000); // IDE legacy decode, primary
                        write(devfn, 0x42, 2, 0x8000); // secondary
                    }
                    break;
                default:
                    break;
            }
            // Size every BAR and the ROM: save, write all-ones, read back, restore.
            for (int bar = 0; bar < 7; bar++) {
                int reg = bar == 6 ? 0x30 : 0x10 + 4 * bar;
                long data = read(devfn, reg, 4);
                boolean is64 = false;
                long sz;
                if (bar != 6) {
                    is64 = (data & 0x7) == 0x4;
                    write(devfn, reg, 4, 0xffffffffL);
                } else {
                    write(devfn, reg, 4, (data | 0xfffff800L) & ~1L);
                }
                sz = read(devfn, reg, 4);
                write(devfn, reg, 4, data);
                if (sz == 0) {
                    continue;
                }
                boolean io = bar != 6 && (sz & 1) != 0;
                sz &= io ? 0xfffc : (bar == 6 ? 0xfffff800L : 0xfffffff0L);
                long size = sz & -sz;
                bars.add(new Bar(devfn, reg, size, io, is64));
                if (is64) {
                    bar++;
                }
            }
            int pin = (int) read(devfn, 0x3d, 1);
            if (pin != 0) {
                int link = ((pin - 1) + (devfn >> 3)) & 3;
                int irq = (int) read(PCI_ISA_DEVFN, 0x60 + link, 1);
                write(devfn, 0x3c, 1, irq);
                log.add(String.format("pci dev %02x:%x INT%c->IRQ%d", devfn >> 3, devfn & 7, 'A' + pin - 1, irq));
            }
            int cmd = (int) read(devfn, 0x04, 2);
            write(devfn, 0x04, 2, cmd | 0x4); // bus master
        }

        // Place BARs, biggest first, each aligned to its size.
        bars.sort(Comparator.comparingLong(Bar::size).reversed());
        long mem = PCI_MEM_START;
        long io = PCI_IO_START;
        for (Bar b : bars) {
            long base;
            if (b.io()) {
                base = (io + b.size() - 1) & -b.size();
                io = base + b.size();
            } else {
                base = (mem + b.size() - 1) & -b.size();
                mem = base + b.size();
                assertTrue(mem <= PCI_MEM_END, "BARs do not fit the MMIO hole");
            }
            long data = read(b.devfn(), b.reg(), 4);
            long keep = b.io() ? data & 0x3 : (b.reg() == 0x30 ? data & 0x1 : data & 0xf);
            write(b.devfn(), b.reg(), 4, base | keep | (b.reg() == 0x30 ? 1 : 0));
            if (b.is64()) {
                write(b.devfn(), b.reg() + 4, 4, base >>> 32);
            }
            int cmd = (int) read(b.devfn(), 0x04, 2);
            write(b.devfn(), 0x04, 2, cmd | (b.io() ? 0x1 : 0x2));
            log.add(String.format("pci dev %02x:%x bar %02x size %x: %x", b.devfn() >> 3, b.devfn() & 7, b.reg(),
                    b.size(), base));
        }
    }

    /** acpi_enable_sci(): the handshake hvmloader BUG()s on. */
    void acpiEnableSci() {
        int cnt = cpu.inb(0xb004);
        if ((cnt & 1) == 0) {
            cpu.outb(0xb2, 0xf1); // SMI_CMD <- ACPI_ENABLE
        }
        cnt = cpu.inb(0xb004);
        assertEquals(1, cnt & 1, "BUG: SCI_EN still clear after the ACPI enable handshake");
    }
}
