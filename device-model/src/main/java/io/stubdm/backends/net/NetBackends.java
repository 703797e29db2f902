package io.stubdm.backends.net;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Opens network backends from {@code -netdev} arguments, in the forms libxl and QEMU users write:
 * <ul>
 * <li>{@code type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no} (libxl, §1.2 item 8 of the
 * protocol notes), also as {@code tap,id=...}. {@code br=} is accepted and ignored: the vif-bridge hotplug
 * script puts the interface on the bridge. stubdm never runs scripts, so {@code script=} and
 * {@code downscript=} must be {@code no} when given.</li>
 * <li>{@code socket,id=n,udp=127.0.0.1:5556,localaddr=127.0.0.1:5555}: Ethernet over UDP.</li>
 * <li>{@code dgram,id=n,local.type=inet,local.host=127.0.0.1,local.port=5555,remote.type=inet,
 * remote.host=127.0.0.1,remote.port=5556}: the same, in QEMU 7.2's newer syntax.</li>
 * <li>{@code none}: a NIC with no cable.</li>
 * </ul>
 * Options are checked by name before anything is opened; one that stubdm does not implement is rejected by
 * name rather than ignored.
 */
public final class NetBackends {
    private static final Set<String> TAP_KEYS = Set.of("id", "ifname", "br", "script", "downscript");
    private static final Set<String> SOCKET_KEYS = Set.of("id", "udp", "localaddr");
    private static final Set<String> DGRAM_KEYS = Set.of("id", "local.type", "local.host", "local.port",
            "remote.type", "remote.host", "remote.port");

    private NetBackends() {
    }

    /** A parsed and opened {@code -netdev}: its {@code id} (what {@code -device ...,netdev=} names) and backend. */
    public record Netdev(String id, NetBackend backend) {
    }

    /**
     * Opens the backend {@code spec} describes. A TAP interface exists when this returns.
     *
     * @throws IllegalArgumentException naming the part of {@code spec} that is wrong or not supported
     * @throws UncheckedIOException if the backend cannot be opened (no such device, no permission, port in use)
     */
    public static Netdev parse(String spec) {
        if (spec == null || spec.isEmpty()) {
            throw new IllegalArgumentException("empty -netdev specification");
        }
        Map<String, String> opts = options(spec);
        String type = opts.remove("type");
        if (type == null) {
            throw new IllegalArgumentException(error(spec, "no type (tap, socket, dgram or none)"));
        }
        try {
            switch (type) {
                case "none":
                    allowOnly(spec, opts, Set.of("id"));
                    return new Netdev(opts.get("id"), new NullNetBackend());
                case "tap":
                    return tap(spec, opts);
                case "socket":
                    return socket(spec, opts);
                case "dgram":
                    return dgram(spec, opts);
                default:
                    throw new IllegalArgumentException(error(spec, "type '" + type
                            + "' is not supported (stubdm has tap, socket with udp=, dgram with inet addresses, none)"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open -netdev '" + spec + "': " + e.getMessage(), e);
        }
    }

    private static Netdev tap(String spec, Map<String, String> opts) throws IOException {
        allowOnly(spec, opts, TAP_KEYS);
        String id = requireId(spec, opts);
        for (String key : new String[] {"script", "downscript"}) {
            String script = opts.get(key);
            if (script != null && !script.equals("no")) {
                throw new IllegalArgumentException(error(spec, key + "=" + script
                        + ": stubdm never runs scripts; the hotplug script configures the interface (use " + key + "=no)"));
            }
        }
        return new Netdev(id, new TapBackend(opts.getOrDefault("ifname", "")));
    }

    private static Netdev socket(String spec, Map<String, String> opts) throws IOException {
        for (String form : new String[] {"listen", "connect", "mcast", "fd"}) {
            if (opts.containsKey(form)) {
                throw new IllegalArgumentException(error(spec, "socket " + form
                        + "= is not supported; stubdm has only the udp=HOST:PORT,localaddr=HOST:PORT form"));
            }
        }
        allowOnly(spec, opts, SOCKET_KEYS);
        String id = requireId(spec, opts);
        String udp = required(spec, opts, "udp");
        String localaddr = required(spec, opts, "localaddr");
        return new Netdev(id, new UdpSocketBackend(hostPort(spec, "localaddr", localaddr, true),
                hostPort(spec, "udp", udp, false)));
    }

    private static Netdev dgram(String spec, Map<String, String> opts) throws IOException {
        allowOnly(spec, opts, DGRAM_KEYS);
        String id = requireId(spec, opts);
        for (String end : new String[] {"local", "remote"}) {
            String t = required(spec, opts, end + ".type");
            if (!t.equals("inet")) {
                throw new IllegalArgumentException(error(spec, end + ".type=" + t + " is not supported (only inet)"));
            }
        }
        InetSocketAddress local = address(spec, "local", opts.getOrDefault("local.host", ""),
                required(spec, opts, "local.port"), true);
        InetSocketAddress remote = address(spec, "remote", required(spec, opts, "remote.host"),
                required(spec, opts, "remote.port"), false);
        return new Netdev(id, new UdpSocketBackend(local, remote));
    }

    /**
     * {@code key=value} pairs in order; a first element without '=' is the type, as in QEMU's implied
     * {@code type=}.
     */
    private static Map<String, String> options(String spec) {
        Map<String, String> opts = new LinkedHashMap<>();
        String[] parts = spec.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i];
            int eq = part.indexOf('=');
            String key = eq < 0 && i == 0 ? "type" : eq < 0 ? part : part.substring(0, eq);
            String value = eq < 0 ? (i == 0 ? part : "") : part.substring(eq + 1);
            if (key.isEmpty() || value.isEmpty()) {
                throw new IllegalArgumentException(error(spec, "'" + part + "' is not KEY=VALUE"));
            }
            if (opts.put(key, value) != null) {
                throw new IllegalArgumentException(error(spec, "option '" + key + "' given twice"));
            }
        }
        return opts;
    }

    private static void allowOnly(String spec, Map<String, String> opts, Set<String> known) {
        for (String key : opts.keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException(error(spec, "option '" + key + "' is not supported (stubdm knows "
                        + String.join(", ", known.stream().sorted().toArray(String[]::new)) + ")"));
            }
        }
    }

    private static String requireId(String spec, Map<String, String> opts) {
        return required(spec, opts, "id");
    }

    private static String required(String spec, Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null) {
            throw new IllegalArgumentException(error(spec, "missing " + key + "="));
        }
        return v;
    }

    /** {@code HOST:PORT} or {@code [V6]:PORT}; an empty host means any address, for a local end only. */
    private static InetSocketAddress hostPort(String spec, String key, String value, boolean local) {
        int colon = value.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException(error(spec, key + "=" + value + " is not HOST:PORT"));
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return address(spec, key, host, value.substring(colon + 1), local);
    }

    private static InetSocketAddress address(String spec, String what, String host, String port, boolean local) {
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < 0 || p > 65535 || (!local && p == 0)) {
            throw new IllegalArgumentException(error(spec, what + " port '" + port + "' is not a port number"));
        }
        if (host.isEmpty()) {
            if (!local) {
                throw new IllegalArgumentException(error(spec, what + " needs a host"));
            }
            return new InetSocketAddress(p);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), p);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(error(spec, what + " host '" + host + "' is unknown"), e);
        }
    }

    private static String error(String spec, String what) {
        return "-netdev '" + spec + "': " + what;
    }
}
