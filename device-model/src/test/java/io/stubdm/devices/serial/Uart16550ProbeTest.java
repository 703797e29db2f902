package io.stubdm.devices.serial;

import static io.stubdm.devices.serial.Uart16550.*;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The detection sequences firmware and kernels run on COM1, replayed access by access through the ioreq engine:
 * each must conclude "a 16550A with 16-byte FIFOs is here".
 */
class Uart16550ProbeTest {
    private final UartHarness com1 = new UartHarness();

    @AfterEach
    void close() {
        com1.close();
    }

    /** hvmloader's uart_exists (tools/firmware/hvmloader/util.c) decides whether the DSDT shows COM1. */
    @Test
    void hvmloaderUartExists() {
        int a = com1.in(IER);
        com1.out(IER, 0);
        int b = com1.in(IER);
        com1.out(IER, 0x0f);
        int c = com1.in(IER);
        com1.out(IER, a);
        assertEquals(0, b);
        assertEquals(0x0f, c);
        assertEquals(0, com1.in(IER));
    }

    /** SeaBIOS serial_setup -> detect_serial (src/serial.c), which fills the BDA's COM port table. */
    @Test
    void seabiosDetectSerial() {
        com1.out(IER, 0x02);
        assertEquals(0x02, com1.in(IER));
        assertEquals(0x02, com1.in(IIR) & 0x3f, "THRE pending as soon as ETBEI is on");
        com1.out(IER, 0x00);
        assertEquals(0x01, com1.in(IIR) & 0x3f);
        assertFalse(com1.irq());
    }

    /** Linux 8250 autoconfig() and autoconfig_16550a() (drivers/tty/serial/8250/8250_port.c). */
    @Test
    void linuxAutoconfigFindsA16550A() {
        // Existence test through IER, with a write to the POST port in between on i386.
        int scratch = com1.in(IER);
        com1.out(IER, 0);
        int scratch2 = com1.in(IER) & 0x0f;
        com1.out(IER, 0x0f);
        int scratch3 = com1.in(IER) & 0x0f;
        com1.out(IER, scratch);
        assertEquals(0, scratch2);
        assertEquals(0x0f, scratch3);

        int saveMcr = com1.in(MCR);
        int saveLcr = com1.in(LCR);
        // Loopback check: MCR = LOOP | OUT2 | RTS must show DCD and CTS only.
        com1.out(MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
        assertEquals(MSR_DCD | MSR_CTS, com1.in(MSR) & 0xf0, "LSR safety check");
        com1.out(MCR, saveMcr);

        // EFR (at the FCR offset) is cleared under LCR=0xBF; then the FIFO test through IIR bits 7:6.
        com1.out(LCR, 0xbf);
        com1.out(FCR, 0);
        com1.out(LCR, 0);
        com1.out(FCR, FCR_FIFO_ENABLE);
        assertEquals(3, com1.in(IIR) >> 6, "IIR says 16550A");

        // autoconfig_16550a: no EFR with DLAB set...
        com1.out(LCR, 0x80);
        assertNotEquals(0, com1.in(FCR), "would be a ST16C650V1");
        // ...nor with LCR=0xBF...
        com1.out(LCR, 0xbf);
        assertNotEquals(0, com1.in(FCR), "would be a UART with EFR");
        // ...not a National SuperIO (EXCR1 at bank 2 does not follow MCR.LOOP)...
        com1.out(LCR, 0);
        int status1 = com1.in(MCR);
        com1.out(LCR, 0xe0);
        int status2 = com1.in(FCR);
        boolean nationalSuspect = ((status2 ^ status1) & MCR_LOOP) == 0;
        if (nationalSuspect) {
            com1.out(LCR, 0);
            com1.out(MCR, status1 ^ MCR_LOOP);
            com1.out(LCR, 0xe0);
            status2 = com1.in(FCR);
            com1.out(LCR, 0);
            com1.out(MCR, status1);
            assertEquals(0, (status2 ^ status1) & MCR_LOOP, "would be a NS16550A");
        }
        // ...not a TI16750 (IIR bit 5 with 64-byte FIFO mode under DLAB)...
        com1.out(LCR, 0);
        com1.out(FCR, FCR_FIFO_ENABLE | 0x20);
        int s1 = com1.in(IIR) & 0xe0;
        com1.out(FCR, FCR_FIFO_ENABLE);
        com1.out(LCR, 0x80);
        com1.out(FCR, FCR_FIFO_ENABLE | 0x20);
        int s2 = com1.in(IIR) & 0xe0;
        com1.out(FCR, FCR_FIFO_ENABLE);
        com1.out(LCR, 0);
        assertEquals(0xc0, s1);
        assertEquals(0xc0, s2, "would be a 16750");
        // ...and not an XScale (IER bit 6, UUE, does not stick).
        int iersave = com1.in(IER);
        com1.out(IER, iersave & ~0x40);
        assertEquals(0, com1.in(IER) & 0x40);
        com1.out(IER, iersave | 0x40);
        assertEquals(0, com1.in(IER) & 0x40, "would be an XScale");
        com1.out(IER, iersave);

        // Reset the UART as autoconfig leaves it.
        com1.out(LCR, saveLcr);
        com1.out(MCR, saveMcr);
        com1.out(FCR, FCR_FIFO_ENABLE);
        com1.out(FCR, FCR_FIFO_ENABLE | FCR_RCVR_FIFO_RESET | FCR_XMIT_FIFO_RESET);
        com1.out(FCR, 0);
        com1.in(RBR);
        com1.out(IER, 0);
        assertEquals(IIR_NO_INTERRUPT, com1.in(IIR));
        assertEquals(LSR_THRE | LSR_TEMT, com1.in(LSR));
    }

    /** FreeBSD ns8250_probe (sys/dev/uart/uart_dev_ns8250.c): bits that must read 0. */
    @Test
    void freebsdNs8250Probe() {
        assertEquals(0, com1.in(IIR) & 0x30);
        assertEquals(0, com1.in(MCR) & 0xe0);
        int lcr = com1.in(LCR);
        com1.out(LCR, lcr & ~LCR_DLAB);
        assertEquals(0, com1.in(IER) & 0xf0);
        com1.out(LCR, lcr);
        // Even after a driver wrote all ones.
        com1.out(IER, 0xff);
        com1.out(MCR, 0xff);
        assertEquals(0x0f, com1.in(IER));
        assertEquals(0x1f, com1.in(MCR));
        com1.out(MCR, MCR_OUT2);
        assertEquals(0, com1.in(IIR) & 0x30);
    }

    /**
     * FreeBSD ns8250_bus_probe: ns8250_init at 9600 8N1, then FIFO sizing in loopback, writing THR and waiting
     * for TEMT until LSR.OE appears. A count of 14-16 is "16550 or compatible".
     */
    @Test
    void freebsdBusProbeSizesTheFifoAt16() {
        FreeBsdUart bsd = new FreeBsdUart(com1);
        bsd.init(9600);
        assertEquals(12, bsd.divisor());
        assertEquals(16, bsd.busProbeFifoSize());
        assertEquals(1, com1.engine.onLoop(com1.uart::overruns));
        // The probe leaves loopback off and both FIFOs empty.
        assertEquals(MCR_OUT2, com1.in(MCR));
        assertEquals(LSR_THRE | LSR_TEMT, com1.in(LSR));
        assertEquals(0, com1.output().length, "loopback bytes never reach the host");
    }

    /**
     * FreeBSD ns8250_bus_attach, with every interrupt source busy beforehand (a loader left IER on, the host is
     * typing, loopback left modem deltas): ns8250_clrint must reach "no interrupt pending".
     */
    @Test
    void freebsdAttachClearsInterruptsAndTerminates() {
        FreeBsdUart bsd = new FreeBsdUart(com1);
        bsd.init(115200);
        com1.out(FCR, FCR_FIFO_ENABLE | 0xc0);
        com1.out(IER, 0x0f);
        com1.out(MCR, MCR_LOOP | MCR_OUT1);
        com1.out(MCR, MCR_OUT2 | MCR_DTR | MCR_RTS);
        byte[] typed = new byte[40];
        com1.send(typed);
        assertTrue(com1.irq());

        bsd.attach();

        assertEquals(IER_EDSSI | IER_ELSI | IER_ERBFI, com1.in(IER));
        assertEquals(IIR_FIFOS_ENABLED, com1.in(IIR) & IIR_FIFOS_ENABLED);
        // Input the attach flushed or drained is the guest's choice; what remains keeps flowing without loss.
        int left = 0;
        while ((com1.in(LSR) & LSR_DR) != 0) {
            com1.in(RBR);
            left++;
        }
        assertTrue(left <= typed.length);
        assertEquals(0, com1.engine.onLoop(com1.backend::pendingInput));
        assertEquals(IIR_NO_INTERRUPT | IIR_FIFOS_ENABLED, com1.in(IIR));
        assertFalse(com1.irq());
    }
}
