package io.stubdm.devices.i8042;

import java.util.Arrays;

/**
 * An MF2 PS/2 keyboard behind the 8042's first port: the commands firmware and drivers send it, and key events
 * from the host (the display server) as PS/2 scan code set 2.
 *
 * <p>The keyboard speaks set 2 and answers GET ID with 0xAB 0x83. A host that sees set 1 codes and ID 0xAB 0x41
 * sees them because the controller translates ({@link I8042#CB_TRANSLATE}), as on a PC. A guest that turns
 * translation off and selects set 1 itself (F0 01) gets set 1 from the keyboard. Set 3 is refused with
 * {@link #RESEND}, which drivers take as "not supported" (Linux atkbd_select_set falls back to set 2).
 *
 * <p>Commands and replies follow IBM's PS/2 keyboard interface and QEMU's hw/input/ps2.c. There is no
 * auto-repeat: the typematic setting is recorded ({@link #typematic()}) but the remote client repeats keys
 * itself.
 */
public final class Ps2Keyboard extends Ps2Device {
    public static final int CMD_SET_LEDS = 0xED;
    public static final int CMD_ECHO = 0xEE;
    /** Argument 0 reads the current set, 1-3 select one. */
    public static final int CMD_SCANCODE_SET = 0xF0;
    public static final int CMD_GET_ID = 0xF2;
    public static final int CMD_SET_TYPEMATIC = 0xF3;
    /** Clears the output buffer and starts scanning. */
    public static final int CMD_ENABLE = 0xF4;
    /** Defaults, and stop scanning (Linux's ATKBD_CMD_RESET_DIS). */
    public static final int CMD_DEFAULT_DISABLE = 0xF5;
    /** Defaults, and scan. */
    public static final int CMD_SET_DEFAULT = 0xF6;
    public static final int CMD_RESET = 0xFF;

    /** Reply to {@link #CMD_RESET} after its ACK: basic assurance test passed. */
    public static final int SELF_TEST_PASSED = 0xAA;
    public static final int ECHO = 0xEE;
    public static final int ID_FIRST = 0xAB;
    /** Second ID byte of an MF2 keyboard, untranslated; 0x41 once the controller translates it. */
    public static final int ID_MF2 = 0x83;

    /** LED bits of {@link #CMD_SET_LEDS}'s argument. */
    public static final int LED_SCROLL_LOCK = 0x01;
    public static final int LED_NUM_LOCK = 0x02;
    public static final int LED_CAPS_LOCK = 0x04;

    /** Added to a set 2 code that carries the 0xE0 prefix: right Ctrl is {@code EXTENDED | 0x14}. */
    public static final int EXTENDED = 0xE000;
    /**
     * The Pause key, which has no single code: it sends E1 14 77 E1 F0 14 F0 77 when pressed and nothing when
     * released.
     */
    public static final int PAUSE = 0xE11477;

    private static final int[] PAUSE_SEQUENCE = {0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77};
    private static final int[] NOTHING = {};
    private static final int EXTENDED_PREFIX = 0xE0;
    private static final int BREAK_PREFIX = 0xF0;
    /** 10.9 characters per second after 500 ms, the power-on setting. */
    private static final int DEFAULT_TYPEMATIC = 0x2B;

    /** What a typed-ahead burst may hold before further key events are dropped (about 200 keystrokes). */
    static final int TYPEAHEAD_BYTES = 1024;

    private final java.util.ArrayDeque<int[]> typeahead = new java.util.ArrayDeque<>();
    private int typeaheadBytes;
    private boolean scanning;
    private int scanCodeSet;
    private int leds;
    private int typematic;

    Ps2Keyboard() {
        resetDevice();
    }

    /**
     * A key went down or up. {@code set2Code} is its PS/2 set 2 make code: 0x01-0xFF (without the prefixes 0xE0,
     * 0xE1 and 0xF0), {@link #EXTENDED} plus that for the E0-prefixed keys, or {@link #PAUSE}. Keys that send two
     * codes (Print Screen: E0 12 E0 7C) are two events. Ignored while the guest has scanning disabled; an event
     * that does not fit the 16-byte buffer whole waits behind it ({@link #inputDrained()}), up to
     * {@link #TYPEAHEAD_BYTES}, and beyond that is dropped and counted ({@link #droppedBytes()}).
     *
     * @throws IllegalArgumentException if {@code set2Code} is none of these
     */
    public void keyEvent(int set2Code, boolean down) {
        int[] set2 = sequence(set2Code, down);
        if (!scanning || set2.length == 0) {
            return;
        }
        int[] bytes = scanCodeSet == 1 ? toSet1(set2) : set2;
        if (typeahead.isEmpty() && inputFree() >= bytes.length) {
            queueInput(bytes);
            inputQueued();
        } else if (typeaheadBytes + bytes.length <= TYPEAHEAD_BYTES) {
            typeahead.add(bytes);
            typeaheadBytes += bytes.length;
        } else {
            queueInput(bytes); // counted as dropped: the queue is full
        }
    }

    /**
     * Events that wait for room in the keyboard's 16-byte buffer. A VNC client sends a typed line at network
     * speed, and a guest under load (or under emulation) takes its keyboard interrupts far slower; a real
     * keyboard never outruns its host that way, because a human types. QEMU paces VNC keys for the same reason
     * (its key-delay-ms); here the pace is the guest's own: the next event moves in as the buffer drains.
     */
    @Override
    void inputDrained() {
        while (!typeahead.isEmpty() && inputFree() >= typeahead.peek().length) {
            int[] bytes = typeahead.poll();
            typeaheadBytes -= bytes.length;
            queueInput(bytes);
        }
    }

    /** Events waiting for room in the buffer ({@link #inputDrained()}). */
    public int typeaheadBytes() {
        return typeaheadBytes;
    }

    private void clearKeys() {
        clearInput();
        typeahead.clear();
        typeaheadBytes = 0;
    }

    /** The LED bits the guest last set ({@link #LED_CAPS_LOCK} and friends), for the display server to show. */
    public int leds() {
        return leds;
    }

    /** The typematic byte the guest last set: bits 6:5 delay, bits 4:0 rate. */
    public int typematic() {
        return typematic;
    }

    private static int[] sequence(int code, boolean down) {
        if (code == PAUSE) {
            return down ? PAUSE_SEQUENCE.clone() : NOTHING;
        }
        int prefix = code & ~0xff;
        int key = code & 0xff;
        if ((prefix != 0 && prefix != EXTENDED) || key == 0 || key == EXTENDED_PREFIX || key == 0xE1
                || key == BREAK_PREFIX) {
            throw new IllegalArgumentException(String.format("not a set 2 key code: 0x%x", code));
        }
        if (prefix == EXTENDED) {
            return down ? new int[] {EXTENDED_PREFIX, key} : new int[] {EXTENDED_PREFIX, BREAK_PREFIX, key};
        }
        return down ? new int[] {key} : new int[] {BREAK_PREFIX, key};
    }

    /** Set 1 is set 2 through the 8042's table, prefixes and all (the Pause sequence becomes E1 1D 45 E1 9D C5). */
    private static int[] toSet1(int[] set2) {
        XtTranslator translator = new XtTranslator();
        int[] out = new int[set2.length];
        int n = 0;
        for (int b : set2) {
            int t = translator.feed(b);
            if (t >= 0) {
                out[n++] = t;
            }
        }
        return Arrays.copyOf(out, n);
    }

    @Override
    void command(int b) {
        switch (b) {
            case CMD_SET_LEDS:
            case CMD_SET_TYPEMATIC:
            case CMD_SCANCODE_SET:
                awaitArgument(b);
                reply(ACK);
                break;
            case CMD_ECHO:
                reply(ECHO);
                break;
            case CMD_GET_ID:
                reply(ACK, ID_FIRST, ID_MF2);
                break;
            case CMD_ENABLE:
                clearKeys();
                scanning = true;
                reply(ACK);
                break;
            case CMD_DEFAULT_DISABLE:
                clearKeys();
                defaults();
                scanning = false;
                reply(ACK);
                break;
            case CMD_SET_DEFAULT:
                clearKeys();
                defaults();
                scanning = true;
                reply(ACK);
                break;
            case CMD_RESET:
                clearKeys();
                defaults();
                scanning = true;
                reply(ACK, SELF_TEST_PASSED);
                break;
            default:
                reply(RESEND);
        }
    }

    @Override
    void argument(int cmd, int b) {
        switch (cmd) {
            case CMD_SET_LEDS:
                leds = b & (LED_SCROLL_LOCK | LED_NUM_LOCK | LED_CAPS_LOCK);
                reply(ACK);
                break;
            case CMD_SET_TYPEMATIC:
                typematic = b & 0x7f;
                reply(ACK);
                break;
            default: // CMD_SCANCODE_SET
                if (b == 0) {
                    reply(ACK, scanCodeSet);
                } else if (b == 1 || b == 2) {
                    scanCodeSet = b;
                    reply(ACK);
                } else {
                    reply(RESEND);
                }
        }
    }

    private void defaults() {
        scanCodeSet = 2;
        leds = 0;
        typematic = DEFAULT_TYPEMATIC;
    }

    @Override
    void resetDevice() {
        typeahead.clear();
        typeaheadBytes = 0;
        defaults();
        scanning = true;
    }
}
