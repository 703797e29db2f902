package io.stubdm.devices.serial;

import static io.stubdm.devices.serial.Uart16550.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The receiver: trigger levels, the character timeout, 16450 mode, and backpressure instead of overruns. */
class Uart16550ReceiveTest {
    private final UartHarness com1 = new UartHarness();

    @AfterEach
    void close() {
        com1.close();
    }

    private void divisor(int d) {
        com1.out(LCR, LCR_DLAB | 0x03);
        com1.out(DLL, d & 0xff);
        com1.out(DLM, d >> 8);
        com1.out(LCR, 0x03);
    }

    private static byte[] sequence(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + 1);
        }
        return b;
    }

    @ParameterizedTest
    @CsvSource({"0x00, 1", "0x40, 4", "0x80, 8", "0xc0, 14"})
    void dataInterruptAtTheTriggerLevel(int trigger, int level) {
        divisor(0xffff);
        com1.out(FCR, FCR_FIFO_ENABLE | FCR_RCVR_FIFO_RESET | trigger);
        com1.out(IER, IER_ERBFI);
        com1.send(sequence(level - 1));
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, com1.in(IIR));
        assertFalse(com1.irq());
        com1.send((byte) 0x55);
        assertEquals(IIR_FIFOS_ENABLED | IIR_RX_DATA, com1.in(IIR));
        assertTrue(com1.irq());
        com1.in(RBR);
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, com1.in(IIR), "below the trigger level again");
        assertFalse(com1.irq());
    }

    /**
     * Three bytes under a trigger level of 8 at 300 baud: the character-timeout interrupt comes after four
     * character times (4 x 10 bits / 300 baud = 133 ms), not before, and each RBR read restarts the wait.
     */
    @Test
    void characterTimeoutAfterFourCharacterTimes() {
        divisor(384);
        com1.out(FCR, FCR_FIFO_ENABLE | 0x80);
        com1.out(IER, IER_ERBFI);
        long fourCharacters = 4 * 10 * 1_000_000_000L / 300;
        long start = System.nanoTime();
        com1.send(new byte[] {'a', 'b', 'c'});
        UartHarness.pollUntil("the timeout interrupt", () -> com1.in(IIR) == (IIR_FIFOS_ENABLED | IIR_RX_TIMEOUT));
        assertTrue(System.nanoTime() - start >= fourCharacters, "timeout before four character times");
        assertTrue(com1.irq());
        long read = System.nanoTime();
        assertEquals('a', com1.in(RBR));
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, com1.in(IIR), "an RBR read clears the timeout");
        assertFalse(com1.irq());
        UartHarness.pollUntil("the second timeout", () -> com1.in(IIR) == (IIR_FIFOS_ENABLED | IIR_RX_TIMEOUT));
        assertTrue(System.nanoTime() - read >= fourCharacters);
        assertEquals('b', com1.in(RBR));
        assertEquals('c', com1.in(RBR));
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, com1.in(IIR));
        assertEquals(0, com1.in(LSR) & LSR_DR);
    }

    @Test
    void timeoutInterruptIsMaskedByErbfiAndFlushedWithTheFifo() {
        divisor(1);
        com1.out(FCR, FCR_FIFO_ENABLE | 0xc0);
        com1.send(new byte[] {1, 2});
        com1.out(IER, IER_ETBEI);
        com1.in(IIR);
        // 4 character times at 115200 baud are 0.35 ms: a short poll sees what would have come.
        long end = System.nanoTime() + 20_000_000L;
        while (System.nanoTime() < end) {
            assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, com1.in(IIR));
        }
        com1.out(IER, IER_ERBFI);
        UartHarness.pollUntil("the timeout interrupt", () -> com1.in(IIR) == (IIR_FIFOS_ENABLED | IIR_RX_TIMEOUT));
        com1.out(FCR, 0);
        assertEquals(IIR_NO_INTERRUPT, com1.in(IIR), "disabling the FIFOs flushes them");
    }

    /** A host sending far more than 16 bytes to a guest that reads slowly: nothing lost, no overrun. */
    @Test
    void backpressureInsteadOfOverrun() {
        com1.out(FCR, FCR_FIFO_ENABLE | 0xc0);
        byte[] sent = sequence(1000);
        com1.send(sent);
        assertEquals(1000 - FIFO_BYTES, com1.engine.onLoop(com1.backend::pendingInput));
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        while ((com1.in(LSR) & LSR_DR) != 0) {
            int lsr = com1.in(LSR);
            assertEquals(0, lsr & LSR_OE);
            got.write(com1.in(RBR));
        }
        assertArrayEquals(sent, got.toByteArray());
        assertEquals(0, com1.engine.onLoop(com1.uart::overruns));
        assertEquals(1000, com1.engine.onLoop(com1.uart::bytesReceived));
    }

    @Test
    void sixteen450ModeHoldsOneByteAndTheRestWaits() {
        com1.out(IER, IER_ERBFI);
        com1.send(new byte[] {10, 20, 30});
        assertEquals(IIR_RX_DATA, com1.in(IIR), "16450 mode: no trigger level, no FIFO bits");
        assertEquals(LSR_DR | LSR_THRE | LSR_TEMT, com1.in(LSR));
        assertEquals(2, com1.engine.onLoop(com1.backend::pendingInput));
        assertEquals(10, com1.in(RBR));
        assertEquals(20, com1.in(RBR));
        assertEquals(30, com1.in(RBR));
        assertEquals(IIR_NO_INTERRUPT, com1.in(IIR));
        assertEquals(LSR_THRE | LSR_TEMT, com1.in(LSR));
        assertEquals(30, com1.in(RBR), "RBR keeps the last character");
    }

    @Test
    void loopbackOverrunIn16450ModeOverwritesRbr() {
        com1.out(MCR, MCR_LOOP);
        com1.out(THR, 'x');
        com1.out(THR, 'y');
        assertEquals(LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT, com1.in(LSR));
        assertEquals(LSR_DR | LSR_THRE | LSR_TEMT, com1.in(LSR), "reading LSR clears OE");
        assertEquals('y', com1.in(RBR));
        assertEquals(1, com1.engine.onLoop(com1.uart::overruns));
    }

    @Test
    void hostInputWaitsWhileInLoopback() {
        com1.out(FCR, FCR_FIFO_ENABLE);
        com1.out(MCR, MCR_LOOP);
        com1.send(new byte[] {'h', 'i'});
        assertEquals(0, com1.in(LSR) & LSR_DR, "the receiver is cut off from the line in loopback");
        com1.out(THR, 'L');
        assertEquals('L', com1.in(RBR));
        com1.out(MCR, MCR_OUT2);
        assertEquals('h', com1.in(RBR));
        assertEquals('i', com1.in(RBR));
        assertEquals(2, com1.engine.onLoop(com1.uart::bytesReceived));
        assertEquals(0, com1.engine.onLoop(com1.uart::bytesTransmitted));
        assertEquals(0, com1.output().length);
    }

    @Test
    void receiverFifoResetMakesRoomForWaitingInput() {
        com1.out(FCR, FCR_FIFO_ENABLE);
        byte[] sent = sequence(20);
        com1.send(sent);
        com1.out(FCR, FCR_FIFO_ENABLE | FCR_RCVR_FIFO_RESET);
        for (int i = FIFO_BYTES; i < 20; i++) {
            assertEquals(sent[i] & 0xff, com1.in(RBR));
        }
        assertEquals(0, com1.in(LSR) & LSR_DR);
    }
}
