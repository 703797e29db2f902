package io.stubdm.boottest;

import com.fasterxml.jackson.databind.JsonNode;
import io.stubdm.runtime.metrics.QmpClient;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Boots one guest with {@code xl} and follows its serial console through a profile: writes the xl config, prepares
 * the disk ({@link GuestDisk}), creates the guest paused, attaches {@code xl console} (under script(1): xenconsole
 * forwards keystrokes only from a terminal), unpauses it, feeds the console to a {@link ConsoleTracker}, takes a
 * screenshot at each milestone when the guest has a VGA, asks the device model for its metrics at the end, and
 * destroys the guest. Works the same on a Xen host and in the nested lab.
 */
public final class XlBootRunner {
    private static final System.Logger LOG = System.getLogger(XlBootRunner.class.getName());
    private static final Duration XL_LIMIT = Duration.ofSeconds(60);
    private static final long TICK_MILLIS = 250;

    private final BootTestOptions o;

    public XlBootRunner(BootTestOptions options) {
        this.o = options;
    }

    /** The xl config for this test, with {@code disk} as its disk. */
    String config(GuestDisk disk) {
        StringBuilder c = new StringBuilder();
        c.append("# stubdm boot-test ").append(o.name()).append(" (").append(o.profile().name()).append(")\n");
        c.append("name = \"").append(o.name()).append("\"\n");
        c.append("type = \"hvm\"\nmemory = ").append(o.memoryMiB()).append("\nvcpus = 1\n");
        c.append("device_model_version = \"qemu-xen\"\n");
        c.append("device_model_override = \"").append(o.stubdm()).append("\"\n");
        if (o.placement() == BootTestOptions.Placement.STUBDOM) {
            c.append("device_model_stubdomain_override = 1\nstubdomain_memory = ").append(o.stubdomMemoryMiB()).append('\n');
        }
        c.append("disk = [ '").append(disk.spec).append("' ]\n");
        c.append("vif = [ 'model=").append(o.nic()).append(",bridge=").append(o.bridge()).append("' ]\n");
        c.append("boot = \"").append(disk.boot).append("\"\n");
        c.append("serial = \"pty\"\nvga = \"").append(o.vga()).append("\"\nvnc = 0\n");
        // Preserved, not destroyed or rebooted: the evidence (and the device model's metrics) stays until we look.
        c.append("on_poweroff = \"preserve\"\non_reboot = \"preserve\"\non_crash = \"preserve\"\n");
        for (String line : o.extraConfig()) {
            c.append(line.strip()).append('\n');
        }
        return c.toString();
    }

    public BootRun run() throws IOException {
        Files.createDirectories(o.outDir());
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        List<BootRun.Screenshot> shots = new ArrayList<>();
        Optional<String> metrics = Optional.empty();
        BootOutcome outcome;
        try (GuestDisk disk = GuestDisk.prepare(o)) {
            Path cfg = o.outDir().resolve(o.name() + ".cfg");
            Files.writeString(cfg, config(disk));
            LOG.log(System.Logger.Level.INFO, "boot-test " + o.name() + ": " + disk.description);
            Commands.run(o.createTimeout(), List.of(o.xl(), "create", "-p", cfg.toString()));
            Process console = null;
            try {
                int domid = Integer.parseInt(Commands.run(XL_LIMIT, List.of(o.xl(), "domid", o.name())).strip());
                console = new ProcessBuilder("script", "-qfec", o.xl() + " console " + o.name(), "/dev/null")
                        .redirectError(o.outDir().resolve(o.name() + ".console.err").toFile()).start();
                OutputStream keyboard = console.getOutputStream();
                BlockingQueue<Object> pieces = new LinkedBlockingQueue<>();
                Thread reader = startReader(console, pieces);
                Commands.run(XL_LIMIT, List.of(o.xl(), "unpause", o.name()));
                ConsoleTracker tracker = new ConsoleTracker(o.profile(), keys -> type(keyboard, keys), t0);
                outcome = follow(tracker, pieces, shots);
                metrics = metrics(domid);
                if (!o.vga().equals("none")) {
                    screenshot("end", shots);
                }
                reader.interrupt();
            } finally {
                try {
                    Commands.run(XL_LIMIT, List.of(o.xl(), "destroy", o.name()));
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "boot-test " + o.name() + ": " + e.getMessage());
                }
                if (console != null) {
                    console.destroy();
                    try {
                        console.waitFor(5, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    console.destroyForcibly();
                }
            }
        }
        return new BootRun(o.name(), o.image(), o.placement().label(), o.nic(), o.memoryMiB(), started,
                (System.nanoTime() - t0) / 1e9, outcome, shots, metrics);
    }

    /** The console's text as it comes, in pieces with their arrival time; a Long marks its end. */
    private static Thread startReader(Process console, BlockingQueue<Object> pieces) {
        Thread t = new Thread(() -> {
            char[] buf = new char[4096];
            try (Reader r = new InputStreamReader(console.getInputStream(), StandardCharsets.UTF_8)) {
                int n;
                while ((n = r.read(buf)) > 0) {
                    pieces.add(new Piece(new String(buf, 0, n), System.nanoTime()));
                }
            } catch (IOException e) {
                // the console is gone; the tracker hears of it below
            }
            pieces.add(System.nanoTime());
        }, "boot-test-console");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private record Piece(String text, long nanos) {
    }

    private BootOutcome follow(ConsoleTracker tracker, BlockingQueue<Object> pieces, List<BootRun.Screenshot> shots)
            throws IOException {
        int reached = 0;
        while (!tracker.done()) {
            Object next;
            try {
                next = pieces.poll(TICK_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("boot-test interrupted");
            }
            long now = System.nanoTime();
            if (next instanceof Piece p) {
                tracker.feed(p.text(), p.nanos());
            } else if (next instanceof Long end) {
                tracker.consoleClosed(end);
                break;
            }
            tracker.tick(now);
            List<BootOutcome.MilestoneResult> sofar = tracker.reached();
            for (int i = reached; i < sofar.size() && !o.vga().equals("none"); i++) {
                screenshot(sofar.get(i).name(), shots);
            }
            reached = sofar.size();
        }
        return tracker.outcome();
    }

    private static void type(OutputStream keyboard, String keys) {
        try {
            keyboard.write(keys.getBytes(StandardCharsets.UTF_8));
            keyboard.flush();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "could not type into the console: " + e.getMessage());
        }
    }

    /** The screen now, through the device model's human monitor (as `xl qemu-monitor-command` sends it). */
    private void screenshot(String milestone, List<BootRun.Screenshot> shots) {
        Path file = o.outDir().resolve(o.name() + "-" + (shots.size() + 1) + "-"
                + milestone.replaceAll("[^A-Za-z0-9]+", "-") + ".png").toAbsolutePath();
        try {
            Commands.run(XL_LIMIT, List.of(o.xl(), "qemu-monitor-command", o.name(), "screendump " + file + " -f png"));
            if (Files.isRegularFile(file) && Files.size(file) > 0) {
                shots.add(new BootRun.Screenshot(milestone, file));
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "screenshot at " + milestone + " failed: " + e.getMessage());
        }
    }

    /**
     * The device model's metrics: in Dom0 through libxenstat's QMP socket, in a stub domain through libxl's (the
     * vchan proxy's) socket. Absent when it does not answer (a device model that is not stubdm, say).
     */
    private Optional<String> metrics(int domid) {
        String socket = (o.placement() == BootTestOptions.Placement.DOM0 ? "qmp-libxenstat-" : "qmp-libxl-") + domid;
        try {
            JsonNode r = QmpClient.execute(o.qmpDir().resolve(socket), "x-query-metrics", Duration.ofSeconds(15));
            return Optional.ofNullable(r.path("text").asText(null));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "no metrics from the device model: " + e.getMessage());
            return Optional.empty();
        }
    }
}
