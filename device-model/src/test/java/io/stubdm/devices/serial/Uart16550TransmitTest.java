package io.stubdm.devices.serial;

import static io.stubdm.devices.serial.Uart16550.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The transmitter: prompt with a backend that keeps up, lossless with one that does not. */
class Uart16550TransmitTest {

    @Test
    void thrEmptiesAtOnceWhenTheBackendTakesTheByte() {
        try (UartHarness com1 = new UartHarness()) {
            // 16450 mode, as SeaBIOS and the FreeBSD loader poll it: THRE after every byte.
            for (byte b : "boot: ".getBytes(StandardCharsets.US_ASCII)) {
                com1.out(THR, b);
                assertEquals(LSR_THRE | LSR_TEMT, com1.in(LSR));
            }
            com1.out(FCR, FCR_FIFO_ENABLE);
            for (int i = 0; i < 40; i++) {
                com1.out(THR, 'a' + i % 26);
            }
            assertEquals(LSR_THRE | LSR_TEMT, com1.in(LSR));
            assertEquals(46, com1.output().length);
            assertEquals(46, com1.engine.onLoop(com1.uart::bytesTransmitted));
            assertEquals(0, com1.engine.onLoop(com1.uart::transmitOverwrites));
        }
    }

    /**
     * A backend that takes one byte every 3 ms (a host far slower than the line) under FreeBSD's interrupt-driven
     * TX path and a polling console: the guest waits on THRE and every byte arrives, in order.
     */
    @Test
    void slowBackendLosesNothing() {
        try (UartHarness com1 = new UartHarness(loop -> FakeBackend.slow(loop, 3_000_000L))) {
            FreeBsdUart bsd = new FreeBsdUart(com1);
            bsd.init(115200);
            bsd.attach();
            byte[] text = "Copyright (c) 1992-2024 The FreeBSD Project.\r\n".getBytes(StandardCharsets.US_ASCII);
            boolean sawBusy = false;
            for (int off = 0; off < text.length; off += 16) {
                int len = Math.min(16, text.length - off);
                bsd.transmit(text, off, len);
                int lsr = com1.in(LSR);
                if ((lsr & (LSR_THRE | LSR_TEMT)) == 0) {
                    sawBusy = true;
                    assertFalse(com1.irq(), "no THRE interrupt while bytes wait for the backend");
                }
                UartHarness.pollUntil("the THRE interrupt", com1::irq);
                assertEquals(FreeBsdUart.IPEND_TXIDLE, bsd.ipend());
            }
            assertTrue(sawBusy, "the backend was never slow");

            // The same backend under a polling console (Linux early printk, SeaBIOS): wait for THRE, write.
            byte[] more = "polled\r\n".getBytes(StandardCharsets.US_ASCII);
            for (byte b : more) {
                UartHarness.pollUntil("THRE", () -> (com1.in(LSR) & LSR_THRE) != 0);
                com1.out(THR, b);
            }
            UartHarness.pollUntil("TEMT", () -> (com1.in(LSR) & LSR_TEMT) != 0);

            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            expected.writeBytes(text);
            expected.writeBytes(more);
            assertArrayEquals(expected.toByteArray(), com1.output());
            assertEquals(0, com1.engine.onLoop(com1.uart::transmitOverwrites));
            assertTrue(com1.engine.onLoop(com1.backend::refusedWrites) > 0);
        }
    }

    @Test
    void aFullFifoOverwritesTheOldestByteAsQemuDoes() {
        try (UartHarness com1 = new UartHarness(loop -> FakeBackend.slow(loop, 10_000_000_000L))) {
            com1.out(FCR, FCR_FIFO_ENABLE);
            for (int i = 0; i < FIFO_BYTES + 2; i++) {
                com1.out(THR, i);
            }
            assertEquals(0, com1.in(LSR) & (LSR_THRE | LSR_TEMT));
            assertEquals(1, com1.engine.onLoop(com1.uart::transmitOverwrites), "byte 0 left at once; 1 was overwritten");
            assertArrayEquals(new byte[] {0}, com1.output());
            com1.out(FCR, FCR_FIFO_ENABLE | FCR_XMIT_FIFO_RESET);
            assertEquals(LSR_THRE | LSR_TEMT, com1.in(LSR));
        }
    }
}
