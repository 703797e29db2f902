package io.stubdm.devices.piix;

import io.stubdm.devices.PowerControl;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.ioreq.BusDevice;
import java.lang.System.Logger.Level;

/**
 * Intel 82371SB PIIX3 PCI-to-ISA bridge at 00:01.0 (8086:7000), with the ISA-side registers xenfv guests use:
 * the PIRQ route control registers, the reset control register at port 0xCF9, fast A20 / fast reset at port
 * 0x92 and the POST-code port 0x80.
 *
 * <p>Under Xen the PIRQ routes live in Xen's virtual PIC, so every byte written to PIRQRC[A:D] goes to Xen
 * through {@link LinkRouter} (qemu-xen's piix3_write_config_xen) — written or not changed, bit 7 set meaning
 * "not routed". hvmloader asserts this device is at devfn 0x08.
 */
public final class Piix3IsaBridge extends PciFunction {
    private static final System.Logger LOG = System.getLogger(Piix3IsaBridge.class.getName());
    public static final int DEVICE_82371SB_ISA = 0x7000;
    /** PIRQ route control A-D, 82371SB datasheet §2.2.9: bit 7 disables, bits 3:0 pick the ISA IRQ. */
    public static final int PIRQRC_A = 0x60;
    public static final int PIRQRC_D = 0x63;
    public static final int PIRQ_ROUTE_DISABLE = 0x80;
    /** Reset control register (§4.1.3): bit 2 starts a reset, bit 1 selects a hard (full) reset. */
    public static final int RCR_SYS_RST = 0x02;
    public static final int RCR_RST_CPU = 0x04;
    /** Port 0x92 (PS/2 system control port A): bit 0 fast reset, bit 1 A20 gate. */
    public static final int PORT92_FAST_RESET = 0x01;
    public static final int PORT92_A20 = 0x02;

    /** Where PIRQ route writes go: Xen's set_pci_link_route. */
    @FunctionalInterface
    public interface LinkRouter {
        /** {@code isaIrq} 0 means the link is not routed. */
        void route(int link, int isaIrq);
    }

    private final LinkRouter links;
    private final PowerControl power;
    private int rcr;
    private int port92;
    private int postCode = -1;

    public Piix3IsaBridge(LinkRouter links, PowerControl power) {
        super("piix3-isa", I440fxHostBridge.VENDOR_INTEL, DEVICE_82371SB_ISA, 0x060100, 0x00);
        this.links = links;
        this.power = power;
        powerOnRegisters();
    }

    /** QEMU's piix3_reset values (hw/isa/piix3.c). */
    private void powerOnRegisters() {
        set16(PciRegs.COMMAND, PciRegs.COMMAND_IO | PciRegs.COMMAND_MEMORY | PciRegs.COMMAND_MASTER);
        set16(PciRegs.STATUS, PciRegs.STATUS_DEVSEL_MEDIUM);
        config[0x4c] = 0x4d;
        config[0x4e] = 0x03;
        for (int r = PIRQRC_A; r <= PIRQRC_D; r++) {
            config[r] = (byte) PIRQ_ROUTE_DISABLE;
        }
        config[0x69] = 0x02;
        config[0x70] = (byte) 0x80;
        config[0x76] = 0x0c;
        config[0x77] = 0x0c;
        config[0x78] = 0x02;
        config[0xa0] = 0x08;
        config[0xa8] = 0x0f;
    }

    @Override
    protected void configWritten(int reg, int size, long value) {
        for (int i = 0; i < size; i++) {
            int r = reg + i;
            if (r >= PIRQRC_A && r <= PIRQRC_D) {
                int v = config[r] & 0xff;
                links.route(r - PIRQRC_A, (v & PIRQ_ROUTE_DISABLE) != 0 ? 0 : v & 0x0f);
            }
        }
    }

    /**
     * The PIRQ registers go back to "not routed" with the rest of config space; Xen is not told, as qemu-xen
     * does not tell it: a reset is followed by Xen rebuilding the domain, and firmware reprograms the links.
     */
    @Override
    protected void resetDevice() {
        rcr = 0;
        port92 = 0;
    }

    /** Last code firmware wrote to port 0x80, or -1. */
    public int postCode() {
        return postCode;
    }

    public boolean a20Enabled() {
        return (port92 & PORT92_A20) != 0;
    }

    /** Port 0xCF9, one byte; the machine registers it inside the host bridge's 0xCF8 window. */
    public BusDevice resetControl() {
        return new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return rcr;
            }

            @Override
            public void write(long offset, int size, long value) {
                if ((value & RCR_RST_CPU) != 0) {
                    power.requestReset(String.format("port 0xCF9 written 0x%02x", value & 0xff));
                    return;
                }
                rcr = (int) value & RCR_SYS_RST;
            }
        };
    }

    /** Port 0x92. */
    public BusDevice systemControlA() {
        return new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return port92;
            }

            @Override
            public void write(long offset, int size, long value) {
                int old = port92;
                port92 = (int) value & PORT92_A20;
                if ((value & PORT92_FAST_RESET) != 0 && (old & PORT92_FAST_RESET) == 0) {
                    power.requestReset("port 0x92 fast reset");
                }
            }
        };
    }

    /** Port 0x80: firmware progress codes, kept for the log; reads as an empty ISA port. */
    public BusDevice postCodePort() {
        return new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return 0xff;
            }

            @Override
            public void write(long offset, int size, long value) {
                postCode = (int) value & 0xff;
                LOG.log(Level.DEBUG, () -> String.format("POST code 0x%02x", postCode));
            }
        };
    }
}
