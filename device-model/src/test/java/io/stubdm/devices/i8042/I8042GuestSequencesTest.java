package io.stubdm.devices.i8042;

import static io.stubdm.devices.i8042.I8042.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The 8042 under the probe and set-up sequences of SeaBIOS (src/hw/ps2port.c), FreeBSD (sys/dev/atkbdc/atkbd.c,
 * atkbdc.c, psm.c) and Linux (drivers/input/serio/i8042.c), replayed port by port through the ioreq engine.
 */
class I8042GuestSequencesTest {
    // SeaBIOS / Linux names for the command byte bits (include/linux/i8042.h).
    private static final int CTR_KBDINT = 0x01;
    private static final int CTR_AUXINT = 0x02;
    private static final int CTR_KBDDIS = 0x10;
    private static final int CTR_AUXDIS = 0x20;
    private static final int CTR_XLATE = 0x40;
    // FreeBSD's (sys/dev/atkbdc/atkbdcreg.h).
    private static final int KBD_KBD_CONTROL_BITS = 0x11;
    private static final int KBD_AUX_CONTROL_BITS = 0x22;
    private static final int KBD_DISABLE_KBD_PORT = 0x10;
    private static final int KBD_ENABLE_KBD_INT = 0x01;
    private static final int KBD_DISABLE_AUX_PORT = 0x20;
    private static final int KBD_ENABLE_AUX_INT = 0x02;
    private static final int KBD_TRANSLATION = 0x40;
    private static final int KBD_OVERRIDE_KBD_LOCK = 0x08;

    private final I8042Rig rig = new I8042Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    // ================================================================ SeaBIOS

    /** SeaBIOS ps2_recvbyte: bytes from the other port, or non-ACKs when an ACK is due, are discarded. */
    private int seabiosRecv(boolean aux, boolean needAck) {
        for (int i = 0; i < I8042Rig.POLLS; i++) {
            int s = rig.status();
            if ((s & STATUS_OBF) != 0) {
                int data = rig.data();
                if (((s & STATUS_AUX_OBF) != 0) == aux && (!needAck || data == 0xfa || data == 0xfe)) {
                    return data;
                }
            }
        }
        return -1;
    }

    private boolean seabiosSend(boolean aux, int b) {
        if (aux) {
            rig.i8042Command(0x10d4, b);
        } else {
            rig.write(b);
        }
        return seabiosRecv(aux, true) == 0xfa;
    }

    /** SeaBIOS __ps2_command: ports and interrupts off, the addressed port on, the command, the old CTR back. */
    private int[] seabiosPs2Command(int ps2ctr, boolean aux, int command, int... params) {
        int receive = (command >> 8) & 0xf;
        int newctr = (ps2ctr | CTR_AUXDIS | CTR_KBDDIS) & ~(CTR_KBDINT | CTR_AUXINT);
        rig.writeCommandByte(newctr);
        newctr &= aux ? ~CTR_AUXDIS : ~CTR_KBDDIS;
        rig.writeCommandByte(newctr);
        int[] got;
        if (command == 0x02ff) { // ATKBD_CMD_RESET_BAT: two bytes after the ACK, the second optional
            assertTrue(seabiosSend(aux, 0xff));
            got = new int[] {seabiosRecv(aux, false), seabiosRecv(aux, false)};
        } else {
            assertTrue(seabiosSend(aux, command & 0xff), String.format("command 0x%04x not acknowledged", command));
            for (int p : params) {
                assertTrue(seabiosSend(aux, p), String.format("parameter of 0x%04x not acknowledged", command));
            }
            got = new int[receive];
            for (int i = 0; i < receive; i++) {
                got[i] = seabiosRecv(aux, false);
            }
        }
        rig.writeCommandByte(ps2ctr);
        return got;
    }

    @Test
    void seabiosKeyboardSetupThenKeysAndInt16Services() {
        // ps2_keyboard_setup
        assertEquals(0, rig.flush());
        assertEquals(0x55, rig.i8042Command(0x01aa)[0], "I8042_CMD_CTL_TEST");
        assertEquals(STATUS_SYS, rig.status() & STATUS_SYS, "a passed self-test sets the system flag");
        assertEquals(0x00, rig.i8042Command(0x01ab)[0], "I8042_CMD_KBD_TEST");
        int ps2ctr = CTR_KBDDIS | CTR_AUXDIS;
        int kbdEdgesBefore = rig.risingEdges(KBD_IRQ);

        assertArrayEquals(new int[] {0xaa, -1}, seabiosPs2Command(ps2ctr, false, 0x02ff), "ATKBD_CMD_RESET_BAT");
        seabiosPs2Command(ps2ctr, false, 0x00f5); // ATKBD_CMD_RESET_DIS
        seabiosPs2Command(ps2ctr, false, 0x10f0, 0x02); // ATKBD_CMD_SSCANSET, set 2
        ps2ctr = CTR_AUXDIS | CTR_XLATE | CTR_KBDINT;
        seabiosPs2Command(ps2ctr, false, 0x00f4); // ATKBD_CMD_ENABLE
        assertEquals(kbdEdgesBefore, rig.risingEdges(KBD_IRQ), "commands run with KBDINT clear raise no IRQ1");
        assertEquals(ps2ctr, rig.readCommandByte());

        // A key: IRQ1 rises, handle_09 reads it, translated to set 1 ('A' is 0x1C in set 2, 0x1E in set 1).
        rig.keyboard(k -> k.keyEvent(0x1c, true));
        assertEquals(1, rig.irqLevel(KBD_IRQ));
        assertEquals(0, rig.status() & STATUS_AUX_OBF);
        assertEquals(0x1e, rig.data());
        assertEquals(0, rig.irqLevel(KBD_IRQ), "reading the byte drops IRQ1");
        rig.keyboard(k -> k.keyEvent(0x1c, false));
        assertEquals(0x9e, rig.data());

        // kbd.c: INT 16h AH=03 (ATKBD_CMD_SETREP) and the LED update (ATKBD_CMD_SETLEDS).
        seabiosPs2Command(ps2ctr, false, 0x10f3, 0x25);
        seabiosPs2Command(ps2ctr, false, 0x10ed, Ps2Keyboard.LED_NUM_LOCK | Ps2Keyboard.LED_CAPS_LOCK);
        assertEquals(0x25, rig.engine.onLoop(() -> rig.kbc.keyboard().typematic()));
        assertEquals(Ps2Keyboard.LED_NUM_LOCK | Ps2Keyboard.LED_CAPS_LOCK,
                rig.engine.onLoop(() -> rig.kbc.keyboard().leds()));
        rig.assertEmpty();
    }

    @Test
    void seabiosRebootPulsesResetLow() {
        // i8042_reboot writes 0xFE ten times; the first resets the machine.
        rig.command(0xfe);
        assertEquals(1, rig.resets.size());
        assertTrue(rig.resets.get(0).contains("0xfe"), rig.resets.get(0));
    }

    // ================================================================ FreeBSD atkbdc / atkbd / psm

    /** atkbdc.c wait_for_kbd_data + read_kbd_data: mouse bytes met on the way are queued for psm. */
    private final List<Integer> auxQueue = new ArrayList<>();

    private int bsdReadKbdData() {
        for (int i = 0; i < I8042Rig.POLLS; i++) {
            int s = rig.status() & (STATUS_OBF | STATUS_AUX_OBF);
            if (s == STATUS_OBF) {
                return rig.data();
            }
            if (s == (STATUS_OBF | STATUS_AUX_OBF)) {
                auxQueue.add(rig.data());
            }
        }
        return -1;
    }

    private int bsdReadAuxData() {
        if (!auxQueue.isEmpty()) {
            return auxQueue.remove(0);
        }
        for (int i = 0; i < I8042Rig.POLLS; i++) {
            int s = rig.status() & (STATUS_OBF | STATUS_AUX_OBF);
            if (s == (STATUS_OBF | STATUS_AUX_OBF)) {
                return rig.data();
            }
            if (s == STATUS_OBF) {
                rig.data(); // keyboard data in the way; atkbdc queues it for atkbd, nothing here wants it
            }
        }
        return -1;
    }

    private int bsdReadControllerData() {
        return rig.waitOutput() == -1 ? -1 : rig.data();
    }

    private void bsdEmptyBothBuffers() {
        auxQueue.clear();
        while ((rig.status() & STATUS_OBF) != 0) {
            rig.data();
        }
    }

    private int bsdGetCommandByte() {
        rig.command(CMD_READ_RAM);
        return bsdReadControllerData();
    }

    private void bsdSetCommandByte(int mask, int command) {
        int c = bsdGetCommandByte();
        assertNotEquals(-1, c);
        rig.command(CMD_WRITE_RAM);
        rig.write((c & ~mask) | command);
    }

    private boolean bsdTestController() {
        bsdEmptyBothBuffers();
        rig.command(CMD_SELF_TEST);
        return bsdReadControllerData() == 0x55;
    }

    private int bsdTestKbdPort() {
        bsdEmptyBothBuffers();
        rig.command(CMD_KBD_TEST);
        return bsdReadControllerData();
    }

    /** send_kbd_command: the byte, then the first ACK or RESEND among the keyboard's bytes. */
    private int bsdSendKbdCommand(int c) {
        rig.write(c);
        for (int i = 0; i < I8042Rig.POLLS; i++) {
            int b = bsdReadKbdData();
            if (b == 0xfa || b == 0xfe || b == -1) {
                return b;
            }
        }
        return -1;
    }

    private int bsdSendKbdCommandAndData(int c, int data) {
        int r = bsdSendKbdCommand(c);
        return r == 0xfa ? bsdSendKbdCommand(data) : r;
    }

    private int bsdSendAuxCommand(int c) {
        rig.command(CMD_WRITE_AUX);
        rig.write(c);
        for (int i = 0; i < I8042Rig.POLLS; i++) {
            int b = bsdReadAuxData();
            if (b == 0xfa || b == 0xfe || b == -1) {
                return b;
            }
        }
        return -1;
    }

    private int bsdSendAuxCommandAndData(int c, int data) {
        int r = bsdSendAuxCommand(c);
        return r == 0xfa ? bsdSendAuxCommand(data) : r;
    }

    @Test
    void freebsdAtkbdProbeAndInitKeyboard() {
        rig.writeCommandByte(CTR_AUXDIS | CTR_XLATE | CTR_KBDINT); // as SeaBIOS leaves it

        // probe_keyboard
        rig.command(CMD_KBD_DISABLE);
        bsdEmptyBothBuffers();
        int c = bsdGetCommandByte();
        assertEquals(CTR_AUXDIS | CTR_XLATE | CTR_KBDDIS | CTR_KBDINT, c, "0xAD sets the disable bit");
        assertTrue(bsdTestController(), "test_controller");
        assertEquals(0x00, bsdTestKbdPort(), "test_kbd_port");
        bsdSetCommandByte(KBD_KBD_CONTROL_BITS, 0); // get_kbd_echo: port on, interrupt off
        rig.write(Ps2Keyboard.CMD_ECHO);
        assertEquals(Ps2Keyboard.ECHO, bsdReadKbdData(), "keyboard echo");
        bsdSetCommandByte(KBD_KBD_CONTROL_BITS, KBD_ENABLE_KBD_INT);

        // init_keyboard
        int edges = rig.risingEdges(KBD_IRQ);
        rig.command(CMD_KBD_DISABLE);
        bsdEmptyBothBuffers();
        c = bsdGetCommandByte();
        bsdSetCommandByte(KBD_KBD_CONTROL_BITS, 0);
        // get_kbd_id
        bsdEmptyBothBuffers();
        assertEquals(0xfa, bsdSendKbdCommand(Ps2Keyboard.CMD_GET_ID));
        int id1 = bsdReadKbdData();
        int id2 = bsdReadKbdData();
        assertEquals(0x41ab, id2 << 8 | id1, "translated 101-key keyboard (KB_101)");
        // atkbd_reset -> reset_kbd
        assertEquals(0xfa, bsdSendKbdCommand(Ps2Keyboard.CMD_RESET));
        assertEquals(Ps2Keyboard.SELF_TEST_PASSED, bsdReadKbdData());
        bsdSetCommandByte(KBD_KBD_CONTROL_BITS | KBD_TRANSLATION | KBD_OVERRIDE_KBD_LOCK,
                (c & (KBD_TRANSLATION | KBD_OVERRIDE_KBD_LOCK)) | KBD_ENABLE_KBD_INT);
        assertEquals(edges, rig.risingEdges(KBD_IRQ), "no IRQ1 while the interrupt was off");

        // atkbd_attach: set_typematic and the LEDs, through write_kbd
        assertEquals(0xfa, bsdSendKbdCommandAndData(Ps2Keyboard.CMD_SET_TYPEMATIC, 0x00));
        assertEquals(0xfa, bsdSendKbdCommandAndData(Ps2Keyboard.CMD_SET_LEDS, Ps2Keyboard.LED_NUM_LOCK));
        // Each acknowledgement byte was one IRQ1 edge, now that the interrupt is on.
        assertEquals(edges + 4, rig.risingEdges(KBD_IRQ));

        // Typing: E0-prefixed right Ctrl comes as two translated bytes, each its own IRQ1 edge.
        edges = rig.risingEdges(KBD_IRQ);
        rig.keyboard(k -> k.keyEvent(Ps2Keyboard.EXTENDED | 0x14, true));
        assertEquals(0xe0, bsdReadKbdData());
        assertEquals(0x1d, bsdReadKbdData());
        assertEquals(edges + 2, rig.risingEdges(KBD_IRQ));
        assertEquals(0, rig.irqLevel(KBD_IRQ));
    }

    @Test
    void freebsdPsmProbeAndOpen() {
        rig.writeCommandByte(CTR_AUXDIS | CTR_XLATE | CTR_KBDINT);
        // psmprobe: keyboard off, aux port on with its interrupt off
        bsdEmptyBothBuffers();
        int commandByte = bsdGetCommandByte();
        bsdSetCommandByte(KBD_KBD_CONTROL_BITS | KBD_AUX_CONTROL_BITS, KBD_DISABLE_KBD_PORT);
        rig.command(CMD_AUX_ENABLE);
        rig.command(CMD_AUX_TEST);
        assertEquals(0x00, bsdReadControllerData(), "test_aux_port");
        // reset_aux_dev
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_RESET));
        assertEquals(Ps2Mouse.SELF_TEST_PASSED, bsdReadAuxData());
        assertEquals(Ps2Mouse.ID_STANDARD, bsdReadAuxData());
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_ENABLE_REPORTING));
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_DISABLE_REPORTING));
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_GET_ID));
        assertEquals(Ps2Mouse.ID_STANDARD, bsdReadAuxData(), "get_aux_id");
        // get_mouse_buttons: resolution 3, then the status request
        assertEquals(0xfa, bsdSendAuxCommandAndData(Ps2Mouse.CMD_SET_RESOLUTION, 3));
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_STATUS_REQUEST));
        assertArrayEquals(new int[] {0x00, 3, 100}, new int[] {bsdReadAuxData(), bsdReadAuxData(), bsdReadAuxData()});
        // enable_msintelli: 200, 100, 80, then the ID says IntelliMouse
        for (int rate : new int[] {200, 100, 80}) {
            assertEquals(0xfa, bsdSendAuxCommandAndData(Ps2Mouse.CMD_SET_SAMPLE_RATE, rate));
        }
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_GET_ID));
        assertEquals(Ps2Mouse.ID_INTELLIMOUSE, bsdReadAuxData());
        // enable_msexplorer's 200, 200, 80 knock is not answered: still an IntelliMouse
        for (int rate : new int[] {200, 200, 80}) {
            assertEquals(0xfa, bsdSendAuxCommandAndData(Ps2Mouse.CMD_SET_SAMPLE_RATE, rate));
        }
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_GET_ID));
        assertEquals(Ps2Mouse.ID_INTELLIMOUSE, bsdReadAuxData());
        // defaults, then the aux port closed again until psmopen
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_SET_SCALING_1_1));
        assertEquals(0xfa, bsdSendAuxCommandAndData(Ps2Mouse.CMD_SET_SAMPLE_RATE, 100));
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_SET_STREAM_MODE));
        bsdSetCommandByte(KBD_KBD_CONTROL_BITS | KBD_AUX_CONTROL_BITS,
                (commandByte & KBD_KBD_CONTROL_BITS) | KBD_DISABLE_AUX_PORT);
        assertEquals(0, rig.risingEdges(AUX_IRQ), "nothing raised IRQ12 with its interrupt off");

        // psmopen: aux port and interrupt on, reporting on; then the pointer moves
        bsdSetCommandByte(KBD_AUX_CONTROL_BITS, KBD_ENABLE_AUX_INT);
        assertEquals(0xfa, bsdSendAuxCommand(Ps2Mouse.CMD_ENABLE_REPORTING));
        int edges = rig.risingEdges(AUX_IRQ);
        rig.mouse(m -> m.move(5, 3, 1, Ps2Mouse.BUTTON_LEFT));
        assertEquals(1, rig.irqLevel(AUX_IRQ));
        int[] packet = {rig.readAux(), rig.readAux(), rig.readAux(), rig.readAux()};
        assertArrayEquals(new int[] {0x08 | Ps2Mouse.BUTTON_LEFT | Ps2Mouse.PACKET_Y_NEGATIVE, 5, 0xfd, 1}, packet,
                "IntelliMouse packet: left button, right 5, down 3 (PS/2 Y points up), wheel 1");
        assertEquals(edges + 4, rig.risingEdges(AUX_IRQ), "one IRQ12 edge per packet byte");
        assertEquals(0, rig.irqLevel(AUX_IRQ));
        rig.assertEmpty();
    }

    // ================================================================ Linux i8042

    @Test
    void linuxControllerCheckSelftestAndInit() {
        rig.keyboard(k -> k.keyEvent(0x1c, true)); // stale input at boot
        assertTrue(rig.flush() < 16, "i8042_controller_check: a controller that empties");
        assertArrayEquals(new int[] {0x55}, rig.i8042Command(0x01aa), "i8042_controller_selftest");
        // i8042_controller_init: keyboard port and interrupt off, translation kept
        int ctr = rig.readCommandByte();
        ctr = (ctr | CTR_KBDDIS) & ~CTR_KBDINT;
        assertEquals(STATUS_UNLOCKED, rig.status() & STATUS_UNLOCKED, "no keylock warning");
        rig.writeCommandByte(ctr);
        assertEquals(ctr, rig.readCommandByte());
    }

    @Test
    void linuxCheckAuxLoopbackToggleAndIrqTest() {
        rig.writeCommandByte(CTR_AUXDIS | CTR_XLATE | CTR_KBDINT);
        int ctr = (rig.readCommandByte() | CTR_KBDDIS) & ~CTR_KBDINT;
        rig.writeCommandByte(ctr);

        // i8042_check_mux -> i8042_set_mux_mode(1): a loopback that echoes 0xA4 is no active multiplexer
        assertEquals(0, rig.flush());
        assertEquals(0xf0, rig.i8042Command(0x11d3, 0xf0)[0]);
        assertEquals(0x56, rig.i8042Command(0x11d3, 0x56)[0]);
        assertEquals(0xa4, rig.i8042Command(0x11d3, 0xa4)[0], "not a MUX: Linux stays in legacy mode");

        // i8042_check_aux: loopback
        rig.flush();
        assertEquals(0x5a, rig.i8042Command(0x11d3, 0x5a)[0], "I8042_CMD_AUX_LOOP");
        // i8042_toggle_aux(0) and (1): the CTR's AUXDIS bit follows 0xA7/0xA8
        rig.i8042Command(0x00a7);
        assertEquals(CTR_AUXDIS, rig.readCommandByte() & CTR_AUXDIS);
        rig.i8042Command(0x00a8);
        assertEquals(0, rig.readCommandByte() & CTR_AUXDIS);
        // i8042_enable_aux_port, then the IRQ delivery test: 0xD3 0xA5 without reading it back
        ctr = (ctr & ~CTR_AUXDIS) | CTR_AUXINT;
        rig.writeCommandByte(ctr);
        int edges = rig.risingEdges(AUX_IRQ);
        rig.i8042Command(0x10d3, 0xa5);
        assertEquals(edges + 1, rig.risingEdges(AUX_IRQ), "IRQ12 delivered");
        assertEquals(1, rig.irqLevel(AUX_IRQ));
        assertEquals(0, rig.irqLevel(KBD_IRQ));
        // i8042_aux_test_irq
        int str = rig.status();
        assertEquals(STATUS_OBF | STATUS_AUX_OBF, str & (STATUS_OBF | STATUS_AUX_OBF));
        assertEquals(0xa5, rig.data());
        assertEquals(0, rig.irqLevel(AUX_IRQ));
        // and the interface closed again
        ctr = (ctr | CTR_AUXDIS) & ~CTR_AUXINT;
        rig.writeCommandByte(ctr);
        assertEquals(ctr, rig.readCommandByte());
    }

    @Test
    void linuxAtkbdProbeWithAndWithoutTranslation() {
        // atkbd_probe: ATKBD_CMD_GETID through the translating controller
        rig.writeCommandByte(CTR_XLATE | CTR_AUXDIS);
        rig.write(Ps2Keyboard.CMD_GET_ID);
        assertArrayEquals(new int[] {0xfa, 0xab, 0x41}, new int[] {rig.readKbd(), rig.readKbd(), rig.readKbd()});
        // i8042.direct=1: the keyboard's own ID
        rig.writeCommandByte(CTR_AUXDIS);
        rig.write(Ps2Keyboard.CMD_GET_ID);
        assertArrayEquals(new int[] {0xfa, 0xab, 0x83}, new int[] {rig.readKbd(), rig.readKbd(), rig.readKbd()});
        // atkbd_select_set: set 3 is refused, GSCANSET reports set 2
        rig.write(Ps2Keyboard.CMD_SCANCODE_SET);
        assertEquals(0xfa, rig.readKbd());
        rig.write(3);
        assertEquals(Ps2Device.RESEND, rig.readKbd());
        rig.write(Ps2Keyboard.CMD_SCANCODE_SET);
        assertEquals(0xfa, rig.readKbd());
        rig.write(0);
        assertArrayEquals(new int[] {0xfa, 0x02}, new int[] {rig.readKbd(), rig.readKbd()});
        // atkbd_activate
        rig.write(Ps2Keyboard.CMD_ENABLE);
        assertEquals(0xfa, rig.readKbd());
        rig.assertEmpty();
    }
}
