package io.stubdm.backends.vnc;

/** What the VNC server shows and where its input goes. */
public interface VncConsole {
    /**
     * The picture as it is now: width, height and 0xRRGGBB pixels, row-major. Called from the server's refresh
     * thread (never a Netty event loop thread); may block for a few ms (the runtime renders on another thread).
     */
    io.stubdm.devices.vga.VgaRenderer.Frame capture();

    /**
     * A key of the PC keyboard went down or up; code = PS/2 scan code set 2, with 0xE000 added for E0-prefixed
     * keys (right Ctrl = 0xE014), and 0xE11477 for Pause (press only).
     */
    void key(int set2Code, boolean down);

    /**
     * The pointer moved by dx, dy (screen orientation, y grows downward), the wheel by dz clicks (positive =
     * scroll down), and {@code buttons} are held: bit0 left, bit1 right, bit2 middle (PS/2 order).
     */
    void pointer(int dx, int dy, int dz, int buttons);
}
