package io.stubdm.runtime.metrics;

import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.xen.XenHypervisor;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code stubdm exporter}: in Dom0, serves the metrics of every guest's device model (in Dom0 or in a stub domain)
 * to Prometheus over HTTP, until SIGTERM or SIGINT.
 */
public final class ExporterCommand {
    static final String USAGE = "usage: stubdm exporter [--listen HOST:PORT] [--timeout SECONDS] [--qmp-dir DIR]";
    static final String DEFAULT_HOST = "127.0.0.1";
    static final int DEFAULT_PORT = 9750;
    /** Prometheus gives up on a scrape after its scrape_timeout anyway; a device model slower than this is down. */
    static final Duration MAX_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern SECONDS = Pattern.compile("[0-9]+(\\.[0-9]+)?");
    private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");

    private ExporterCommand() {
    }

    /** The parsed command line; {@code help} when only the usage was asked for. */
    record Options(InetSocketAddress listen, Duration timeout, Path qmpDir, boolean help) {
    }

    /**
     * Runs the exporter; {@code argv} starts with {@code exporter}. Returns the exit status: 2 for bad arguments,
     * 1 when Xen or the listening address cannot be had, 0 once stopped by a signal.
     */
    public static int run(List<String> argv, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = parse(argv.subList(1, argv.size()));
        } catch (IllegalArgumentException e) {
            err.println("stubdm exporter: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        if (options.help()) {
            out.println(USAGE);
            out.println("  --listen HOST:PORT  where to serve /metrics (default " + DEFAULT_HOST + ":" + DEFAULT_PORT
                    + "; [::1]:PORT for IPv6)");
            out.println("  --timeout SECONDS   how long each device model may take to answer (default "
                    + DeviceModelScraper.DEFAULT_TIMEOUT.toSeconds() + ", at most " + MAX_TIMEOUT.toSeconds() + ")");
            out.println("  --qmp-dir DIR       where libxl puts the QMP sockets (default "
                    + GuestDirectory.DEFAULT_QMP_DIR + ")");
            return 0;
        }
        if (!Files.isDirectory(options.qmpDir())) {
            // Not fatal: Xen's tools may create it later. Until then every guest is reported down, with the reason.
            err.println("stubdm exporter: warning: " + options.qmpDir() + " is not a directory; no device model "
                    + "can be reached until it is");
        }
        XenHypervisor xen;
        XenStore xenstore;
        try {
            xen = XenHypervisor.open();
        } catch (XenException | UnsatisfiedLinkError e) {
            err.println("stubdm exporter: cannot reach Xen: " + e.getMessage());
            return 1;
        }
        try {
            xenstore = xen.openXenStore();
        } catch (XenException | UnsatisfiedLinkError e) {
            err.println("stubdm exporter: cannot open xenstore: " + e.getMessage());
            xen.close();
            return 1;
        }
        DeviceModelScraper scraper = new DeviceModelScraper(new GuestDirectory(xenstore, options.qmpDir())::guests,
                options.timeout());
        MetricsExporter server;
        try {
            server = MetricsExporter.start(options.listen(), scraper);
        } catch (IOException e) {
            err.println("stubdm exporter: " + e.getMessage());
            scraper.close();
            xenstore.close();
            xen.close();
            return 1;
        }
        // SIGTERM (systemd) and SIGINT run the shutdown hooks; the scrape threads are stopped before xenstore goes.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            scraper.close();
            xenstore.close();
            xen.close();
        }, "exporter-shutdown"));
        try {
            server.awaitClose();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** The options after {@code exporter}; IllegalArgumentException saying what is wrong. */
    static Options parse(List<String> args) {
        InetSocketAddress listen = null;
        Duration timeout = DeviceModelScraper.DEFAULT_TIMEOUT;
        Path qmpDir = GuestDirectory.DEFAULT_QMP_DIR;
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--help") || arg.equals("-h")) {
                return new Options(null, timeout, qmpDir, true);
            }
            int eq = arg.indexOf('=');
            String name = arg.startsWith("--") && eq > 0 ? arg.substring(0, eq) : arg;
            if (!name.equals("--listen") && !name.equals("--timeout") && !name.equals("--qmp-dir")) {
                throw new IllegalArgumentException("unknown argument '" + arg + "'");
            }
            String value;
            if (eq > 0 && arg.startsWith("--")) {
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.size()) {
                value = args.get(++i);
            } else {
                throw new IllegalArgumentException(name + " needs a value");
            }
            if (!seen.add(name)) {
                throw new IllegalArgumentException(name + " is given twice");
            }
            switch (name) {
                case "--listen" -> listen = parseListen(value);
                case "--timeout" -> timeout = parseTimeout(value);
                default -> {
                    if (value.isEmpty()) {
                        throw new IllegalArgumentException("--qmp-dir needs a directory");
                    }
                    qmpDir = Path.of(value);
                }
            }
        }
        return new Options(listen != null ? listen : new InetSocketAddress(DEFAULT_HOST, DEFAULT_PORT), timeout,
                qmpDir, false);
    }

    /** {@code HOST:PORT}, {@code [IPV6]:PORT}. */
    static InetSocketAddress parseListen(String value) {
        String host;
        String port;
        if (value.startsWith("[")) {
            int close = value.indexOf("]:");
            if (close < 0) {
                throw listenError(value);
            }
            host = value.substring(1, close);
            port = value.substring(close + 2);
        } else {
            int colon = value.lastIndexOf(':');
            if (colon < 0) {
                throw listenError(value);
            }
            host = value.substring(0, colon);
            port = value.substring(colon + 1);
            if (host.contains(":")) {
                throw new IllegalArgumentException("--listen '" + value + "': put an IPv6 address in brackets, "
                        + "as [::1]:" + DEFAULT_PORT);
            }
        }
        if (host.isEmpty()) {
            throw listenError(value);
        }
        if (!PORT.matcher(port).matches() || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("--listen '" + value + "': '" + port + "' is not a port (1-65535)");
        }
        InetSocketAddress address = new InetSocketAddress(host, Integer.parseInt(port));
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("--listen '" + value + "': cannot resolve '" + host + "'");
        }
        return address;
    }

    private static IllegalArgumentException listenError(String value) {
        return new IllegalArgumentException("--listen wants HOST:PORT (as " + DEFAULT_HOST + ":" + DEFAULT_PORT
                + " or [::1]:" + DEFAULT_PORT + "), not '" + value + "'");
    }

    /** Seconds, decimals allowed, more than 0 and at most {@link #MAX_TIMEOUT}. */
    static Duration parseTimeout(String value) {
        if (!SECONDS.matcher(value).matches() || value.length() > 12) {
            throw new IllegalArgumentException("--timeout wants seconds (as 5 or 2.5), not '" + value + "'");
        }
        Duration timeout = Duration.ofMillis(Math.round(Double.parseDouble(value) * 1000));
        if (timeout.isZero() || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException("--timeout " + value + ": must be more than 0 and at most "
                    + MAX_TIMEOUT.toSeconds() + " seconds");
        }
        return timeout;
    }
}
