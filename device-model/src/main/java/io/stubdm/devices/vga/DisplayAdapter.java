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

    /**
     * Whether the picture may differ from the last time this was asked: the guest wrote a register or the legacy
     * window, or wrote the video RAM through the framebuffer BAR (which only Xen sees: track_dirty_vram). A
     * display refresh asks before it renders; the first call says yes. It consumes the dirty-page log, so one
     * display refresh should ask, not every reader of the picture.
     */
    boolean changedSinceLastAsked();

    /** The legacy VGA ports and the 0xA0000 window (and any other fixed range), for the machine to register. */
    List<StdVga.LegacyRange> legacyRanges();
}
