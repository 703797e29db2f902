package io.stubdm.devices.serial;

import static io.stubdm.devices.serial.Uart16550.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A guest that writes random values to random registers, with host input and a slow backend in play. */
class Uart16550FuzzTest {
    private static final Set<Integer> IIR_IDS = Set.of(IIR_NO_INTERRUPT, IIR_RX_LINE_STATUS, IIR_RX_TIMEOUT,
            IIR_RX_DATA, IIR_THR_EMPTY, IIR_MODEM_STATUS);

    @Test
    void randomRegisterTrafficLeavesTheUartConsistent() {
        long seed = 0x16550L;
        Random random = new Random(seed);
        try (UartHarness com1 = new UartHarness(loop -> FakeBackend.slow(loop, 20_000L))) {
            for (int i = 0; i < 5000; i++) {
                int reg = random.nextInt(8);
                String where = "seed " + seed + " step " + i + " register " + reg;
                if (random.nextBoolean()) {
                    com1.out(reg, random.nextInt(256));
                } else {
                    int v = com1.in(reg);
                    assertEquals(v & 0xff, v, where);
                    if (reg == IIR) {
                        assertTrue(IIR_IDS.contains(v & IIR_ID_MASK), where + ": IIR " + Integer.toHexString(v));
                        assertEquals(0, v & 0x30, where);
                        assertTrue((v & 0xc0) == 0 || (v & 0xc0) == 0xc0, where);
                    } else if (reg == MCR) {
                        assertEquals(0, v & 0xe0, where);
                    }
                }
                if (random.nextInt(50) == 0) {
                    byte[] input = new byte[random.nextInt(40)];
                    random.nextBytes(input);
                    com1.send(input);
                }
                if (random.nextInt(500) == 0) {
                    com1.engine.onLoop(com1.uart::reset);
                }
            }
            assertEquals(0, com1.engine.loop().failures(), "nothing the guest did made the device throw");

            // The loop still serves, and a driver can take the UART over from whatever state it was left in.
            com1.out(LCR, 0x03);
            com1.out(IER, 0);
            com1.out(MCR, MCR_OUT2);
            com1.out(FCR, FCR_FIFO_ENABLE | FCR_RCVR_FIFO_RESET | FCR_XMIT_FIFO_RESET);
            FreeBsdUart bsd = new FreeBsdUart(com1);
            bsd.clrint();
            assertEquals(0, com1.in(IER) & 0xf0);
            com1.out(IER, 0x0f);
            assertEquals(0x0f, com1.in(IER));
            UartHarness.pollUntil("the transmitter to drain", () -> (com1.in(LSR) & LSR_TEMT) != 0);
            com1.out(IER, 0);
            com1.out(FCR, FCR_FIFO_ENABLE | FCR_RCVR_FIFO_RESET);
            bsd.clrint();
            com1.in(LSR);
            com1.in(MSR);
            assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, com1.in(IIR));
            assertFalse(com1.irq());
        }
    }
}
