package io.stubdm.devices.serial;

import static io.stubdm.devices.serial.Uart16550.*;

import java.io.ByteArrayOutputStream;

/**
 * FreeBSD's uart(4) ns8250 driver (sys/dev/uart/uart_dev_ns8250.c, the version with ier_mask and
 * broken_txfifo), transcribed function by function as the register accesses it makes, so that tests replay
 * what the kernel does. DELAY() is a real busy wait, as in the kernel.
 */
final class FreeBsdUart {
    static final int RCLK = 1843200;
    static final int IPEND_OVERRUN = 0x01;
    static final int IPEND_BREAK = 0x02;
    static final int IPEND_RXREADY = 0x04;
    static final int IPEND_SIGCHG = 0x08;
    static final int IPEND_TXIDLE = 0x10;
    private static final int IIR_RXRDY = 0x04;
    private static final int IIR_TXRDY = 0x02;
    private static final int FCR_RX_MEDH = 0x80;
    /** ns8250_clrint has no bound; a device that keeps an interrupt pending hangs the boot. */
    private static final int CLRINT_LIMIT = 100_000;

    private final UartHarness h;
    private int ier;
    private int fcr;

    FreeBsdUart(UartHarness h) {
        this.h = h;
    }

    private static void delayMicros(int us) {
        long end = System.nanoTime() + us * 1000L;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }

    int divisor() {
        int lcr = h.in(LCR);
        h.out(LCR, lcr | LCR_DLAB);
        int divisor = h.in(DLL) | (h.in(DLM) << 8);
        h.out(LCR, lcr);
        return divisor;
    }

    /** ns8250_delay: a tenth of a character time, in microseconds. */
    int delay() {
        return (int) (16000000L * divisor() / RCLK);
    }

    /** ns8250_param for 8N1, then the rest of ns8250_init. */
    void init(int baud) {
        int divisor = (RCLK / (baud << 3) + 1) >> 1;
        h.out(LCR, 0x03 | LCR_DLAB);
        h.out(DLL, divisor & 0xff);
        h.out(DLM, divisor >> 8);
        h.out(LCR, 0x03);
        h.out(IER, 0);
        h.out(FCR, 0);
        h.out(MCR, MCR_OUT2 | MCR_RTS | MCR_DTR);
        clrint();
    }

    void clrint() {
        int iir = h.in(IIR);
        for (int n = 0; (iir & IIR_NO_INTERRUPT) == 0; n++) {
            if (n == CLRINT_LIMIT) {
                throw new AssertionError("ns8250_clrint never saw IIR_NOPEND; IIR is " + Integer.toHexString(iir));
            }
            iir &= IIR_ID_MASK;
            if (iir == IIR_RX_LINE_STATUS) {
                h.in(LSR);
            } else if (iir == IIR_RX_DATA || iir == IIR_RX_TIMEOUT) {
                h.in(RBR);
            } else if (iir == IIR_MODEM_STATUS) {
                h.in(MSR);
            }
            iir = h.in(IIR);
        }
    }

    /** ns8250_drain; returns false where the driver returns EIO. */
    boolean drain(boolean transmitter, boolean receiver) {
        int delay = delay();
        if (transmitter) {
            int limit = 10 * 1024;
            while ((h.in(LSR) & LSR_TEMT) == 0 && --limit > 0) {
                delayMicros(delay);
            }
            if (limit == 0) {
                return false;
            }
        }
        if (receiver) {
            int limit = 10 * 4096;
            while ((h.in(LSR) & LSR_DR) != 0 && --limit > 0) {
                h.in(RBR);
                delayMicros(delay << 2);
            }
            return limit != 0;
        }
        return true;
    }

    /** ns8250_bus_probe after ns8250_probe and ns8250_init, for a non-console port: the FIFO size it finds. */
    int busProbeFifoSize() {
        int mcr = MCR_OUT2;
        if (!drain(true, false)) {
            throw new AssertionError("transmitter stuck");
        }
        h.out(MCR, MCR_LOOP | MCR_OUT2 | MCR_DTR | MCR_RTS);
        h.out(FCR, FCR_FIFO_ENABLE);
        if ((h.in(IIR) & IIR_FIFOS_ENABLED) == 0) {
            return 1;
        }
        h.out(FCR, FCR_FIFO_ENABLE | FCR_XMIT_FIFO_RESET | FCR_RCVR_FIFO_RESET);
        int count = 0;
        int delay = delay();
        if (!drain(true, true)) {
            return 0;
        }
        int lsr;
        do {
            h.out(THR, 0);
            count++;
            int limit = 30;
            lsr = 0;
            while (((lsr |= h.in(LSR)) & LSR_TEMT) == 0 && --limit > 0) {
                delayMicros(delay);
            }
            if (limit == 0) {
                h.out(IER, 0);
                h.out(MCR, mcr);
                h.out(FCR, 0);
                return 0;
            }
        } while ((lsr & LSR_OE) == 0 && count < 130);
        count--;
        h.out(MCR, mcr);
        h.out(FCR, FCR_FIFO_ENABLE | FCR_XMIT_FIFO_RESET | FCR_RCVR_FIFO_RESET);
        return count;
    }

    /** ns8250_bus_attach with the default RX trigger (FCR_RX_MEDH) and ier_rxbits. */
    void attach() {
        h.in(MCR);
        fcr = FCR_FIFO_ENABLE | FCR_RX_MEDH;
        h.out(FCR, fcr);
        flush();
        h.in(MSR); // ns8250_bus_getsig
        clrint();
        ier = (h.in(IER) & 0xf0) | IER_EDSSI | IER_ELSI | IER_ERBFI;
        h.out(IER, ier);
    }

    /** ns8250_bus_flush of both FIFOs. */
    void flush() {
        h.out(FCR, FCR_FIFO_ENABLE | FCR_XMIT_FIFO_RESET | FCR_RCVR_FIFO_RESET);
        h.out(FCR, fcr);
    }

    /** ns8250_bus_transmit: up to 16 bytes into the FIFO, then ETXRDY on to be told when they are gone. */
    void transmit(byte[] buf, int off, int len) {
        long deadline = System.nanoTime() + UartHarness.POLL_LIMIT_NANOS;
        while ((h.in(LSR) & LSR_THRE) == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("THRE never came");
            }
            delayMicros(4);
        }
        for (int i = 0; i < len; i++) {
            h.out(THR, buf[off + i] & 0xff);
        }
        ier |= IER_ETBEI;
        h.out(IER, ier);
    }

    /** ns8250_bus_ipend: what the interrupt handler learns from IIR (and LSR). */
    int ipend() {
        int iir = h.in(IIR);
        if ((iir & IIR_NO_INTERRUPT) != 0) {
            return 0;
        }
        int ipend = 0;
        if ((iir & IIR_RXRDY) != 0) {
            int lsr = h.in(LSR);
            if ((lsr & LSR_OE) != 0) {
                ipend |= IPEND_OVERRUN;
            }
            if ((lsr & LSR_BI) != 0) {
                ipend |= IPEND_BREAK;
            }
            if ((lsr & LSR_DR) != 0) {
                ipend |= IPEND_RXREADY;
            }
        } else if ((iir & IIR_TXRDY) != 0) {
            ipend |= IPEND_TXIDLE;
            ier &= ~IER_ETBEI;
            h.out(IER, ier);
        } else {
            ipend |= IPEND_SIGCHG;
        }
        if (ipend == 0) {
            clrint();
        }
        return ipend;
    }

    /** ns8250_bus_receive: everything in the FIFO. */
    int receive(ByteArrayOutputStream into) {
        int n = 0;
        int lsr = h.in(LSR);
        while ((lsr & LSR_DR) != 0) {
            into.write(h.in(RBR));
            n++;
            lsr = h.in(LSR);
        }
        return n;
    }
}
