package io.stubdm.runtime;

import io.stubdm.backends.vnc.VncConsole;
import io.stubdm.devices.i8042.I8042;
import io.stubdm.devices.vga.VgaRenderer;

/**
 * What a VNC client sees and moves: the VGA's picture, rendered on the device loop that owns the adapter, and the
 * i8042's PS/2 keyboard and mouse, whose events are posted to that loop (the VNC server's threads never touch a
 * device).
 */
final class VncDisplay implements VncConsole {
    /** A guest with vga="none" still gets a VNC server from QEMU: a black screen of the smallest VGA mode. */
    static final VgaRenderer.Frame NO_DISPLAY = new VgaRenderer.Frame(640, 480, new int[640 * 480]);

    private final DeviceModel dm;

    VncDisplay(DeviceModel dm) {
        this.dm = dm;
    }

    /** The last picture rendered; only the device loop touches it. */
    private VgaRenderer.Frame last;

    /**
     * The picture, rendered again only when the adapter says it may have changed (its registers or window were
     * written, or track_dirty_vram reports framebuffer pages written): an idle screen costs the device loop nothing
     * at the VNC server's refresh rate.
     */
    @Override
    public VgaRenderer.Frame capture() {
        return dm.display().map(d -> dm.onLoop(() -> {
            if (last == null || d.changedSinceLastAsked()) {
                last = d.render();
            }
            return last;
        })).orElse(NO_DISPLAY);
    }

    @Override
    public void key(int set2Code, boolean down) {
        I8042 i8042 = dm.machine().i8042();
        dm.post(() -> i8042.keyboard().keyEvent(set2Code, down));
    }

    @Override
    public void pointer(int dx, int dy, int dz, int buttons) {
        I8042 i8042 = dm.machine().i8042();
        dm.post(() -> i8042.mouse().move(dx, dy, dz, buttons));
    }
}
