package io.stubdm.backends.vnc;

/**
 * One client's PointerEvents (RFC 6143 §7.5.5: absolute position, button mask with bit 0 left, bit 1 middle,
 * bit 2 right, bits 3 and 4 the wheel) as a PS/2 mouse sees them: relative motion, left/right/middle buttons,
 * and wheel clicks. A wheel click arrives as a press and a release of bit 3 or 4; the press is the click.
 */
final class PointerForwarder {
    private static final int RFB_LEFT = 1;
    private static final int RFB_MIDDLE = 2;
    private static final int RFB_RIGHT = 4;
    private static final int RFB_WHEEL_UP = 8;
    private static final int RFB_WHEEL_DOWN = 16;

    private final VncConsole console;
    private boolean seen;
    private int lastX;
    private int lastY;
    private int lastMask;
    private int lastButtons;

    PointerForwarder(VncConsole console) {
        this.console = console;
    }

    void event(int mask, int x, int y) {
        int dx = seen ? x - lastX : 0;
        int dy = seen ? y - lastY : 0;
        seen = true;
        lastX = x;
        lastY = y;
        int pressed = mask & ~lastMask;
        lastMask = mask;
        int dz = 0;
        if ((pressed & RFB_WHEEL_UP) != 0) {
            dz--;
        }
        if ((pressed & RFB_WHEEL_DOWN) != 0) {
            dz++;
        }
        int buttons = ((mask & RFB_LEFT) != 0 ? 1 : 0) | ((mask & RFB_RIGHT) != 0 ? 2 : 0)
                | ((mask & RFB_MIDDLE) != 0 ? 4 : 0);
        if (dx == 0 && dy == 0 && dz == 0 && buttons == lastButtons) {
            return; // e.g. the release half of a wheel click: nothing for the guest
        }
        lastButtons = buttons;
        console.pointer(dx, dy, dz, buttons);
    }

    /** Releases the buttons still held, so the guest is not left dragging. */
    void releaseAll() {
        if (lastButtons != 0) {
            lastButtons = 0;
            console.pointer(0, 0, 0, 0);
        }
    }
}
