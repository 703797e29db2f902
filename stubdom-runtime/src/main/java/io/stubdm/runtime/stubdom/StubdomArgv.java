package io.stubdm.runtime.stubdom;

import io.stubdm.hypervisor.XenStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The device model's argument vector as libxl hands it to a Linux stub domain (xen-dm-protocol.md §4.3,
 * docs/misc/stubdom.txt): not on a command line but in xenstore, one node per argument under
 * {@code /vm/<guest-uuid>/image/dm-argv/}, named {@code 001}, {@code 002}, ... in order. The stub domain finds its
 * guest through its own {@code target} node.
 */
public final class StubdomArgv {
    /** Where the device model in the stub domain listens for QMP; Xen's vchan-socket-proxy connects here. */
    public static final String QMP_SOCKET = "/run/stubdm/qmp.sock";
    /** libxl's placeholder for the restore stream; the stub domain's init must replace it (stubdom.txt). */
    static final String RESTORE_PLACEHOLDER = "$STUBDOM_RESTORE_INCOMING_ARG";
    /** The restore stream arrives on the stub's third console (STUBDOM_CONSOLE_RESTORE = 2). */
    static final String RESTORE_SOURCE = "file:/dev/hvc2";

    private final int stubDomid;
    private final int guestDomid;
    private final List<String> argv;

    private StubdomArgv(int stubDomid, int guestDomid, List<String> argv) {
        this.stubDomid = stubDomid;
        this.guestDomid = guestDomid;
        this.argv = List.copyOf(argv);
    }

    /**
     * Reads the stub domain's target and the guest's device-model arguments.
     *
     * @throws IllegalStateException naming the node that is missing or malformed
     */
    public static StubdomArgv read(XenStore xenstore) {
        int self = xenstore.ownDomid();
        String home = "/local/domain/" + self;
        int guest = domid(require(xenstore, home + "/target"), home + "/target");
        String vm = require(xenstore, "/local/domain/" + guest + "/vm").trim();
        String dir = vm + "/image/dm-argv";
        List<String> names = xenstore.directory(dir);
        if (names.isEmpty()) {
            throw new IllegalStateException(dir + " holds no arguments: is this a stub domain of a qemu-xen guest "
                    + "(device_model_version=\"qemu-xen\")?");
        }
        // Names are %03d of the index; sorting them as numbers keeps the order past 999 arguments too.
        TreeMap<Integer, String> byIndex = new TreeMap<>();
        for (String name : names) {
            int index;
            try {
                index = Integer.parseInt(name);
            } catch (NumberFormatException e) {
                throw new IllegalStateException(dir + "/" + name + ": not an argument index");
            }
            byIndex.put(index, require(xenstore, dir + "/" + name));
        }
        List<String> argv = new ArrayList<>(byIndex.values());
        int named = domidArgument(argv);
        if (named != guest) {
            throw new IllegalStateException("the arguments in " + dir + " are for domain " + named + " but "
                    + home + "/target is " + guest);
        }
        return new StubdomArgv(self, guest, argv);
    }

    /** Exactly what libxl wrote, in order. */
    public List<String> libxlArguments() {
        return argv;
    }

    /**
     * The arguments stubdm runs with: libxl's, with the restore placeholder pointed at the restore console. They name
     * no QMP monitor (libxl leaves QMP to the stub domain): stubdm listens on {@link #QMP_SOCKET}, where the vchan
     * proxy connects, before it builds the device model.
     */
    public List<String> deviceModelArguments() {
        List<String> out = new ArrayList<>(argv.size());
        for (String a : argv) {
            out.add(a.equals(RESTORE_PLACEHOLDER) ? RESTORE_SOURCE : a);
        }
        return out;
    }

    /** The TAP interfaces libxl named ({@code -netdev ...,ifname=vif<guest>.<n>-emu}), to be bridged to the vifs. */
    public List<String> tapNames() {
        List<String> taps = new ArrayList<>();
        for (int i = 0; i + 1 < argv.size(); i++) {
            if (argv.get(i).equals("-netdev")) {
                for (String part : argv.get(i + 1).split(",")) {
                    if (part.startsWith("ifname=") && part.length() > "ifname=".length()) {
                        taps.add(part.substring("ifname=".length()));
                    }
                }
            }
        }
        return taps;
    }

    /**
     * The stub domain's own device nodes the arguments name: its consoles ({@code -serial /dev/hvc3}), the disks
     * libxl attached to it ({@code -drive file=/dev/xvda,...}) and, for TAP NICs, {@code /dev/net/tun}. Their PV frontends connect while stubdm starts, so
     * they may not exist yet when it does.
     */
    public List<String> devicePaths() {
        List<String> paths = new ArrayList<>();
        for (int i = 0; i + 1 < argv.size(); i++) {
            String value = argv.get(i + 1);
            if (argv.get(i).equals("-serial") && value.startsWith("/dev/")) {
                paths.add(value);
            } else if (argv.get(i).equals("-netdev") && (value.startsWith("tap,") || value.startsWith("type=tap,"))
                    && !paths.contains("/dev/net/tun")) {
                // The tun module is still loading while the JVM starts (see the image's init).
                paths.add("/dev/net/tun");
            } else if (argv.get(i).equals("-drive")) {
                for (String part : value.split(",")) {
                    if (part.startsWith("file=/dev/")) {
                        paths.add(part.substring("file=".length()));
                    }
                }
            }
        }
        return paths;
    }

    public int stubDomid() {
        return stubDomid;
    }

    public int guestDomid() {
        return guestDomid;
    }

    /** Relative to the stub domain's home: where vchan-socket-proxy publishes the QMP channel (§4.5). */
    public String qmpVchanPath() {
        return "device-model/" + guestDomid + "/qmp-vchan";
    }

    private static int domidArgument(List<String> argv) {
        for (int i = 0; i + 1 < argv.size(); i++) {
            if (argv.get(i).equals("-xen-domid")) {
                return domid(argv.get(i + 1), "-xen-domid");
            }
        }
        throw new IllegalStateException("the device-model arguments have no -xen-domid");
    }

    private static String require(XenStore xenstore, String path) {
        Optional<String> value = xenstore.read(path);
        if (value.isEmpty()) {
            throw new IllegalStateException(path + " is missing from xenstore: stubdm runs this way only in a stub "
                    + "domain that libxl built for an HVM guest");
        }
        return value.get();
    }

    private static int domid(String text, String what) {
        try {
            int d = Integer.parseInt(text.trim());
            if (d <= 0 || d >= 0x7FF0) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalStateException(what + " = '" + text + "' is not a guest domain id");
        }
    }
}
