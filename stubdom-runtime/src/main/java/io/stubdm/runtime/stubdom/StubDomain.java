package io.stubdm.runtime.stubdom;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What stubdm does around the device model when it runs inside a Linux stub domain (xen-dm-protocol.md §4.6):
 * bridges the TAP of each emulated NIC to the stub domain's own PV NIC, so that the guest's frames reach Dom0's
 * bridge through netfront and netback; and keeps Xen's {@code vchan-socket-proxy} serving QMP, which libxl reaches
 * through the vchan published at {@code device-model/<guest>/qmp-vchan}.
 */
public final class StubDomain implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StubDomain.class.getName());
    /** Debian's path of Xen's proxy (xen-utils-4.17), kept in the stub domain's image. */
    public static final String VCHAN_PROXY = "/usr/lib/xen-4.17/bin/vchan-socket-proxy";
    /** The bridge the stub domain's init made of eth0, its PV NIC. */
    static final String BRIDGE = "br0";
    /** A MAC no guest uses, so that the bridge never answers for the guest's own (Qubes uses the same). */
    static final String TAP_MAC = "fe:ff:ff:ff:ff:fd";
    /** Written by the image's init once the PV NIC and the bridge are up (or there is no PV NIC). */
    static final String NETWORK_READY = "/run/stubdm/network-ready";

    private final StubdomArgv argv;
    private final List<String> proxyCommand;
    private final List<String> ipCommand;
    private final List<String> brctlCommand;
    private volatile boolean closed;
    private Thread supervisor;
    private volatile Process proxy;

    StubDomain(StubdomArgv argv, String proxyPath, String busybox) {
        this.argv = argv;
        this.proxyCommand = List.of(proxyPath, "--mode=server", "0", argv.qmpVchanPath(), StubdomArgv.QMP_SOCKET);
        this.ipCommand = List.of(busybox, "ip");
        this.brctlCommand = List.of(busybox, "brctl");
    }

    public static StubDomain forImage(StubdomArgv argv) {
        return new StubDomain(argv, System.getProperty("stubdm.vchanProxy", VCHAN_PROXY),
                System.getProperty("stubdm.busybox", "/bin/busybox"));
    }

    /**
     * Waits until the device nodes the arguments name exist (at most {@code timeoutMillis} in all), so that a disk
     * or console whose frontend is still connecting is not taken for a missing one. Returns those still missing.
     */
    public List<String> awaitDevices(long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        List<String> missing = new ArrayList<>(argv.devicePaths());
        while (true) {
            missing.removeIf(path -> Files.exists(Path.of(path)));
            if (missing.isEmpty() || System.nanoTime() > deadline) {
                return missing;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return missing;
            }
        }
    }

    /** Called once the device model has created its TAPs, before its guest can run. */
    public void bridgeTaps() {
        for (String tap : argv.tapNames()) {
            bridge(tap);
        }
        startMemoryReports();
    }

    /**
     * The stub domain's memory, in its log (the device-model log file in Dom0) once a minute: what an administrator
     * sizing {@code stubdomain_memory} needs, and the first thing to look at when a stub domain runs out.
     */
    private void startMemoryReports() {
        Thread reporter = new Thread(() -> {
            while (!closed) {
                LOG.log(Level.INFO, memoryReport());
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "stub-memory");
        reporter.setDaemon(true);
        reporter.start();
    }

    /** One line: the kernel's MemTotal, MemFree, MemAvailable and Shmem (the initramfs), and stubdm's own RSS. */
    static String memoryReport() {
        StringBuilder line = new StringBuilder("stub domain memory:");
        for (String key : List.of("MemTotal", "MemFree", "MemAvailable", "Shmem")) {
            line.append(' ').append(key).append('=').append(field(Path.of("/proc/meminfo"), key)).append("kB");
        }
        line.append(" stubdm VmRSS=").append(field(Path.of("/proc/self/status"), "VmRSS")).append("kB");
        line.append(" VmHWM=").append(field(Path.of("/proc/self/status"), "VmHWM")).append("kB");
        return line.toString();
    }

    private static String field(Path file, String key) {
        try {
            for (String l : Files.readAllLines(file)) {
                if (l.startsWith(key + ":")) {
                    return l.substring(key.length() + 1).trim().split("\\s+")[0];
                }
            }
        } catch (IOException e) {
            return "?";
        }
        return "?";
    }

    /** The commands that put {@code tap} on the stub domain's bridge, as the init's qemu-ifup would. */
    List<List<String>> bridgeCommands(String tap) {
        List<List<String>> commands = new ArrayList<>();
        commands.add(with(ipCommand, "link", "set", tap, "address", TAP_MAC));
        commands.add(with(brctlCommand, "addif", BRIDGE, tap));
        commands.add(with(ipCommand, "link", "set", tap, "up"));
        return commands;
    }

    private void bridge(String tap) {
        // The init sets up eth0 and the bridge while the JVM starts, and says when it is done.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(Path.of(NETWORK_READY)) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (!Files.exists(Path.of("/sys/class/net", BRIDGE))) {
            LOG.log(Level.ERROR, "the stub domain has no bridge " + BRIDGE + " (no PV NIC eth0?): the guest's NIC "
                    + tap + " reaches nothing");
            return;
        }
        for (List<String> command : bridgeCommands(tap)) {
            String result = runQuietly(command);
            if (result != null) {
                LOG.log(Level.ERROR, "bridging " + tap + ": " + result);
                return;
            }
        }
        LOG.log(Level.INFO, "bridged " + tap + " to " + BRIDGE);
    }

    /** Keeps Xen's vchan-socket-proxy serving QMP (see {@link #superviseProxy}). */
    public void startProxy() {
        supervisor = new Thread(this::superviseProxy, "vchan-socket-proxy");
        supervisor.setDaemon(true);
        supervisor.start();
    }

    /**
     * Runs the proxy, and again if it ends: without it libxl loses QMP, so it can neither unpause nor cleanly
     * shut down the guest. A proxy that keeps failing at once is retried at most every 5 s.
     */
    private void superviseProxy() {
        long backoffMillis = 200;
        while (!closed) {
            long started = System.nanoTime();
            try {
                Process p = new ProcessBuilder(proxyCommand).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
                proxy = p;
                LOG.log(Level.INFO, "QMP through vchan at " + argv.qmpVchanPath() + ": " + String.join(" ", proxyCommand)
                        + " (pid " + p.pid() + ")");
                int status = p.waitFor();
                if (closed) {
                    return;
                }
                LOG.log(Level.WARNING, "vchan-socket-proxy ended with status " + status + "; starting it again");
            } catch (IOException e) {
                LOG.log(Level.ERROR, "cannot start " + proxyCommand.get(0) + ": " + e.getMessage());
            } catch (InterruptedException e) {
                return;
            }
            long ranMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            backoffMillis = ranMillis > 10_000 ? 200 : Math.min(5_000, backoffMillis * 2);
            try {
                Thread.sleep(backoffMillis);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Null when {@code command} succeeded, else what went wrong. */
    private static String runQuietly(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] output = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return String.join(" ", command) + ": no answer in 10 s";
            }
            return p.exitValue() == 0 ? null
                    : String.join(" ", command) + ": exit " + p.exitValue() + ": " + new String(output).trim();
        } catch (IOException e) {
            return String.join(" ", command) + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return String.join(" ", command) + ": interrupted";
        }
    }

    private static List<String> with(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }

    @Override
    public void close() {
        closed = true;
        Process p = proxy;
        if (p != null) {
            p.destroy();
        }
        if (supervisor != null) {
            supervisor.interrupt();
        }
    }
}
