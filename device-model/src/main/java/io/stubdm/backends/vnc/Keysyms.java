package io.stubdm.backends.vnc;

import java.util.HashMap;
import java.util.Map;

/**
 * X11 keysyms (what RFB KeyEvents carry, RFC 6143 §7.5.4) to PS/2 scan code set 2, for a US layout: a keysym
 * names a symbol, the guest needs a key, so shifted symbols map to the key that carries them and the client's
 * own Shift events (sent separately) make the guest see the symbol.
 */
final class Keysyms {
    /** Pause has no break code; the guest gets E1 14 77 E1 F0 14 F0 77 on press only. */
    static final int PAUSE = 0xE11477;
    static final int UNKNOWN = -1;

    private static final Map<Integer, Integer> TABLE = build();

    private Keysyms() {}

    /** The set 2 code for {@code keysym}, or {@link #UNKNOWN}. */
    static int toSet2(int keysym) {
        return TABLE.getOrDefault(keysym, UNKNOWN);
    }

    private static Map<Integer, Integer> build() {
        Map<Integer, Integer> m = new HashMap<>();
        // Letters: both cases press the same key.
        int[] letters = {0x1C, 0x32, 0x21, 0x23, 0x24, 0x2B, 0x34, 0x33, 0x43, 0x3B, 0x42, 0x4B, 0x3A, 0x31, 0x44,
                0x4D, 0x15, 0x2D, 0x1B, 0x2C, 0x3C, 0x2A, 0x1D, 0x22, 0x35, 0x1A};
        for (int i = 0; i < 26; i++) {
            m.put('a' + i, letters[i]);
            m.put('A' + i, letters[i]);
        }
        // Digit row: unshifted and shifted symbol of each key.
        String digits = "1234567890";
        String shiftedDigits = "!@#$%^&*()";
        int[] digitCodes = {0x16, 0x1E, 0x26, 0x25, 0x2E, 0x36, 0x3D, 0x3E, 0x46, 0x45};
        for (int i = 0; i < digits.length(); i++) {
            m.put((int) digits.charAt(i), digitCodes[i]);
            m.put((int) shiftedDigits.charAt(i), digitCodes[i]);
        }
        // Punctuation keys: base symbol, shifted symbol, code.
        Object[][] punctuation = {
                {'`', '~', 0x0E}, {'-', '_', 0x4E}, {'=', '+', 0x55}, {'[', '{', 0x54}, {']', '}', 0x5B},
                {'\\', '|', 0x5D}, {';', ':', 0x4C}, {'\'', '"', 0x52}, {',', '<', 0x41}, {'.', '>', 0x49},
                {'/', '?', 0x4A},
        };
        for (Object[] p : punctuation) {
            m.put((int) (char) (Character) p[0], (Integer) p[2]);
            m.put((int) (char) (Character) p[1], (Integer) p[2]);
        }
        m.put(0x20, 0x29); // space

        m.put(0xff08, 0x66); // BackSpace
        m.put(0xff09, 0x0D); // Tab
        m.put(0xfe20, 0x0D); // ISO_Left_Tab: what X sends for Shift+Tab
        m.put(0xff0d, 0x5A); // Return
        m.put(0xff1b, 0x76); // Escape
        m.put(0xffff, 0xE071); // Delete
        m.put(0xff63, 0xE070); // Insert
        m.put(0xff50, 0xE06C); // Home
        m.put(0xff57, 0xE069); // End
        m.put(0xff55, 0xE07D); // Prior (Page Up)
        m.put(0xff56, 0xE07A); // Next (Page Down)
        m.put(0xff51, 0xE06B); // Left
        m.put(0xff52, 0xE075); // Up
        m.put(0xff53, 0xE074); // Right
        m.put(0xff54, 0xE072); // Down

        int[] functionKeys = {0x05, 0x06, 0x04, 0x0C, 0x03, 0x0B, 0x83, 0x0A, 0x01, 0x09, 0x78, 0x07};
        for (int i = 0; i < functionKeys.length; i++) {
            m.put(0xffbe + i, functionKeys[i]); // F1..F12
        }

        m.put(0xffe1, 0x12); // Shift_L
        m.put(0xffe2, 0x59); // Shift_R
        m.put(0xffe3, 0x14); // Control_L
        m.put(0xffe4, 0xE014); // Control_R
        m.put(0xffe5, 0x58); // Caps_Lock
        m.put(0xffe7, 0x11); // Meta_L: X servers send Meta for Alt on some layouts
        m.put(0xffe8, 0xE011); // Meta_R
        m.put(0xffe9, 0x11); // Alt_L
        m.put(0xffea, 0xE011); // Alt_R
        m.put(0xfe03, 0xE011); // ISO_Level3_Shift (AltGr) is the right Alt key
        m.put(0xffeb, 0xE01F); // Super_L
        m.put(0xffec, 0xE027); // Super_R
        m.put(0xff67, 0xE02F); // Menu
        m.put(0xff7f, 0x77); // Num_Lock
        m.put(0xff14, 0x7E); // Scroll_Lock
        m.put(0xff61, 0xE07C); // Print
        m.put(0xff15, 0xE07C); // Sys_Req is Alt+Print on a PC keyboard
        m.put(0xff13, PAUSE); // Pause

        // Keypad (0xff80..0xffbd).
        m.put(0xff80, 0x29); // KP_Space
        m.put(0xff89, 0x0D); // KP_Tab
        m.put(0xff8d, 0xE05A); // KP_Enter
        m.put(0xffaa, 0x7C); // KP_Multiply
        m.put(0xffab, 0x79); // KP_Add
        m.put(0xffac, 0x71); // KP_Separator: the decimal key of layouts that use a comma
        m.put(0xffad, 0x7B); // KP_Subtract
        m.put(0xffae, 0x71); // KP_Decimal
        m.put(0xffaf, 0xE04A); // KP_Divide
        m.put(0xffbd, 0x55); // KP_Equal: no PC keypad key; the main '=' is the closest
        int[] keypadDigits = {0x70, 0x69, 0x72, 0x7A, 0x6B, 0x73, 0x74, 0x6C, 0x75, 0x7D};
        for (int i = 0; i < 10; i++) {
            m.put(0xffb0 + i, keypadDigits[i]); // KP_0..KP_9
        }
        // Keypad keys with Num Lock off: X reports the navigation keysym, the key is still the keypad digit.
        m.put(0xff95, 0x6C); // KP_Home = KP7
        m.put(0xff96, 0x6B); // KP_Left = KP4
        m.put(0xff97, 0x75); // KP_Up = KP8
        m.put(0xff98, 0x74); // KP_Right = KP6
        m.put(0xff99, 0x72); // KP_Down = KP2
        m.put(0xff9a, 0x7D); // KP_Prior = KP9
        m.put(0xff9b, 0x7A); // KP_Next = KP3
        m.put(0xff9c, 0x69); // KP_End = KP1
        m.put(0xff9d, 0x73); // KP_Begin = KP5
        m.put(0xff9e, 0x70); // KP_Insert = KP0
        m.put(0xff9f, 0x71); // KP_Delete = KP.
        return Map.copyOf(m);
    }
}
