package io.stubdm.backends.chardev;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Opens character backends from the arguments libxl gives QEMU: the {@code -serial} forms ({@code pty},
 * {@code stdio}, {@code null}, {@code none}, {@code file:/path}, {@code pipe:/path},
 * {@code unix:/path,server=on,wait=off}, {@code /dev/hvc3}) and the {@code -chardev} forms
 * ({@code socket,id=x,path=/p,server=on,wait=off}, {@code pty,id=x}, {@code file,id=x,path=/p[,append=on|off]},
 * {@code pipe,id=x,path=/p}, {@code stdio,id=x}, {@code null,id=x}, {@code serial,id=x,path=/dev/hvc3}; the
 * {@code id} is the caller's business). The same forms name the outputs of a stub domain's PV consoles in
 * xenstore ({@code file:/var/lib/xen/qemu-save.5}, {@code pipe:/var/lib/xen/qemu-resume.5}, {@code pty}).
 */
public final class CharBackends {
    private static final Set<String> CHARDEV_TYPES = Set.of("socket", "pty", "file", "pipe", "stdio", "null", "serial",
            "tty");

    private CharBackends() {
    }

    /**
     * Opens the backend {@code spec} names. Empty for {@code none}, which asks for no port at all (QEMU creates
     * no device then), unlike {@code null}, a port with nothing behind it.
     *
     * @throws IllegalArgumentException naming the part of {@code spec} that is not understood
     * @throws UncheckedIOException if the backend cannot be opened
     */
    public static Optional<CharBackend> parse(String spec) {
        return parse(spec, true);
    }

    /**
     * {@link #parse(String)}, choosing what {@code file:} does to a file that exists: {@code appendToFiles} false
     * truncates it, QEMU's default (which a {@code -chardev file,...,append=on} still overrides).
     */
    public static Optional<CharBackend> parse(String spec, boolean appendToFiles) {
        if (spec == null || spec.isEmpty()) {
            throw new IllegalArgumentException("empty character device specification");
        }
        try {
            return open(spec, appendToFiles);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open character device '" + spec + "': " + e.getMessage(), e);
        }
    }

    private static Optional<CharBackend> open(String spec, boolean appendToFiles) throws IOException {
        int comma = spec.indexOf(',');
        String head = comma < 0 ? spec : spec.substring(0, comma);
        if (CHARDEV_TYPES.contains(head) && comma >= 0) {
            return Optional.of(openChardev(spec, head, options(spec, spec.substring(comma + 1)), appendToFiles));
        }
        switch (head) {
            case "none":
                return Optional.empty();
            case "null":
                return Optional.of(new NullBackend());
            case "pty":
                return Optional.of(PtyBackend.open());
            case "stdio":
                return Optional.of(StdioBackend.open());
            default:
                break;
        }
        // A path runs to the end of the spec, commas and all, as in QEMU's file: and /dev/ forms.
        if (spec.startsWith("file:")) {
            return Optional.of(FileBackend.open(Path.of(nonEmpty(spec, "path", spec.substring(5))), appendToFiles));
        }
        if (spec.startsWith("pipe:")) {
            return Optional.of(PipeBackend.open(Path.of(nonEmpty(spec, "path", spec.substring(5)))));
        }
        if (spec.startsWith("unix:")) {
            Map<String, String> opts = comma < 0 ? new LinkedHashMap<>() : options(spec, spec.substring(comma + 1));
            opts.put("path", nonEmpty(spec, "path", head.substring(5)));
            return Optional.of(openSocket(spec, opts));
        }
        if (spec.startsWith("/dev/")) {
            return Optional.of(DeviceFileBackend.open(spec));
        }
        throw new IllegalArgumentException("character device '" + spec + "': '" + head + "' is not one of pty, "
                + "stdio, null, none, file:PATH, pipe:PATH, unix:PATH[,server=on|off][,wait=on|off], /dev/NODE, or a "
                + "-chardev socket, pty, file, pipe, stdio, null or serial backend");
    }

    private static CharBackend openChardev(String spec, String type, Map<String, String> opts, boolean appendToFiles)
            throws IOException {
        opts.remove("id");
        switch (type) {
            case "socket":
                return openSocket(spec, opts);
            case "file": {
                Path path = Path.of(takePath(spec, opts));
                return FileBackend.open(path, flag(spec, opts, "append", appendToFiles));
            }
            case "pipe":
                return PipeBackend.open(Path.of(takePath(spec, opts)));
            case "serial":
            case "tty":
                return DeviceFileBackend.open(takePath(spec, opts));
            default:
                break;
        }
        rejectLeftovers(spec, opts);
        switch (type) {
            case "pty":
                return PtyBackend.open();
            case "stdio":
                return StdioBackend.open();
            default:
                return new NullBackend();
        }
    }

    private static CharBackend openSocket(String spec, Map<String, String> opts) throws IOException {
        Path path = Path.of(takePath(spec, opts));
        boolean server = flag(spec, opts, "server", false);
        // QEMU waits for the first client by default, as a server.
        boolean waitForClient = flag(spec, opts, "wait", true);
        rejectLeftovers(spec, opts);
        return server ? UnixSocketBackend.server(path, waitForClient) : UnixSocketBackend.client(path);
    }

    /** {@code key=value} pairs; a bare {@code key} means {@code key=on} and {@code noKEY} means off, as in QEMU. */
    private static Map<String, String> options(String spec, String list) {
        Map<String, String> opts = new LinkedHashMap<>();
        for (String part : list.split(",", -1)) {
            int eq = part.indexOf('=');
            String key = eq < 0 ? part : part.substring(0, eq);
            String value = eq < 0 ? "on" : part.substring(eq + 1);
            if (eq < 0 && (key.equals("nowait") || key.equals("noserver"))) {
                key = key.substring(2);
                value = "off";
            }
            if (key.isEmpty()) {
                throw new IllegalArgumentException("character device '" + spec + "': empty option in '" + list + "'");
            }
            if (opts.put(key, value) != null) {
                throw new IllegalArgumentException("character device '" + spec + "': option '" + key + "' given twice");
            }
        }
        return opts;
    }

    private static String takePath(String spec, Map<String, String> opts) {
        String path = opts.remove("path");
        if (path == null) {
            throw new IllegalArgumentException("character device '" + spec + "': missing path=");
        }
        return nonEmpty(spec, "path", path);
    }

    private static boolean flag(String spec, Map<String, String> opts, String key, boolean absent) {
        String value = opts.remove(key);
        if (value == null) {
            return absent;
        }
        switch (value) {
            case "on":
            case "yes":
            case "true":
                return true;
            case "off":
            case "no":
            case "false":
                return false;
            default:
                throw new IllegalArgumentException("character device '" + spec + "': " + key + "=" + value
                        + " is not on or off");
        }
    }

    private static void rejectLeftovers(String spec, Map<String, String> opts) {
        if (!opts.isEmpty()) {
            throw new IllegalArgumentException("character device '" + spec + "': unsupported option '"
                    + opts.keySet().iterator().next() + "'");
        }
    }

    private static String nonEmpty(String spec, String what, String value) {
        if (value.isEmpty()) {
            throw new IllegalArgumentException("character device '" + spec + "': empty " + what);
        }
        return value;
    }
}
