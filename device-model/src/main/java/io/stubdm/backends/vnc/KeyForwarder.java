package io.stubdm.backends.vnc;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One client's KeyEvents (RFC 6143 §7.5.4) on their way to the guest keyboard. Remembers which keys are down so
 * that a client that goes away mid-chord does not leave the guest with a stuck Shift or Ctrl.
 */
final class KeyForwarder {
    private static final System.Logger LOG = System.getLogger(KeyForwarder.class.getName());

    private final VncConsole console;
    /** Set 2 codes pressed by this client and not yet released, in press order. */
    private final Set<Integer> held = new LinkedHashSet<>();

    KeyForwarder(VncConsole console) {
        this.console = console;
    }

    void key(int keysym, boolean down) {
        int code = Keysyms.toSet2(keysym);
        if (code == Keysyms.UNKNOWN) {
            LOG.log(Level.DEBUG, () -> String.format("VNC: ignoring unknown keysym 0x%x", keysym));
            return;
        }
        if (code == Keysyms.PAUSE) {
            if (down) {
                console.key(code, true); // Pause has no release on a PC keyboard
            }
            return;
        }
        if (down) {
            held.add(code);
        } else {
            held.remove(code);
        }
        console.key(code, down);
    }

    /** Releases every key still down, last pressed first. */
    void releaseAll() {
        List<Integer> codes = new ArrayList<>(held);
        held.clear();
        for (int i = codes.size() - 1; i >= 0; i--) {
            console.key(codes.get(i), false);
        }
    }
}
