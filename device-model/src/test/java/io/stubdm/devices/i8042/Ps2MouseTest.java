package io.stubdm.devices.i8042;

import static io.stubdm.devices.i8042.I8042.AUX_IRQ;
import static io.stubdm.devices.i8042.I8042.CB_AUX_INT;
import static io.stubdm.devices.i8042.I8042.CB_KBD_DISABLE;
import static io.stubdm.devices.i8042.I8042.CMD_WRITE_AUX;
import static io.stubdm.devices.i8042.I8042.KBD_IRQ;
import static io.stubdm.devices.i8042.I8042.STATUS_OBF;
import static io.stubdm.devices.i8042.Ps2Mouse.*;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The mouse behind the auxiliary port, driven through 0xD4 as psm and psmouse drive it. */
class Ps2MouseTest {
    private static final int ACK = Ps2Device.ACK;

    private final I8042Rig rig = new I8042Rig();

    @BeforeEach
    void openAuxPort() {
        rig.writeCommandByte(CB_AUX_INT | CB_KBD_DISABLE);
    }

    @AfterEach
    void close() {
        rig.close();
    }

    /** Each byte through 0xD4 and its first reply, as a driver waits for each ACK before the next byte. */
    private int[] send(int... bytes) {
        int[] replies = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            rig.command(CMD_WRITE_AUX);
            rig.write(bytes[i]);
            replies[i] = rig.readAux();
        }
        return replies;
    }

    private int[] read(int n) {
        int[] got = new int[n];
        for (int i = 0; i < n; i++) {
            got[i] = rig.readAux();
        }
        return got;
    }

    private void enableReporting() {
        assertArrayEquals(new int[] {ACK}, send(CMD_ENABLE_REPORTING));
    }

    @Test
    void resetAndIdentify() {
        assertArrayEquals(new int[] {ACK}, send(CMD_RESET));
        assertArrayEquals(new int[] {SELF_TEST_PASSED, ID_STANDARD}, read(2));
        assertArrayEquals(new int[] {ACK}, send(CMD_GET_ID));
        assertEquals(ID_STANDARD, rig.readAux());
        rig.assertEmpty();
    }

    @Test
    void intelliMouseKnockIsTheLastThreeRates() {
        assertArrayEquals(new int[] {ACK, ACK, ACK, ACK, ACK, ACK, ACK, ACK},
                send(CMD_SET_SAMPLE_RATE, 200, CMD_SET_SAMPLE_RATE, 200, CMD_SET_SAMPLE_RATE, 100,
                        CMD_SET_SAMPLE_RATE, 80));
        assertArrayEquals(new int[] {ACK}, send(CMD_GET_ID));
        assertEquals(ID_INTELLIMOUSE, rig.readAux());
        send(CMD_RESET);
        read(2);
        send(CMD_GET_ID);
        assertEquals(ID_STANDARD, rig.readAux(), "reset forgets the wheel");
    }

    @Test
    void statusRequestReportsModeScalingButtonsResolutionAndRate() {
        send(CMD_SET_RESOLUTION, 1, CMD_SET_SAMPLE_RATE, 40, CMD_SET_SCALING_2_1);
        enableReporting();
        rig.mouse(m -> m.move(0, 0, BUTTON_LEFT | BUTTON_RIGHT));
        read(3);
        assertArrayEquals(new int[] {ACK}, send(CMD_STATUS_REQUEST));
        assertArrayEquals(new int[] {STATUS_REPORTING | STATUS_SCALING_2_1 | STATUS_LEFT | STATUS_RIGHT, 1, 40},
                read(3));
        send(CMD_SET_DEFAULTS, CMD_STATUS_REQUEST);
        assertArrayEquals(new int[] {STATUS_LEFT | STATUS_RIGHT, 2, 100}, read(3), "defaults: reporting off, 1:1");
    }

    @Test
    void streamPacketsAndTheirIrq12Edges() {
        enableReporting();
        int edges = rig.risingEdges(AUX_IRQ);
        rig.mouse(m -> m.move(-3, -4, BUTTON_MIDDLE));
        assertArrayEquals(new int[] {PACKET_ALWAYS_ONE | BUTTON_MIDDLE | PACKET_X_NEGATIVE, 0xfd, 4}, read(3));
        assertEquals(edges + 3, rig.risingEdges(AUX_IRQ));
        assertEquals(0, rig.irqLevel(KBD_IRQ), "mouse bytes never raise IRQ1");
        rig.mouse(m -> m.move(0, 0, 0)); // the button released: a packet without motion
        assertArrayEquals(new int[] {PACKET_ALWAYS_ONE, 0, 0}, read(3));
        rig.mouse(m -> m.move(0, 0, 0)); // nothing changed: nothing sent
        rig.assertEmpty();
    }

    @Test
    void largeMotionIsSplitAcrossPacketsAsTheGuestReads() {
        enableReporting();
        rig.mouse(m -> m.move(2000, 0, 0));
        int total = 0;
        int packets = 0;
        while ((rig.status() & STATUS_OBF) != 0) {
            int[] p = read(3);
            assertEquals(0, p[0] & PACKET_X_NEGATIVE);
            total += p[1];
            packets++;
        }
        assertEquals(2000, total);
        assertEquals(8, packets, "255 counts at most per packet");
    }

    @Test
    void scalingTwoToOne() {
        send(CMD_SET_SCALING_2_1);
        enableReporting();
        rig.mouse(m -> m.move(4, -5, 0));
        assertArrayEquals(new int[] {PACKET_ALWAYS_ONE, 6, 9}, read(3));
        rig.mouse(m -> m.move(-10, 0, 0));
        assertArrayEquals(new int[] {PACKET_ALWAYS_ONE | PACKET_X_NEGATIVE, 0xec, 0}, read(3));
    }

    @Test
    void motionWhileReportingIsOffIsNotReported() {
        rig.mouse(m -> m.move(7, 7, 0));
        rig.assertEmpty();
        enableReporting();
        rig.assertEmpty();
    }

    @Test
    void aCommandDiscardsUnreadPackets() {
        enableReporting();
        rig.mouse(m -> {
            m.move(1, 0, 0);
            m.move(2, 0, 0);
        });
        assertEquals(PACKET_ALWAYS_ONE, rig.readAux());
        // The next byte has moved into the controller's buffer; the four still in the mouse are dropped.
        rig.command(CMD_WRITE_AUX);
        rig.write(CMD_DISABLE_REPORTING);
        assertArrayEquals(new int[] {1, ACK}, read(2));
        rig.assertEmpty();
    }

    @Test
    void remoteModeIsPolled() {
        send(CMD_SET_REMOTE_MODE);
        enableReporting();
        rig.mouse(m -> m.move(9, 0, BUTTON_LEFT));
        rig.assertEmpty();
        assertArrayEquals(new int[] {ACK}, send(CMD_READ_DATA));
        assertArrayEquals(new int[] {PACKET_ALWAYS_ONE | BUTTON_LEFT, 9, 0}, read(3));
        rig.assertEmpty();
    }

    @Test
    void wheelBytePackets() {
        send(CMD_SET_SAMPLE_RATE, 200, CMD_SET_SAMPLE_RATE, 100, CMD_SET_SAMPLE_RATE, 80);
        enableReporting();
        rig.mouse(m -> m.move(0, 0, -20, 0));
        // -20 clicks: -8 per packet, the byte's range, until all are sent
        assertArrayEquals(new int[] {PACKET_ALWAYS_ONE, 0, 0, 0xf8, PACKET_ALWAYS_ONE, 0, 0, 0xf8,
            PACKET_ALWAYS_ONE, 0, 0, 0xfc}, read(12));
        rig.assertEmpty();
    }

    @Test
    void unknownCommandsAskForResend() {
        assertArrayEquals(new int[] {Ps2Device.RESEND}, send(0xe1));
        assertArrayEquals(new int[] {ACK}, send(CMD_GET_ID));
        rig.readAux();
        assertArrayEquals(new int[] {ID_STANDARD}, send(Ps2Device.RESEND), "resend repeats the ID byte");
    }
}
