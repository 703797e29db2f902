package io.stubdm.devices.i8042;

/**
 * A PS/2 mouse behind the 8042's auxiliary port, with the IntelliMouse wheel: it answers GET ID with 0x00 until
 * the guest sets the sample rate to 200, 100 and 80 in a row (Microsoft's IntelliMouse knock, which Linux
 * psmouse and FreeBSD psm both send), and with 0x03 after that, when its packets grow a fourth byte for the
 * wheel.
 *
 * <p>Motion from the host ({@link #move}) is accumulated and, in stream mode with reporting enabled, sent as
 * packets of at most 255 counts per axis (the 9-bit range the packet's sign bits give), as many as fit the
 * queue; the rest follows as the guest reads. Any command from the guest discards packets it has not read yet:
 * replies overtake queued packets, so older packets would otherwise arrive after the ACK, when the guest
 * believes reporting stopped or, after the knock, expects the longer packet.
 *
 * <p>Commands follow IBM's PS/2 mouse interface and QEMU's hw/input/ps2.c.
 */
public final class Ps2Mouse extends Ps2Device {
    public static final int CMD_SET_SCALING_1_1 = 0xE6;
    public static final int CMD_SET_SCALING_2_1 = 0xE7;
    public static final int CMD_SET_RESOLUTION = 0xE8;
    /** Replies with the status byte, the resolution and the sample rate after the ACK. */
    public static final int CMD_STATUS_REQUEST = 0xE9;
    public static final int CMD_SET_STREAM_MODE = 0xEA;
    /** Replies with a packet after the ACK (how remote mode is polled). */
    public static final int CMD_READ_DATA = 0xEB;
    public static final int CMD_SET_REMOTE_MODE = 0xF0;
    public static final int CMD_GET_ID = 0xF2;
    public static final int CMD_SET_SAMPLE_RATE = 0xF3;
    public static final int CMD_ENABLE_REPORTING = 0xF4;
    public static final int CMD_DISABLE_REPORTING = 0xF5;
    public static final int CMD_SET_DEFAULTS = 0xF6;
    public static final int CMD_RESET = 0xFF;

    public static final int SELF_TEST_PASSED = 0xAA;
    public static final int ID_STANDARD = 0x00;
    public static final int ID_INTELLIMOUSE = 0x03;

    /** Button bits of {@link #move}, in the order of a packet's first byte. */
    public static final int BUTTON_LEFT = 0x01;
    public static final int BUTTON_RIGHT = 0x02;
    public static final int BUTTON_MIDDLE = 0x04;

    /** Status byte ({@link #CMD_STATUS_REQUEST}): the buttons come in another order there. */
    public static final int STATUS_RIGHT = 0x01;
    public static final int STATUS_MIDDLE = 0x02;
    public static final int STATUS_LEFT = 0x04;
    public static final int STATUS_SCALING_2_1 = 0x10;
    public static final int STATUS_REPORTING = 0x20;
    public static final int STATUS_REMOTE = 0x40;

    /** First packet byte: bit 3 always set, bits 4 and 5 the signs of X and Y. */
    public static final int PACKET_ALWAYS_ONE = 0x08;
    public static final int PACKET_X_NEGATIVE = 0x10;
    public static final int PACKET_Y_NEGATIVE = 0x20;

    private static final int DEFAULT_SAMPLE_RATE = 100;
    /** 4 counts per mm. */
    private static final int DEFAULT_RESOLUTION = 2;
    private static final int MAX_DELTA = 255;
    /** The IntelliMouse wheel byte carries -8..7. */
    private static final int MIN_WHEEL = -8;
    private static final int MAX_WHEEL = 7;
    /** Bounds what accumulates while the guest does not read, so the sums cannot overflow. */
    private static final int MAX_PENDING = 1 << 16;
    private static final int[] SCALED_2_1 = {0, 1, 1, 3, 6, 9};
    private static final int INTELLIMOUSE_KNOCK = 200 << 16 | 100 << 8 | 80;

    private boolean reporting;
    private boolean remote;
    private boolean scaling21;
    private int resolution;
    private int sampleRate;
    /** The last three sample rates set, oldest in bits 23:16. */
    private int lastRates;
    private int id;
    private int buttons;
    /** Motion not reported yet; Y already points up, as PS/2 counts it. */
    private int dx;
    private int dy;
    private int dz;
    private boolean reportDue;

    Ps2Mouse() {
        resetDevice();
    }

    /** {@link #move(int, int, int, int)} without the wheel. */
    public void move(int dx, int dy, int buttons) {
        move(dx, dy, 0, buttons);
    }

    /**
     * The pointer moved by {@code dx}, {@code dy} in screen orientation (Y grows downwards), the wheel by
     * {@code dz} clicks (positive towards the user, i.e. scrolling down), and {@code buttons} ({@link #BUTTON_LEFT}
     * and friends) are now held. Ignored, apart from the buttons, while the guest has reporting disabled.
     */
    public void move(int dx, int dy, int dz, int buttons) {
        int held = buttons & (BUTTON_LEFT | BUTTON_RIGHT | BUTTON_MIDDLE);
        boolean changed = held != this.buttons;
        this.buttons = held;
        if (!reporting) {
            return;
        }
        this.dx = clamp(this.dx + dx, MAX_PENDING);
        this.dy = clamp(this.dy - dy, MAX_PENDING);
        this.dz = clamp(this.dz + dz, MAX_PENDING);
        reportDue |= changed || this.dx != 0 || this.dy != 0 || this.dz != 0;
        if (!remote) {
            stream();
            inputQueued();
        }
    }

    private void stream() {
        int size = id == ID_INTELLIMOUSE ? 4 : 3;
        while (reportDue && inputFree() >= size) {
            queueInput(packet());
        }
    }

    @Override
    void inputDrained() {
        if (reporting && !remote) {
            stream();
        }
    }

    /** Takes up to one packet's worth of the accumulated motion. */
    private int[] packet() {
        int x = clamp(dx, MAX_DELTA);
        int y = clamp(dy, MAX_DELTA);
        int z = Math.max(MIN_WHEEL, Math.min(MAX_WHEEL, dz));
        dx -= x;
        dy -= y;
        dz = id == ID_INTELLIMOUSE ? dz - z : 0; // a plain mouse has no wheel to report later
        reportDue = dx != 0 || dy != 0 || dz != 0;
        if (scaling21) {
            x = clamp(scaled(x), MAX_DELTA);
            y = clamp(scaled(y), MAX_DELTA);
        }
        int head = PACKET_ALWAYS_ONE | buttons | (x < 0 ? PACKET_X_NEGATIVE : 0) | (y < 0 ? PACKET_Y_NEGATIVE : 0);
        if (id == ID_INTELLIMOUSE) {
            return new int[] {head, x & 0xff, y & 0xff, z & 0xff};
        }
        return new int[] {head, x & 0xff, y & 0xff};
    }

    /** 2:1 scaling as IBM's PS/2 mouse specifies it: 1 1 3 6 9 for 1-5 counts, double beyond. */
    private static int scaled(int n) {
        int m = Math.abs(n);
        int s = m < SCALED_2_1.length ? SCALED_2_1[m] : 2 * m;
        return n < 0 ? -s : s;
    }

    private static int clamp(int v, int limit) {
        return Math.max(-limit, Math.min(limit, v));
    }

    private int status() {
        return (remote ? STATUS_REMOTE : 0) | (reporting ? STATUS_REPORTING : 0) | (scaling21 ? STATUS_SCALING_2_1 : 0)
                | ((buttons & BUTTON_LEFT) != 0 ? STATUS_LEFT : 0)
                | ((buttons & BUTTON_MIDDLE) != 0 ? STATUS_MIDDLE : 0)
                | ((buttons & BUTTON_RIGHT) != 0 ? STATUS_RIGHT : 0);
    }

    @Override
    void argument(int cmd, int b) {
        if (cmd == CMD_SET_RESOLUTION) {
            resolution = b;
        } else {
            sampleRate = b;
            lastRates = (lastRates << 8 | b) & 0xff_ffff;
            if (lastRates == INTELLIMOUSE_KNOCK) {
                id = ID_INTELLIMOUSE;
            }
        }
        reply(ACK);
    }

    @Override
    void command(int b) {
        clearInput();
        switch (b) {
            case CMD_SET_SCALING_1_1:
                scaling21 = false;
                reply(ACK);
                break;
            case CMD_SET_SCALING_2_1:
                scaling21 = true;
                reply(ACK);
                break;
            case CMD_SET_RESOLUTION:
            case CMD_SET_SAMPLE_RATE:
                awaitArgument(b);
                reply(ACK);
                break;
            case CMD_STATUS_REQUEST:
                reply(ACK, status(), resolution, sampleRate);
                break;
            case CMD_SET_STREAM_MODE:
                remote = false;
                forgetMotion();
                reply(ACK);
                break;
            case CMD_READ_DATA:
                reply(ACK);
                reply(packet());
                break;
            case CMD_SET_REMOTE_MODE:
                remote = true;
                forgetMotion();
                reply(ACK);
                break;
            case CMD_GET_ID:
                reply(ACK, id);
                break;
            case CMD_ENABLE_REPORTING:
                reporting = true;
                forgetMotion();
                reply(ACK);
                break;
            case CMD_DISABLE_REPORTING:
                reporting = false;
                forgetMotion();
                reply(ACK);
                break;
            case CMD_SET_DEFAULTS:
                defaults();
                reply(ACK);
                break;
            case CMD_RESET:
                resetDevice();
                reply(ACK, SELF_TEST_PASSED, id);
                break;
            default:
                reply(RESEND);
        }
    }

    private void forgetMotion() {
        dx = 0;
        dy = 0;
        dz = 0;
        reportDue = false;
    }

    private void defaults() {
        reporting = false;
        remote = false;
        scaling21 = false;
        resolution = DEFAULT_RESOLUTION;
        sampleRate = DEFAULT_SAMPLE_RATE;
        forgetMotion();
    }

    @Override
    void resetDevice() {
        defaults();
        id = ID_STANDARD;
        lastRates = 0;
    }
}
