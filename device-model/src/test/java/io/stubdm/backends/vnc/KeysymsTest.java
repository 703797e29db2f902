package io.stubdm.backends.vnc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeysymsTest {
    private static final String LETTERS = "abcdefghijklmnopqrstuvwxyz";
    private static final int[] LETTER_CODES = {0x1C, 0x32, 0x21, 0x23, 0x24, 0x2B, 0x34, 0x33, 0x43, 0x3B, 0x42,
            0x4B, 0x3A, 0x31, 0x44, 0x4D, 0x15, 0x2D, 0x1B, 0x2C, 0x3C, 0x2A, 0x1D, 0x22, 0x35, 0x1A};

    private static void maps(int keysym, int code) {
        assertEquals(code, Keysyms.toSet2(keysym), String.format("keysym 0x%x", keysym));
    }

    @Test
    void lettersInBothCases() {
        for (int i = 0; i < 26; i++) {
            maps(LETTERS.charAt(i), LETTER_CODES[i]);
            maps(Character.toUpperCase(LETTERS.charAt(i)), LETTER_CODES[i]);
        }
    }

    @Test
    void digitsAndTheirShiftedSymbols() {
        String digits = "1234567890";
        String shifted = "!@#$%^&*()";
        int[] codes = {0x16, 0x1E, 0x26, 0x25, 0x2E, 0x36, 0x3D, 0x3E, 0x46, 0x45};
        for (int i = 0; i < 10; i++) {
            maps(digits.charAt(i), codes[i]);
            maps(shifted.charAt(i), codes[i]);
        }
    }

    @Test
    void punctuationAndShiftedPunctuation() {
        String base = "`-=[]\\;',./ ";
        String shifted = "~_+{}|:\"<>? ";
        int[] codes = {0x0E, 0x4E, 0x55, 0x54, 0x5B, 0x5D, 0x4C, 0x52, 0x41, 0x49, 0x4A, 0x29};
        for (int i = 0; i < base.length(); i++) {
            maps(base.charAt(i), codes[i]);
            maps(shifted.charAt(i), codes[i]);
        }
    }

    @Test
    void everyPrintableAsciiCharacterHasAKey() {
        for (int c = 0x20; c < 0x7F; c++) {
            if (Keysyms.toSet2(c) == Keysyms.UNKNOWN) {
                throw new AssertionError("no key for '" + (char) c + "'");
            }
        }
    }

    @Test
    void editingAndNavigation() {
        maps(0xff08, 0x66); // BackSpace
        maps(0xff09, 0x0D); // Tab
        maps(0xfe20, 0x0D); // ISO_Left_Tab
        maps(0xff0d, 0x5A); // Return
        maps(0xff1b, 0x76); // Escape
        maps(0xffff, 0xE071); // Delete
        maps(0xff63, 0xE070); // Insert
        maps(0xff50, 0xE06C); // Home
        maps(0xff57, 0xE069); // End
        maps(0xff55, 0xE07D); // Prior
        maps(0xff56, 0xE07A); // Next
        maps(0xff51, 0xE06B); // Left
        maps(0xff52, 0xE075); // Up
        maps(0xff53, 0xE074); // Right
        maps(0xff54, 0xE072); // Down
    }

    @Test
    void functionKeys() {
        int[] codes = {0x05, 0x06, 0x04, 0x0C, 0x03, 0x0B, 0x83, 0x0A, 0x01, 0x09, 0x78, 0x07};
        for (int i = 0; i < 12; i++) {
            maps(0xffbe + i, codes[i]);
        }
    }

    @Test
    void modifiersAndLocks() {
        maps(0xffe1, 0x12);
        maps(0xffe2, 0x59);
        maps(0xffe3, 0x14);
        maps(0xffe4, 0xE014);
        maps(0xffe9, 0x11);
        maps(0xffea, 0xE011);
        maps(0xffe7, 0x11); // Meta_L as Alt
        maps(0xffe8, 0xE011);
        maps(0xffeb, 0xE01F);
        maps(0xffec, 0xE027);
        maps(0xff67, 0xE02F); // Menu
        maps(0xffe5, 0x58); // Caps_Lock
        maps(0xff7f, 0x77); // Num_Lock
        maps(0xff14, 0x7E); // Scroll_Lock
        maps(0xff61, 0xE07C); // Print
        maps(0xff13, 0xE11477); // Pause
    }

    @Test
    void keypad() {
        int[] digits = {0x70, 0x69, 0x72, 0x7A, 0x6B, 0x73, 0x74, 0x6C, 0x75, 0x7D};
        for (int i = 0; i < 10; i++) {
            maps(0xffb0 + i, digits[i]);
        }
        maps(0xff8d, 0xE05A); // KP_Enter
        maps(0xffaf, 0xE04A); // KP_Divide
        maps(0xffaa, 0x7C); // KP_Multiply
        maps(0xffad, 0x7B); // KP_Subtract
        maps(0xffab, 0x79); // KP_Add
        maps(0xffae, 0x71); // KP_Decimal
        maps(0xff95, 0x6C); // KP_Home = 7
        maps(0xff97, 0x75); // KP_Up = 8
        maps(0xff9a, 0x7D); // KP_Prior = 9
        maps(0xff96, 0x6B); // KP_Left = 4
        maps(0xff9d, 0x73); // KP_Begin = 5
        maps(0xff98, 0x74); // KP_Right = 6
        maps(0xff9c, 0x69); // KP_End = 1
        maps(0xff99, 0x72); // KP_Down = 2
        maps(0xff9b, 0x7A); // KP_Next = 3
        maps(0xff9e, 0x70); // KP_Insert = 0
        maps(0xff9f, 0x71); // KP_Delete = .
    }

    @Test
    void unknownKeysymsMapToNothing() {
        maps(0x1008ff13, Keysyms.UNKNOWN); // XF86AudioRaiseVolume
        maps(0x00e9, Keysyms.UNKNOWN); // eacute: not on a US keyboard
        maps(0, Keysyms.UNKNOWN);
        maps(-1, Keysyms.UNKNOWN);
    }

    @Test
    void forwarderSendsPauseOnPressOnlyAndIgnoresUnknownKeys() {
        FakeConsole console = new FakeConsole(8, 8, 0);
        KeyForwarder keys = new KeyForwarder(console);
        keys.key(0xff13, true);
        keys.key(0xff13, false);
        keys.key(0x1008ff13, true);
        keys.releaseAll();
        assertEquals(List.of(new FakeConsole.Key(0xE11477, true)), console.keys());
    }

    @Test
    void forwarderReleasesHeldKeysLastPressedFirst() {
        FakeConsole console = new FakeConsole(8, 8, 0);
        KeyForwarder keys = new KeyForwarder(console);
        keys.key(0xffe3, true); // Control_L
        keys.key(0xffe1, true); // Shift_L
        keys.key('a', true);
        keys.key('a', false);
        console.clearInput();
        keys.releaseAll();
        assertEquals(List.of(new FakeConsole.Key(0x12, false), new FakeConsole.Key(0x14, false)), console.keys());
        console.clearInput();
        keys.releaseAll();
        assertEquals(List.of(), console.keys());
    }

    @Test
    void aKeyReleasedUnderTheOtherCaseIsStillReleased() {
        FakeConsole console = new FakeConsole(8, 8, 0);
        KeyForwarder keys = new KeyForwarder(console);
        keys.key('A', true); // with Shift held
        keys.key('a', false); // Shift let go first: the client reports the unshifted keysym
        console.clearInput();
        keys.releaseAll();
        assertEquals(List.of(), console.keys());
    }

    @Test
    void pointerBecomesRelativeWithPs2Buttons() {
        FakeConsole console = new FakeConsole(8, 8, 0);
        PointerForwarder p = new PointerForwarder(console);
        p.event(0, 100, 100); // first event: no motion, nothing changed
        p.event(0, 110, 95);
        p.event(1, 110, 95); // left
        p.event(1 | 4, 110, 95); // + right
        p.event(2, 111, 95); // middle only
        p.event(0, 111, 95);
        assertEquals(List.of(new FakeConsole.Pointer(10, -5, 0, 0), new FakeConsole.Pointer(0, 0, 0, 1),
                new FakeConsole.Pointer(0, 0, 0, 3), new FakeConsole.Pointer(1, 0, 0, 4),
                new FakeConsole.Pointer(0, 0, 0, 0)), console.pointers());
    }

    @Test
    void wheelClicksArePresses() {
        FakeConsole console = new FakeConsole(8, 8, 0);
        PointerForwarder p = new PointerForwarder(console);
        p.event(0, 5, 5);
        p.event(8, 5, 5); // wheel up pressed
        p.event(0, 5, 5); // released: nothing
        p.event(16, 5, 5); // wheel down
        p.event(0, 5, 5);
        p.event(16 | 1, 6, 5); // wheel down while pressing left and moving
        assertEquals(List.of(new FakeConsole.Pointer(0, 0, -1, 0), new FakeConsole.Pointer(0, 0, 1, 0),
                new FakeConsole.Pointer(1, 0, 1, 1)), console.pointers());
    }

    @Test
    void heldButtonsAreReleased() {
        FakeConsole console = new FakeConsole(8, 8, 0);
        PointerForwarder p = new PointerForwarder(console);
        p.event(4, 5, 5);
        console.clearInput();
        p.releaseAll();
        assertEquals(List.of(new FakeConsole.Pointer(0, 0, 0, 0)), console.pointers());
    }
}
