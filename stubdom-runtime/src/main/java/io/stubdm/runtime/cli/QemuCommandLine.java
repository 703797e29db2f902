package io.stubdm.runtime.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Parses the argument vector libxl gives qemu-xen (tools/libs/light/libxl_dm.c,
 * libxl__build_device_model_args_new; xen-dm-protocol.md §1.2), and the extra options Qubes' stub-domain init
 * adds. Every option libxl can generate is known here, by name and by how many values it takes; anything else
 * is an error that names it, so a config stubdm cannot honour fails at start, not silently.
 */
public final class QemuCommandLine {
    /** Options that take no value. */
    private static final Set<String> FLAGS = Set.of("-no-shutdown", "-nodefaults", "-no-user-config", "-xen-attach",
            "-xen-domid-restrict", "-nographic", "-S", "-no-acpi", "-usb");
    /** Options that take exactly one value. */
    private static final Set<String> WITH_VALUE = Set.of("-xen-domid", "-chardev", "-mon", "-qmp", "-name", "-vnc",
            "-display", "-k", "-serial", "-device", "-boot", "-smp", "-netdev", "-net", "-machine", "-m", "-drive",
            "-incoming", "-chroot", "-runas", "-usbdevice", "-kernel", "-initrd", "-append", "-sandbox", "-L",
            "-spice", "-audiodev", "-global");

    /** The {@code -global} properties stubdm honours: the NICs' option ROM file ({@code romfile=} empty: none). */
    private static final Set<String> GLOBALS = Set.of("e1000.romfile", "rtl8139.romfile");

    private QemuCommandLine() {}

    public static DeviceModelArgs parse(List<String> argv) {
        Map<String, Integer> seen = new java.util.HashMap<>();
        Integer domid = null;
        String name = "";
        DeviceModelArgs.Machine machine = new DeviceModelArgs.Machine(DeviceModelArgs.Mode.XENFV, true, Optional.empty());
        boolean acpi = true;
        long memoryMiB = 128;
        int vcpus = 1;
        int maxVcpus = 1;
        String boot = "cda";
        List<QemuOpts> chardevs = new ArrayList<>();
        List<QemuOpts> monitors = new ArrayList<>();
        List<String> serials = new ArrayList<>();
        List<QemuOpts> devices = new ArrayList<>();
        List<String> netdevs = new ArrayList<>();
        boolean noNetwork = false;
        List<String> drives = new ArrayList<>();
        Optional<String> vnc = Optional.empty();
        boolean paused = false;
        Optional<String> incoming = Optional.empty();
        boolean noShutdown = false;
        Optional<String> romDir = Optional.empty();
        Map<String, String> globals = new java.util.LinkedHashMap<>();

        for (int i = 0; i < argv.size(); i++) {
            String opt = argv.get(i);
            // QEMU accepts --option as well as -option.
            if (opt.startsWith("--")) {
                opt = opt.substring(1);
            }
            String value = null;
            if (WITH_VALUE.contains(opt)) {
                if (i + 1 >= argv.size()) {
                    throw new IllegalArgumentException("option " + opt + " needs a value");
                }
                value = argv.get(++i);
            } else if (!FLAGS.contains(opt)) {
                throw new IllegalArgumentException(opt.startsWith("-")
                        ? "unknown option " + opt + " (stubdm accepts the options libxl gives qemu-xen)"
                        : "unexpected argument '" + opt + "'");
            }
            seen.merge(opt, 1, Integer::sum);
            switch (opt) {
                case "-xen-domid":
                    domid = parseInt(opt, value, 1, 0x7fef);
                    break;
                case "-name":
                    name = value;
                    break;
                case "-machine":
                    machine = machine(value, acpi);
                    break;
                case "-no-acpi":
                    acpi = false;
                    break;
                case "-m":
                    memoryMiB = memory(value);
                    break;
                case "-smp": {
                    QemuOpts smp = QemuOpts.parse(opt, value, "cpus").only(Set.of("cpus", "maxcpus", "sockets", "cores", "threads"));
                    vcpus = parseInt(opt, smp.require("cpus"), 1, 128);
                    maxVcpus = smp.get("maxcpus") == null ? vcpus : parseInt(opt, smp.get("maxcpus"), vcpus, 128);
                    break;
                }
                case "-boot": {
                    QemuOpts b = QemuOpts.parse(opt, value, "order").only(Set.of("order", "menu", "strict", "once"));
                    boot = b.get("order", boot);
                    break;
                }
                case "-chardev":
                    chardevs.add(QemuOpts.parse(opt, value, "backend"));
                    break;
                case "-mon":
                    monitors.add(QemuOpts.parse(opt, value, "chardev").only(Set.of("chardev", "mode", "pretty")));
                    break;
                case "-qmp": {
                    // Shorthand Qubes' stub-domain init uses: -qmp unix:/tmp/qemu.qmp,server,nowait. Rewritten as the
                    // -chardev socket + -mon pair libxl itself writes, so one code path serves both.
                    QemuOpts q = QemuOpts.parse(opt, value, "target").only(Set.of("target", "server", "nowait", "wait"));
                    if (!q.require("target").startsWith("unix:")) {
                        throw new IllegalArgumentException("-qmp " + value + ": only unix: sockets are supported");
                    }
                    String id = "qmp-" + monitors.size();
                    chardevs.add(QemuOpts.parse(opt, "socket,id=" + id + ",path="
                            + q.get("target").substring(5).replace(",", ",,") + ",server=on,wait=off", "backend"));
                    monitors.add(QemuOpts.parse(opt, "chardev=" + id + ",mode=control", null));
                    break;
                }
                case "-serial":
                    serials.add(value);
                    break;
                case "-device":
                    devices.add(QemuOpts.parse(opt, value, "driver"));
                    break;
                case "-netdev":
                    netdevs.add(value);
                    break;
                case "-net":
                    if (!"none".equals(value)) {
                        throw new IllegalArgumentException("-net " + value + ": only '-net none' is supported; use -netdev");
                    }
                    noNetwork = true;
                    break;
                case "-drive":
                    drives.add(value);
                    break;
                case "-vnc":
                    vnc = "none".equals(value) ? Optional.empty() : Optional.of(value);
                    break;
                case "-display":
                    if (!value.equals("none")) {
                        throw new IllegalArgumentException("-display " + value + ": stubdm has no local display; use VNC");
                    }
                    break;
                case "-S":
                    paused = true;
                    break;
                case "-incoming":
                    incoming = Optional.of(value);
                    break;
                case "-no-shutdown":
                    noShutdown = true;
                    break;
                case "-L":
                    romDir = Optional.of(value);
                    break;
                case "-kernel":
                case "-initrd":
                case "-append":
                    throw new IllegalArgumentException(opt + ": direct kernel boot is not supported; boot from a disk or CD-ROM image");
                case "-spice":
                case "-audiodev":
                case "-usbdevice":
                case "-usb":
                    throw new IllegalArgumentException(opt + " is not supported by stubdm (no SPICE, sound or USB devices)");
                case "-chroot":
                case "-runas":
                case "-xen-domid-restrict":
                    throw new IllegalArgumentException(opt + ": dm_restrict is not supported (a JVM cannot run under its "
                            + "RLIMIT_FSIZE and empty chroot); leave dm_restrict off");
                case "-global": {
                    // libxl passes these through from device_model_args_hvm; QEMU's form is driver.property=value.
                    int eq = value.indexOf('=');
                    int dot = value.indexOf('.');
                    if (eq < 0 || dot <= 0 || dot > eq) {
                        throw new IllegalArgumentException("-global " + value + ": expected <driver>.<property>=<value>");
                    }
                    String key = value.substring(0, eq);
                    if (!GLOBALS.contains(key)) {
                        throw new IllegalArgumentException("-global " + value + ": stubdm supports only " + GLOBALS);
                    }
                    globals.put(key, value.substring(eq + 1));
                    break;
                }
                default:
                    // -nodefaults, -no-user-config, -xen-attach, -nographic, -k, -sandbox: nothing to do.
                    break;
            }
        }
        if (domid == null) {
            throw new IllegalArgumentException("-xen-domid is required");
        }
        for (String once : List.of("-xen-domid", "-m", "-machine", "-smp", "-name", "-boot")) {
            if (seen.getOrDefault(once, 0) > 1) {
                throw new IllegalArgumentException(once + " given more than once");
            }
        }
        if (!acpi && machine.acpi()) {
            machine = new DeviceModelArgs.Machine(machine.type(), false, machine.maxRamBelow4g());
        }
        return new DeviceModelArgs(domid, machine.type(), name, machine, memoryMiB, vcpus, maxVcpus, boot,
                List.copyOf(chardevs), List.copyOf(monitors), List.copyOf(serials), List.copyOf(devices),
                List.copyOf(netdevs), noNetwork, List.copyOf(drives), vnc, paused, incoming, noShutdown, romDir,
                Map.copyOf(globals));
    }

    private static DeviceModelArgs.Machine machine(String value, boolean acpi) {
        QemuOpts m = QemuOpts.parse("-machine", value, "type")
                .only(Set.of("type", "accel", "suppress-vmdesc", "max-ram-below-4g", "igd-passthru"));
        if (m.flag("igd-passthru", false)) {
            throw new IllegalArgumentException("-machine " + value + ": graphics passthrough is not supported");
        }
        Optional<Long> below4g = m.get("max-ram-below-4g") == null ? Optional.empty()
                : Optional.of(size("-machine max-ram-below-4g", m.get("max-ram-below-4g")));
        switch (m.require("type")) {
            case "xenfv":
                return new DeviceModelArgs.Machine(DeviceModelArgs.Mode.XENFV, acpi, below4g);
            case "pc":
                if (!"xen".equals(m.get("accel"))) {
                    throw new IllegalArgumentException("-machine " + value + ": only accel=xen is supported");
                }
                return new DeviceModelArgs.Machine(DeviceModelArgs.Mode.PC_XEN, acpi, below4g);
            case "xenpv":
                return new DeviceModelArgs.Machine(DeviceModelArgs.Mode.XENPV, false, Optional.empty());
            default:
                throw new IllegalArgumentException("-machine " + value + ": unknown machine type " + m.get("type"));
        }
    }

    /** -m takes MiB by default, or a size with a suffix. */
    private static long memory(String value) {
        String v = value.startsWith("size=") ? value.substring(5) : value;
        boolean bare = !v.isEmpty() && Character.isDigit(v.charAt(v.length() - 1));
        long bytes = size("-m", bare ? v + "M" : v);
        return bytes >> 20;
    }

    private static long size(String what, String v) {
        if (v.isEmpty()) {
            throw new IllegalArgumentException(what + ": empty size");
        }
        char unit = Character.toUpperCase(v.charAt(v.length() - 1));
        long mult = 1;
        String digits = v;
        switch (unit) {
            case 'K': mult = 1L << 10; break;
            case 'M': mult = 1L << 20; break;
            case 'G': mult = 1L << 30; break;
            case 'T': mult = 1L << 40; break;
            default: mult = 1;
        }
        if (mult != 1) {
            digits = v.substring(0, v.length() - 1);
        }
        try {
            long n = Long.parseLong(digits);
            if (n <= 0 || n > Long.MAX_VALUE / mult) {
                throw new NumberFormatException();
            }
            return n * mult;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": '" + v + "' is not a size");
        }
    }

    private static int parseInt(String opt, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) {
                throw new IllegalArgumentException(opt + " " + v + ": must be " + min + ".." + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + " " + v + ": not a number");
        }
    }
}
