package io.stubdm.devices.vga;

import java.util.List;

/**
 * A display adapter as the machine and the display servers (screendump, VNC) see it: the fixed legacy ranges the
 * machine registers for it, and its picture, rendered from its registers and video RAM. Called on the device
 * loop, which owns the adapter.
 */
public interface DisplayAdapter {

    /** The picture as the guest's programming of the adapter shows it now. */
    VgaRenderer.Frame render();

    /** The legacy VGA ports and the 0xA0000 window (and any other fixed range), for the machine to register. */
    List<StdVga.LegacyRange> legacyRanges();
}
