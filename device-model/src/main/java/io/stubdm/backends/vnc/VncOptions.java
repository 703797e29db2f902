package io.stubdm.backends.vnc;

import java.util.Locale;
import java.util.Set;

/**
 * QEMU's -vnc option value.
 *
 * @param host     the address to listen on; "" for all interfaces (QEMU's ":1")
 * @param display  VNC display number: the port is 5900 + display
 * @param to       the last display to try when the port is in use (QEMU's to=); equals display without to=
 * @param password whether clients must authenticate (password=on)
 * @param text     the value as given
 */
public record VncOptions(String host, int display, int to, boolean password, String text) {
    /** The highest display number: port 65535. */
    public static final int MAX_DISPLAY = 65535 - 5900;

    private static final String ACCEPTED = "expected [host]:display[,to=N][,password=on|off], with host an IPv4 "
            + "address, a name or [IPv6], e.g. 127.0.0.1:0, :1, [::1]:2, localhost:0,to=99";

    /** Options of QEMU's -vnc that change nothing here: accepted so that existing command lines keep working. */
    private static final Set<String> IGNORED = Set.of("id", "display", "head", "share", "lossy", "non-adaptive",
            "websocket", "key-delay-ms", "lock-key-sync", "connections", "power-control", "audiodev", "ipv4",
            "ipv6", "acl");

    /**
     * Options that ask for security this server does not implement (TLS, SASL, x509, a password from a secret
     * object): refused, not ignored, because ignoring them would expose the console unprotected.
     */
    private static final Set<String> REFUSED = Set.of("tls-creds", "tls-authz", "sasl", "sasl-authz", "x509",
            "x509verify", "password-secret", "tls", "vencrypt");

    public VncOptions {
        if (host == null) {
            throw new IllegalArgumentException("host is null (use \"\" for all interfaces)");
        }
        if (display < 0 || display > MAX_DISPLAY || to < display || to > MAX_DISPLAY) {
            throw new IllegalArgumentException("VNC display " + display + " to " + to + " outside 0.." + MAX_DISPLAY);
        }
    }

    /**
     * Parses QEMU's syntax: "127.0.0.1:0", ":1" (all interfaces), "[::1]:2", "localhost:0,to=99",
     * "0.0.0.0:0,password=on" (also bare "password" = on, "password=off"); QEMU's other harmless keys (lossy,
     * share, websocket, key-delay-ms, ...) are accepted and ignored. Unknown keys, security options not
     * implemented here, "unix:..." and "none" are rejected with an IllegalArgumentException naming the value
     * and what is accepted.
     */
    public static VncOptions parse(String value) {
        if (value == null) {
            throw new IllegalArgumentException("-vnc value is null; " + ACCEPTED);
        }
        String[] parts = value.split(",", -1);
        String address = parts[0];
        if (address.equals("none")) {
            throw new IllegalArgumentException("-vnc " + value + ": \"none\" (VNC without a listener) is not "
                    + "supported; leave -vnc out instead, or " + ACCEPTED);
        }
        if (address.startsWith("unix:")) {
            throw new IllegalArgumentException("-vnc " + value + ": unix sockets are not supported; " + ACCEPTED);
        }
        int colon = address.lastIndexOf(':');
        if (colon < 0) {
            throw bad(value, "no display number");
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[")) {
            if (!host.endsWith("]") || host.length() < 3) {
                throw bad(value, "unbalanced brackets around the IPv6 address");
            }
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw bad(value, "an IPv6 address must be in brackets");
        } else if (host.contains("[") || host.contains("]")) {
            throw bad(value, "stray bracket in the host");
        }
        int display = number(value, "display", address.substring(colon + 1));
        Integer to = null;
        boolean password = false;
        for (int i = 1; i < parts.length; i++) {
            String option = parts[i];
            int eq = option.indexOf('=');
            String key = (eq < 0 ? option : option.substring(0, eq)).toLowerCase(Locale.ROOT);
            String v = eq < 0 ? null : option.substring(eq + 1);
            if (key.isEmpty()) {
                throw bad(value, "empty option");
            }
            switch (key) {
                case "to" -> {
                    if (v == null) {
                        throw bad(value, "to needs a display number (to=N)");
                    }
                    to = number(value, "to", v);
                }
                case "password" -> password = v == null || bool(value, key, v);
                case "reverse" -> {
                    if (v == null || bool(value, key, v)) {
                        throw bad(value, "reverse connections are not supported");
                    }
                }
                default -> {
                    if (REFUSED.contains(key)) {
                        throw bad(value, key + " is not supported (only VNC password authentication is)");
                    }
                    if (!IGNORED.contains(key)) {
                        throw bad(value, "unknown option \"" + key + "\"");
                    }
                }
            }
        }
        if (display > MAX_DISPLAY) {
            throw bad(value, "display " + display + " is above " + MAX_DISPLAY + " (port 65535)");
        }
        int last = to == null ? display : to;
        if (last < display || last > MAX_DISPLAY) {
            throw bad(value, "to=" + last + " must be between the display (" + display + ") and " + MAX_DISPLAY);
        }
        return new VncOptions(host, display, last, password, value);
    }

    private static int number(String value, String what, String digits) {
        if (digits.isEmpty() || digits.length() > 6 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw bad(value, what + " \"" + digits + "\" is not a number");
        }
        return Integer.parseInt(digits);
    }

    private static boolean bool(String value, String key, String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw bad(value, key + "=" + v + " is not on or off");
        };
    }

    private static IllegalArgumentException bad(String value, String problem) {
        return new IllegalArgumentException("-vnc " + value + ": " + problem + "; " + ACCEPTED);
    }

    /** Whether the server listens on every interface. */
    public boolean allInterfaces() {
        return host.isEmpty();
    }
}
