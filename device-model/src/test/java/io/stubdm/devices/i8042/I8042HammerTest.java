package io.stubdm.devices.i8042;

import static io.stubdm.devices.i8042.I8042.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A guest writing random bytes to both ports and reading them at random, with the host typing and moving the
 * pointer in between: nothing may throw, the status register must stay self-consistent, the interrupt lines must
 * agree with it, and afterwards the controller must still pass a self-test.
 */
class I8042HammerTest {
    private static final int ITERATIONS = 20_000;
    private static final int STATUS_NEVER = STATUS_IBF | STATUS_TIMEOUT | STATUS_PARITY_ERROR;

    @Test
    void randomAccessesLeaveTheControllerConsistent() {
        for (long seed : new long[] {0x8042L, 42L, 7L}) {
            try (I8042Rig rig = new I8042Rig()) {
                hammer(rig, new Random(seed));
                assertRecovers(rig);
            }
        }
    }

    private static void hammer(I8042Rig rig, Random random) {
        for (int i = 0; i < ITERATIONS; i++) {
            switch (random.nextInt(8)) {
                case 0:
                case 1:
                    assertSane(rig, rig.status(), i);
                    break;
                case 2:
                case 3:
                    rig.data();
                    break;
                case 4:
                    rig.cpu.outb(COMMAND_PORT, random.nextInt(256));
                    break;
                case 5:
                case 6:
                    rig.cpu.outb(DATA_PORT, random.nextInt(256));
                    break;
                default:
                    hostInput(rig, random);
            }
        }
    }

    private static void hostInput(I8042Rig rig, Random random) {
        if (random.nextBoolean()) {
            int key;
            do {
                key = 1 + random.nextInt(0xff);
            } while (key == 0xe0 || key == 0xe1 || key == 0xf0);
            int code = random.nextInt(4) == 0 ? Ps2Keyboard.EXTENDED | key : key;
            boolean down = random.nextBoolean();
            rig.keyboard(k -> k.keyEvent(code, down));
        } else {
            int dx = random.nextInt(1001) - 500;
            int dy = random.nextInt(1001) - 500;
            int dz = random.nextInt(5) - 2;
            int buttons = random.nextInt(8);
            rig.mouse(m -> m.move(dx, dy, dz, buttons));
        }
    }

    private static void assertSane(I8042Rig rig, int status, int iteration) {
        String where = String.format("iteration %d, status 0x%02x", iteration, status);
        assertEquals(0, status & STATUS_NEVER, where);
        assertEquals(STATUS_UNLOCKED, status & STATUS_UNLOCKED, where);
        boolean full = (status & STATUS_OBF) != 0;
        boolean aux = (status & STATUS_AUX_OBF) != 0;
        assertTrue(full || !aux, "mouse flag without a byte: " + where);
        if (rig.irqLevel(KBD_IRQ) == 1) {
            assertTrue(full && !aux, "IRQ1 high without a keyboard byte: " + where);
        }
        if (rig.irqLevel(AUX_IRQ) == 1) {
            assertTrue(full && aux, "IRQ12 high without a mouse byte: " + where);
        }
    }

    /** What a driver does to take over a controller in an unknown state: flush, then self-test. */
    private static void assertRecovers(I8042Rig rig) {
        rig.cpu.outb(COMMAND_PORT, CMD_KBD_DISABLE); // also abandons a command waiting for its data byte
        rig.cpu.outb(COMMAND_PORT, CMD_AUX_DISABLE);
        int flushed = 0;
        while ((rig.status() & STATUS_OBF) != 0) {
            rig.data();
            assertTrue(++flushed <= 2, "a disabled controller holds at most the byte it had and one reply");
        }
        assertEquals(0, rig.irqLevel(KBD_IRQ));
        assertEquals(0, rig.irqLevel(AUX_IRQ));
        assertEquals(SELF_TEST_PASSED, rig.i8042Command(0x01aa)[0]);
        assertEquals(0x00, rig.i8042Command(0x01ab)[0]);
        rig.assertEmpty();
    }
}
