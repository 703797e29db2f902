package io.stubdm.devices.serial;

import static io.stubdm.devices.serial.Uart16550.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** IIR, its priorities, and the IRQ 4 edges Xen sees, under the sequences Linux and FreeBSD drive. */
class Uart16550InterruptTest {
    private final UartHarness com1 = new UartHarness();

    @AfterEach
    void close() {
        com1.close();
    }

    /** Rules out the timeout interrupt: at divisor 0xFFFF four characters take about twenty seconds. */
    private void slowestBaud() {
        com1.out(LCR, LCR_DLAB | 0x03);
        com1.out(DLL, 0xff);
        com1.out(DLM, 0xff);
        com1.out(LCR, 0x03);
    }

    @Test
    void enablingEtbeiWithAnEmptyThrRaisesTheInterruptAndAnIirReadClearsIt() {
        assertFalse(com1.irq());
        com1.out(IER, IER_ETBEI);
        assertTrue(com1.irq());
        assertEquals(IIR_THR_EMPTY, com1.in(IIR));
        assertFalse(com1.irq());
        assertEquals(IIR_NO_INTERRUPT, com1.in(IIR));
        // Rewriting IER with ETBEI still on does not bring it back; turning it off and on does.
        com1.out(IER, IER_ETBEI);
        assertEquals(IIR_NO_INTERRUPT, com1.in(IIR));
        com1.out(IER, 0);
        com1.out(IER, IER_ETBEI);
        assertEquals(IIR_THR_EMPTY, com1.in(IIR));
        // A THR write clears it; the byte leaving raises it again.
        com1.out(IER, 0);
        com1.out(IER, IER_ETBEI);
        com1.out(THR, 'x');
        assertEquals(IIR_THR_EMPTY, com1.in(IIR));
        assertEquals(List.of(1, 0, 1, 0, 1, 0, 1, 0), com1.irqLevels());
    }

    /** Linux serial8250_do_startup's UART_BUG_THRE test: THRE must be reasserted each time THRI is enabled. */
    @Test
    void linuxThreTestFindsNoBug() {
        com1.out(LCR, 0x03);
        assertNotEquals(0, com1.in(LSR) & LSR_THRE);
        com1.out(IER, IER_ETBEI);
        int iir1 = com1.in(IIR);
        com1.out(IER, 0);
        com1.out(IER, IER_ETBEI);
        int iir = com1.in(IIR);
        com1.out(IER, 0);
        assertEquals(0, iir1 & IIR_NO_INTERRUPT);
        assertEquals(0, iir & IIR_NO_INTERRUPT, "UART_BUG_THRE");
    }

    /** Linux autoconfig_irq: the probe must see IRQ 4 go up after the THR write. */
    @Test
    void linuxAutoconfigIrqSeesAnEdge() {
        int saveMcr = com1.in(MCR);
        int saveIer = com1.in(IER);
        com1.out(MCR, MCR_OUT1 | MCR_OUT2);
        int before = com1.irqLevels().size();
        com1.out(MCR, 0);
        com1.out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
        com1.out(IER, 0x0f);
        com1.in(LSR);
        com1.in(RBR);
        com1.in(IIR);
        com1.in(MSR);
        com1.out(THR, 0xff);
        List<Integer> levels = com1.irqLevels().subList(before, com1.irqLevels().size());
        assertEquals(1, levels.get(levels.size() - 1), "probe_irq_off finds IRQ 4");
        assertTrue(levels.contains(0), "low before the THR write, so that it is an edge: " + levels);
        com1.out(MCR, saveMcr);
        com1.out(IER, saveIer);
        assertFalse(com1.irq());
        assertArrayEquals(new byte[] {(byte) 0xff}, com1.output());
    }

    /** Every cause at once, taken down in priority order: RLS, RX data, THRE, modem status. */
    @Test
    void priorities() {
        slowestBaud();
        com1.out(FCR, FCR_FIFO_ENABLE);
        com1.out(IER, 0x0f);
        com1.in(IIR);
        com1.out(MCR, MCR_LOOP | MCR_OUT1 | MCR_OUT2);
        for (int i = 0; i < FIFO_BYTES + 1; i++) {
            com1.out(THR, i);
        }
        assertTrue(com1.irq());
        assertEquals(IIR_FIFOS_ENABLED | IIR_RX_LINE_STATUS, com1.in(IIR));
        assertEquals(IIR_FIFOS_ENABLED | IIR_RX_LINE_STATUS, com1.in(IIR), "IIR alone does not clear RLS");
        assertEquals(LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT, com1.in(LSR));
        assertEquals(IIR_FIFOS_ENABLED | IIR_RX_DATA, com1.in(IIR));
        for (int i = 0; i < FIFO_BYTES; i++) {
            assertEquals(i, com1.in(RBR), "the 17th byte was lost, not the first");
        }
        assertEquals(IIR_FIFOS_ENABLED | IIR_THR_EMPTY, com1.in(IIR));
        assertEquals(IIR_FIFOS_ENABLED | IIR_MODEM_STATUS, com1.in(IIR));
        assertEquals(MSR_RI | MSR_DCD | MSR_DDSR | MSR_DCTS, com1.in(MSR));
        assertEquals(MSR_RI | MSR_DCD, com1.in(MSR), "deltas clear on read");
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, com1.in(IIR));
        assertFalse(com1.irq());
        assertEquals(List.of(1, 0), com1.irqLevels().subList(com1.irqLevels().size() - 2, com1.irqLevels().size()));
    }

    @Test
    void loopbackMirrorsModemOutputsAndLeavingItIsAChange() {
        com1.out(MCR, MCR_LOOP | MCR_DTR);
        assertEquals(MSR_DSR | MSR_DCTS | MSR_DDCD, com1.in(MSR));
        com1.out(MCR, MCR_LOOP | MCR_RTS);
        assertEquals(MSR_CTS | MSR_DCTS | MSR_DDSR, com1.in(MSR));
        com1.out(MCR, MCR_LOOP | MCR_OUT1);
        assertEquals(MSR_RI | MSR_DCTS, com1.in(MSR));
        com1.out(MCR, MCR_LOOP | MCR_OUT2);
        assertEquals(MSR_DCD | MSR_TERI | MSR_DDCD, com1.in(MSR), "TERI: RI went off");
        com1.out(MCR, MCR_OUT2);
        assertEquals(MSR_DCD | MSR_DSR | MSR_CTS | MSR_DDSR | MSR_DCTS, com1.in(MSR));
        assertEquals(MSR_DCD | MSR_DSR | MSR_CTS, com1.in(MSR));
    }

    /**
     * FreeBSD's TX path: ns8250_bus_transmit fills the FIFO and enables ETXRDY, the THRE interrupt comes, and
     * ns8250_bus_ipend reports TXIDLE and turns ETXRDY off again. Three rounds, as a console prints.
     */
    @Test
    void freebsdTransmitThreInterruptAndIpend() {
        FreeBsdUart bsd = new FreeBsdUart(com1);
        bsd.init(115200);
        bsd.attach();
        assertFalse(com1.irq());
        byte[] text = "FreeBSD/amd64 (opnsense) (ttyu0)\r\n\r\nlogin: ".getBytes(StandardCharsets.US_ASCII);
        for (int off = 0; off < text.length; off += 16) {
            int len = Math.min(16, text.length - off);
            bsd.transmit(text, off, len);
            assertTrue(com1.irq(), "the THRE interrupt ends sc_txbusy");
            assertEquals(FreeBsdUart.IPEND_TXIDLE, bsd.ipend());
            assertFalse(com1.irq());
            assertEquals(0, bsd.ipend(), "nothing left pending");
        }
        assertArrayEquals(text, com1.output());
    }

    /** FreeBSD's RX path: the trigger-level interrupt, then ns8250_bus_receive empties the FIFO. */
    @Test
    void freebsdReceiveInterrupt() {
        FreeBsdUart bsd = new FreeBsdUart(com1);
        bsd.init(9600);
        slowestBaud();
        bsd.attach();
        byte[] typed = "root\r".getBytes(StandardCharsets.US_ASCII);
        com1.send(typed);
        assertFalse(com1.irq(), "5 bytes are below the trigger level of 8");
        com1.send("pass\r".getBytes(StandardCharsets.US_ASCII));
        assertTrue(com1.irq());
        assertEquals(FreeBsdUart.IPEND_RXREADY, bsd.ipend());
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        assertEquals(10, bsd.receive(got));
        assertEquals("root\rpass\r", got.toString(StandardCharsets.US_ASCII));
        assertFalse(com1.irq());
    }

    /** The exact edges Xen sees for SeaBIOS's detect_serial and then a THRE round trip. */
    @Test
    void xenSeesOneRaiseAndOneLowerPerInterrupt() {
        com1.out(IER, 0x02);
        com1.in(IIR);
        com1.out(IER, 0x00);
        com1.out(IER, 0x02);
        com1.out(THR, 'a');
        com1.in(IIR);
        com1.in(IIR);
        assertEquals(List.of("set_isa_irq_level(0x4, 0x1)", "set_isa_irq_level(0x4, 0x0)",
                "set_isa_irq_level(0x4, 0x1)", "set_isa_irq_level(0x4, 0x0)",
                "set_isa_irq_level(0x4, 0x1)", "set_isa_irq_level(0x4, 0x0)"),
                com1.engine.domain().dmOpLog().stream().filter(s -> s.startsWith("set_isa_irq_level")).toList());
    }

    @Test
    void resetLowersTheLineAndRestoresPowerOnValues() {
        com1.out(IER, IER_ETBEI);
        com1.out(LCR, 0x83);
        com1.out(SCR, 0x5a);
        assertTrue(com1.irq());
        com1.engine.onLoop(com1.uart::reset);
        assertFalse(com1.irq());
        assertEquals(0, com1.in(IER));
        assertEquals(IIR_NO_INTERRUPT, com1.in(IIR));
        assertEquals(0, com1.in(LCR));
        assertEquals(MCR_OUT2, com1.in(MCR));
        assertEquals(LSR_THRE | LSR_TEMT, com1.in(LSR));
        assertEquals(MSR_DCD | MSR_DSR | MSR_CTS, com1.in(MSR));
        assertEquals(0, com1.in(SCR));
        com1.out(LCR, LCR_DLAB);
        assertEquals(12, com1.in(DLL));
        assertEquals(0, com1.in(DLM));
    }
}
