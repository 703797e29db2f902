package io.stubdm.devices.i8042;

import static io.stubdm.devices.i8042.I8042.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The controller and the keyboard one behaviour at a time, through the ioreq engine. */
class I8042Test {
    private final I8042Rig rig = new I8042Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    private int[] readKbd(int n) {
        int[] got = new int[n];
        for (int i = 0; i < n; i++) {
            got[i] = rig.readKbd();
        }
        return got;
    }

    @Test
    void powerOnState() {
        assertEquals(STATUS_CMD | STATUS_UNLOCKED, rig.status());
        assertEquals(CB_KBD_INT | CB_AUX_INT, rig.readCommandByte());
        assertEquals(0xcf, rig.i8042Command(0x01d0)[0] & ~(OUT_KBD_IRQ | OUT_AUX_IRQ), "reset off, A20 on");
        assertTrue(rig.kbc.a20Enabled());
    }

    @Test
    void statusTracksWhichPortWasWrittenLast() {
        rig.command(CMD_KBD_ENABLE);
        assertEquals(STATUS_CMD, rig.status() & STATUS_CMD);
        rig.write(Ps2Keyboard.CMD_ECHO);
        assertEquals(0, rig.status() & STATUS_CMD);
    }

    @Test
    void everyQueuedByteIsItsOwnIrq1Edge() {
        rig.writeCommandByte(CB_KBD_INT | CB_TRANSLATE);
        rig.keyboard(k -> {
            k.keyEvent(0x1c, true);
            k.keyEvent(0x1c, false);
            k.keyEvent(0x32, true);
        });
        // Three translated bytes (the break prefix is absorbed): the line rises three times, low between.
        assertEquals(List.of(1), rig.irqLevels(KBD_IRQ));
        assertArrayEquals(new int[] {0x1e, 0x9e, 0x30}, readKbd(3));
        assertEquals(List.of(1, 0, 1, 0, 1, 0), rig.irqLevels(KBD_IRQ));
        assertEquals(3, rig.risingEdges(KBD_IRQ));
        // The buffer keeps its last byte for a reader that comes again (QEMU obdata).
        assertEquals(0x30, rig.data());
        assertEquals(3, rig.risingEdges(KBD_IRQ));
    }

    @Test
    void irq1FollowsTheInterruptBitAndThePortEnable() {
        rig.writeCommandByte(0);
        rig.keyboard(k -> k.keyEvent(0x1c, true));
        assertEquals(STATUS_OBF, rig.status() & STATUS_OBF);
        assertEquals(0, rig.irqLevel(KBD_IRQ), "KBD_INT clear: polled, no interrupt");
        rig.writeCommandByte(CB_KBD_INT); // the byte is still waiting: enabling the interrupt raises the line
        assertEquals(1, rig.irqLevel(KBD_IRQ));
        rig.command(CMD_KBD_DISABLE);
        assertEquals(0, rig.irqLevel(KBD_IRQ), "a disabled keyboard port raises no IRQ1");
        rig.command(CMD_KBD_ENABLE);
        assertEquals(1, rig.irqLevel(KBD_IRQ));
        assertEquals(0x1c, rig.data());
        assertEquals(0, rig.irqLevel(KBD_IRQ));
    }

    @Test
    void aDisabledKeyboardPortHoldsKeysUntilEnabled() {
        rig.command(CMD_KBD_DISABLE);
        rig.keyboard(k -> k.keyEvent(0x1c, true));
        rig.assertEmpty();
        assertEquals(0, rig.risingEdges(KBD_IRQ));
        rig.command(CMD_KBD_ENABLE);
        assertEquals(1, rig.irqLevel(KBD_IRQ));
        assertEquals(0x1c, rig.readKbd());
    }

    @Test
    void controllerRepliesComeBeforeDeviceBytes() {
        rig.writeCommandByte(0);
        rig.keyboard(k -> {
            k.keyEvent(0x1c, true);
            k.keyEvent(0x32, true);
        });
        // 0x1C is already in the output buffer; the command byte overtakes 0x32.
        rig.command(CMD_READ_RAM);
        assertArrayEquals(new int[] {0x1c, 0x00, 0x32}, readKbd(3));
    }

    @Test
    void keyboardRepliesOvertakeQueuedKeys() {
        rig.writeCommandByte(CB_KBD_DISABLE);
        rig.keyboard(k -> {
            k.keyEvent(0x58, true); // Caps Lock
            k.keyEvent(0x58, false);
        });
        // The LED update a driver sends on Caps Lock: its ACKs come first, the release is kept, not lost.
        rig.write(Ps2Keyboard.CMD_SET_LEDS);
        assertEquals(0xfa, rig.readKbd());
        rig.write(Ps2Keyboard.LED_CAPS_LOCK);
        assertArrayEquals(new int[] {0xfa, 0x58, 0xf0, 0x58}, readKbd(4));
        rig.assertEmpty();
    }

    @Test
    void translationFollowsTheCommandByte() {
        rig.writeCommandByte(CB_TRANSLATE);
        rig.keyboard(k -> {
            k.keyEvent(Ps2Keyboard.EXTENDED | 0x14, true); // right Ctrl
            k.keyEvent(Ps2Keyboard.EXTENDED | 0x14, false);
            k.keyEvent(0x76, true); // Esc
            k.keyEvent(Ps2Keyboard.PAUSE, true);
            k.keyEvent(Ps2Keyboard.PAUSE, false);
        });
        assertArrayEquals(new int[] {0xe0, 0x1d, 0xe0, 0x9d, 0x01, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5}, readKbd(11));
        rig.assertEmpty();

        rig.writeCommandByte(0);
        rig.keyboard(k -> {
            k.keyEvent(Ps2Keyboard.EXTENDED | 0x14, true);
            k.keyEvent(Ps2Keyboard.EXTENDED | 0x14, false);
        });
        assertArrayEquals(new int[] {0xe0, 0x14, 0xe0, 0xf0, 0x14}, readKbd(5));
        rig.assertEmpty();
    }

    @Test
    void scanCodeSetOneWithoutTranslation() {
        rig.writeCommandByte(0);
        rig.write(Ps2Keyboard.CMD_SCANCODE_SET);
        rig.write(1);
        assertArrayEquals(new int[] {0xfa, 0xfa}, readKbd(2));
        rig.keyboard(k -> {
            k.keyEvent(0x1c, true);
            k.keyEvent(0x1c, false);
        });
        assertArrayEquals(new int[] {0x1e, 0x9e}, readKbd(2));
        rig.write(Ps2Keyboard.CMD_SCANCODE_SET);
        rig.write(0);
        assertArrayEquals(new int[] {0xfa, 0xfa, 0x01}, readKbd(3));
    }

    @Test
    void keyboardCommandReplies() {
        rig.writeCommandByte(CB_TRANSLATE);
        rig.write(Ps2Keyboard.CMD_RESET);
        assertArrayEquals(new int[] {0xfa, 0xaa}, readKbd(2));
        rig.write(Ps2Keyboard.CMD_ECHO);
        assertEquals(0xee, rig.readKbd());
        rig.write(Ps2Keyboard.CMD_SCANCODE_SET);
        rig.write(0);
        assertArrayEquals(new int[] {0xfa, 0xfa, 0x41}, readKbd(3), "set 2, as a translating controller shows it");
        rig.write(0x00);
        assertEquals(Ps2Device.RESEND, rig.readKbd(), "unknown command");
        rig.write(Ps2Keyboard.CMD_ECHO);
        rig.readKbd();
        rig.write(Ps2Device.RESEND);
        assertEquals(0xee, rig.readKbd(), "resend repeats the last byte sent");
        rig.assertEmpty();
    }

    @Test
    void disabledScanningIgnoresKeysUntilEnabled() {
        rig.writeCommandByte(0);
        rig.write(Ps2Keyboard.CMD_DEFAULT_DISABLE);
        assertEquals(0xfa, rig.readKbd());
        rig.keyboard(k -> k.keyEvent(0x1c, true));
        rig.assertEmpty();
        rig.write(Ps2Keyboard.CMD_ENABLE);
        assertEquals(0xfa, rig.readKbd());
        rig.keyboard(k -> k.keyEvent(0x1c, true));
        assertEquals(0x1c, rig.readKbd());
    }

    @Test
    void keysBeyondTheSixteenByteBufferWaitInOrderAndOnlyAFloodIsDropped() {
        rig.writeCommandByte(CB_KBD_DISABLE);
        rig.keyboard(k -> {
            for (int i = 0; i < 15; i++) {
                k.keyEvent(0x15 + i, true);
            }
            k.keyEvent(0x1c, false); // two bytes, one free: waits whole, and so do the keys after it
            k.keyEvent(0x1d, true);
            k.keyEvent(0x1e, true);
        });
        assertEquals(0L, rig.engine.onLoop(() -> rig.kbc.keyboard().droppedBytes()));
        assertEquals(4, (int) rig.engine.onLoop(() -> rig.kbc.keyboard().typeaheadBytes()));
        rig.command(CMD_KBD_ENABLE);
        int[] got = readKbd(15 + 4);
        assertEquals(0x15, got[0]);
        assertEquals(0x23, got[14]);
        assertArrayEquals(new int[] {0xf0, 0x1c, 0x1d, 0x1e}, java.util.Arrays.copyOfRange(got, 15, 19));
        rig.assertEmpty();

        // A flood no guest reads: the buffer, then the typeahead fill up; what comes after is counted, not kept.
        rig.writeCommandByte(CB_KBD_DISABLE);
        int events = Ps2Device.QUEUE_BYTES + Ps2Keyboard.TYPEAHEAD_BYTES + 10;
        rig.keyboard(k -> {
            for (int i = 0; i < events; i++) {
                k.keyEvent(0x1c, true);
            }
        });
        assertEquals(10L, rig.engine.onLoop(() -> rig.kbc.keyboard().droppedBytes()));
        assertEquals(Ps2Keyboard.TYPEAHEAD_BYTES, (int) rig.engine.onLoop(() -> rig.kbc.keyboard().typeaheadBytes()));
        rig.keyboard(k -> k.receive(Ps2Keyboard.CMD_RESET)); // a reset forgets what was typed ahead
        assertEquals(0, (int) rig.engine.onLoop(() -> rig.kbc.keyboard().typeaheadBytes()));
    }

    @Test
    void keyEventsRejectWhatIsNoKeyCode() {
        for (int bad : new int[] {0, 0xe0, 0xf0, 0x1ff, Ps2Keyboard.EXTENDED, 0x12345}) {
            assertThrows(IllegalArgumentException.class, () -> rig.keyboard(k -> k.keyEvent(bad, true)),
                    Integer.toHexString(bad));
        }
    }

    @Test
    void systemResetThroughPowerControl() {
        rig.command(CMD_SYSTEM_RESET);
        assertEquals(1, rig.resets.size(), "0xFE pulses the reset line");
        rig.command(0xf0); // pulses bits 3:0, bit 0 among them
        assertEquals(2, rig.resets.size());
        rig.command(0xff); // pulses nothing
        rig.command(0xfd); // pulses bit 1 only
        assertEquals(2, rig.resets.size());
        rig.command(CMD_WRITE_OUTPUT_PORT);
        rig.write(0xde); // bit 0 low: the CPU held in reset
        assertEquals(3, rig.resets.size());
        assertEquals(CB_KBD_INT | CB_AUX_INT, rig.readCommandByte(), "the machine reset the controller too");
    }

    @Test
    void a20ThroughTheOutputPort() {
        rig.command(CMD_WRITE_OUTPUT_PORT);
        rig.write(0xdd);
        assertFalse(rig.kbc.a20Enabled());
        assertEquals(0xdd & ~(OUT_KBD_IRQ | OUT_AUX_IRQ), rig.i8042Command(0x01d0)[0]);
        rig.command(CMD_WRITE_OUTPUT_PORT);
        rig.write(0xdf);
        assertTrue(rig.kbc.a20Enabled());
        rig.command(CMD_A20_OFF);
        assertFalse(rig.kbc.a20Enabled());
        rig.command(CMD_A20_ON);
        assertTrue(rig.kbc.a20Enabled());
        assertTrue(rig.resets.isEmpty());
    }

    @Test
    void outputPortShowsTheIrqPins() {
        rig.writeCommandByte(CB_KBD_INT);
        rig.keyboard(k -> k.keyEvent(0x1c, true));
        rig.command(CMD_READ_OUTPUT_PORT); // read while the key byte holds IRQ1 high, answered after it
        assertEquals(0x1c, rig.readKbd());
        assertEquals(OUT_KBD_IRQ, rig.readKbd() & (OUT_KBD_IRQ | OUT_AUX_IRQ));
        rig.command(CMD_READ_OUTPUT_PORT);
        assertEquals(0, rig.readKbd() & (OUT_KBD_IRQ | OUT_AUX_IRQ), "nothing was pending");
    }

    @Test
    void controllerTestsAndPorts() {
        assertEquals(0x00, rig.i8042Command(0x01a9)[0], "aux interface test");
        assertEquals(0x00, rig.i8042Command(0x01ab)[0], "keyboard interface test");
        assertEquals(0x80, rig.i8042Command(0x01c0)[0], "input port");
        assertEquals(0x00, rig.i8042Command(0x01e0)[0], "test inputs");
        assertEquals(0, rig.status() & STATUS_SYS);
        assertEquals(0x55, rig.i8042Command(0x01aa)[0]);
        assertEquals(STATUS_SYS, rig.status() & STATUS_SYS);
        rig.writeCommandByte(CB_KBD_INT); // SYS clear in the command byte clears the flag (IBM PS/2 reference)
        assertEquals(0, rig.status() & STATUS_SYS);
        rig.writeCommandByte(CB_KBD_INT | CB_SYS);
        assertEquals(STATUS_SYS, rig.status() & STATUS_SYS);
    }

    @Test
    void controllerRamBeyondTheCommandByte() {
        rig.i8042Command(0x107f, 0x5a);
        assertEquals(0x5a, rig.i8042Command(0x013f)[0]);
        assertEquals(0x00, rig.i8042Command(0x0121)[0]);
    }

    @Test
    void aCommandAbandonsOneWaitingForData() {
        rig.writeCommandByte(0);
        rig.command(CMD_WRITE_RAM);
        rig.command(CMD_KBD_TEST);
        assertEquals(0x00, rig.readKbd());
        rig.write(Ps2Keyboard.CMD_ECHO); // goes to the keyboard, not into the command byte
        assertEquals(0xee, rig.readKbd());
        assertEquals(0x00, rig.readCommandByte());
    }

    @Test
    void writeKeyboardOutputBufferComesBackAsKeyboardData() {
        rig.writeCommandByte(CB_KBD_INT | CB_TRANSLATE);
        rig.i8042Command(0x10d2, 0x1c);
        assertEquals(1, rig.irqLevel(KBD_IRQ));
        assertEquals(0x1c, rig.readKbd(), "not translated: the controller made it");
    }

    @Test
    void machineResetEmptiesEverythingAndDropsTheLines() {
        rig.writeCommandByte(CB_KBD_INT | CB_AUX_INT);
        rig.keyboard(k -> k.keyEvent(0x1c, true));
        assertEquals(1, rig.irqLevel(KBD_IRQ));
        rig.engine.onLoop(rig.kbc::reset);
        assertEquals(0, rig.irqLevel(KBD_IRQ));
        rig.assertEmpty();
        assertEquals(CB_KBD_INT | CB_AUX_INT, rig.readCommandByte());
    }
}
