package io.stubdm.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stubdm.backends.block.BlockStats;
import io.stubdm.backends.vnc.VncOptions;
import io.stubdm.backends.vnc.VncServer;
import io.stubdm.devices.vga.DisplayAdapter;
import io.stubdm.devices.vga.VgaRenderer;
import io.stubdm.firmware.OptionRomFinder;
import io.stubdm.hypervisor.Hypervisor;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.runtime.LibxlHandshake.RunState;
import io.stubdm.runtime.cli.DeviceModelArgs;
import io.stubdm.runtime.metrics.DeviceModelMetrics;
import io.stubdm.runtime.qmp.QmpCommands;
import io.stubdm.runtime.qmp.QmpError;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The device-model process libxl starts in Dom0 in place of qemu-xen (xen-dm-protocol.md §7.1): it builds the
 * {@link DeviceModel}, listens on the QMP sockets of the command line, writes {@code running} to xenstore once
 * the guest can be served (after {@code cont} when started with {@code -S}), answers libxl's QMP commands, and
 * tears everything down when libxl sends SIGHUP or QMP {@code quit}.
 */
public final class DeviceModelProcess implements StubdmProcess {
    private static final System.Logger LOG = System.getLogger(DeviceModelProcess.class.getName());
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private final DeviceModel dm;
    private final XenStore xenstore;
    private QmpMonitors monitors;
    private final CountDownLatch quit = new CountDownLatch(1);
    private volatile RunState state;
    private DeviceModelMetrics metrics;
    /** Null without {@code -vnc} (or with {@code -vnc none}). */
    private VncServer vnc;
    private boolean announced;
    private boolean closed;

    private DeviceModelProcess(DeviceModel dm, XenStore xenstore) {
        this.dm = dm;
        this.xenstore = xenstore;
        this.state = dm.args().startPaused() ? RunState.PRELAUNCH : RunState.RUNNING;
    }

    /**
     * Builds the device model for {@code args} on {@code hypervisor}, opens its QMP sockets and, unless the
     * command line says {@code -S}, starts serving the guest and tells libxl through xenstore.
     */
    public static DeviceModelProcess start(DeviceModelArgs args, Hypervisor hypervisor, OptionRomFinder roms)
            throws IOException {
        return start(args, hypervisor, roms, () -> { });
    }

    /**
     * As {@link #start(DeviceModelArgs, Hypervisor, OptionRomFinder)}, running {@code beforeRunning} once the machine
     * is built and the QMP sockets listen, but before {@code running} tells libxl the guest can be served: in a
     * stub domain that is when the QMP proxy and the NIC's bridge must come up.
     */
    public static DeviceModelProcess start(DeviceModelArgs args, Hypervisor hypervisor, OptionRomFinder roms,
            Runnable beforeRunning) throws IOException {
        if (args.incoming().isPresent()) {
            throw new IllegalArgumentException("-incoming " + args.incoming().get() + ": restoring a saved guest is "
                    + "not supported by stubdm yet");
        }
        Optional<VncOptions> vncOptions = args.vnc().map(VncOptions::parse);
        DeviceModel dm = DeviceModel.create(args, hypervisor, roms);
        XenStore xenstore = null;
        DeviceModelProcess p = null;
        try {
            xenstore = hypervisor.openXenStore();
            p = new DeviceModelProcess(dm, xenstore);
            p.metrics = DeviceModelMetrics.forDeviceModel(dm, guestUuid(xenstore, args.domid()));
            if (vncOptions.isPresent()) {
                p.vnc = VncServer.start(vncOptions.get(), new VncDisplay(dm), args.name()); // it logs where it listens
            }
            p.openMonitors();
            beforeRunning.run();
            if (p.state == RunState.RUNNING) {
                p.startGuest();
            } else {
                dm.setRunning(false);
                LOG.log(Level.INFO, "started with -S: waiting for QMP cont");
            }
            return p;
        } catch (IOException | RuntimeException e) {
            if (p != null) {
                p.close();
            } else {
                dm.close();
                if (xenstore != null) {
                    xenstore.close();
                }
            }
            throw e;
        }
    }

    /** The guest's UUID from the {@code vm} path libxl writes for it ({@code /vm/<uuid>}); empty when unreadable. */
    static String guestUuid(XenStore xenstore, int domid) {
        try {
            String vm = xenstore.read("/local/domain/" + domid + "/vm").orElse("");
            String uuid = vm.startsWith("/vm/") ? vm.substring(4) : "";
            return uuid.matches("[0-9a-fA-F-]{36}") ? uuid : "";
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot read domain " + domid + "'s vm path for its uuid: " + e.getMessage());
            return "";
        }
    }

    private void openMonitors() throws IOException {
        monitors = QmpMonitors.open(dm.args(), commands());
    }

    /** Enables the ioreq server, starts the device loop and writes {@code running} for libxl. */
    private synchronized void startGuest() {
        dm.run();
        dm.setRunning(true);
        state = RunState.RUNNING;
        if (!announced) {
            LibxlHandshake.announceRunning(xenstore, dm.args().domid());
            announced = true;
        }
    }

    QmpCommands commands() {
        return new QmpCommands()
                .register("query-status", a -> queryStatus())
                .register("cont", a -> {
                    startGuest();
                    return JSON.objectNode();
                })
                .register("stop", a -> {
                    synchronized (this) {
                        if (state != RunState.PRELAUNCH) {
                            dm.setRunning(false);
                            state = RunState.PAUSED;
                        }
                    }
                    return JSON.objectNode();
                })
                .register("query-chardev", a -> queryChardev())
                .register("query-vnc", a -> queryVnc())
                .register("change-vnc-password", this::changeVncPassword)
                .register("query-cpus-fast", a -> queryCpusFast())
                .register("query-version", a -> queryVersion())
                .register("query-name", a -> JSON.objectNode().put("name", dm.args().name()))
                .register("query-block", a -> queryBlock())
                .register("query-blockstats", a -> queryBlockstats())
                .register("system_reset", a -> {
                    dm.onLoop(() -> {
                        dm.machine().requestReset("QMP system_reset");
                        return null;
                    });
                    return JSON.objectNode();
                })
                .register("system_powerdown", a -> {
                    // PM1a_EVT, where the power button's status bit lives, is emulated by Xen, not by the device
                    // model (xen-dm-protocol.md §6.4), so the button has to be pressed from Xen's side.
                    throw new QmpError(QmpError.GENERIC_ERROR, "the ACPI power button of a Xen HVM guest is Xen's: "
                            + "use 'xl trigger " + dm.args().domid() + " power' (or 'xl shutdown -F')");
                })
                .register("x-query-metrics", a -> queryMetrics())
                .register("screendump", this::screendump)
                .register("human-monitor-command", this::humanMonitorCommand)
                .register("quit", a -> {
                    LOG.log(Level.INFO, "QMP quit");
                    quit.countDown();
                    return JSON.objectNode();
                });
    }

    /**
     * {@code x-query-metrics}: this device model's metrics in the Prometheus text format, so that a scraper
     * reaches them through the QMP path libxl already has (a socket in Dom0, the vchan of a stub domain).
     */
    private JsonNode queryMetrics() {
        return JSON.objectNode().put("content-type", DeviceModelMetrics.CONTENT_TYPE).put("text", metrics.scrape());
    }

    /** The device model's metrics registry. */
    public DeviceModelMetrics metrics() {
        return metrics;
    }

    /** {@code screendump {"filename": ..., "format": "ppm"|"png"}}: what the display shows now, to a file. */
    private JsonNode screendump(JsonNode a) throws QmpError {
        String file = a.path("filename").asText(null);
        if (file == null || file.isEmpty()) {
            throw new QmpError(QmpError.GENERIC_ERROR, "Parameter 'filename' is missing");
        }
        Screendump.Format format;
        try {
            format = Screendump.Format.parse(a.path("format").asText("ppm"));
        } catch (IllegalArgumentException e) {
            throw new QmpError(QmpError.GENERIC_ERROR, e.getMessage());
        }
        takeScreendump(Path.of(file), format);
        return JSON.objectNode();
    }

    private void takeScreendump(Path file, Screendump.Format format) throws QmpError {
        DisplayAdapter display = dm.display().orElseThrow(() -> new QmpError(QmpError.GENERIC_ERROR,
                "There is no console to take a screendump from (the guest has vga=\"none\")"));
        // The picture is taken on the device loop, which owns the adapter; the file is written here.
        VgaRenderer.Frame frame = dm.onLoop(display::render);
        try {
            Screendump.write(frame, file, format);
        } catch (IOException | RuntimeException e) {
            throw new QmpError(QmpError.GENERIC_ERROR, "screendump to " + file + " failed: " + e.getMessage());
        }
    }

    /**
     * {@code human-monitor-command}, what {@code xl qemu-monitor-command} sends: of QEMU's human monitor, stubdm
     * has {@code screendump FILE [-f ppm|png]} (QEMU 7.2's order; PNG also when the name ends in .png). As in
     * QEMU, a command's failure is the text it returns, not a QMP error.
     */
    private JsonNode humanMonitorCommand(JsonNode a) {
        String line = a.path("command-line").asText("").trim();
        String[] words = line.isEmpty() ? new String[0] : line.split("\\s+");
        if (words.length == 0 || !words[0].equals("screendump")) {
            return JSON.textNode(words.length == 0 ? "" : "unknown command: '" + words[0] + "' (stubdm's monitor has "
                    + "screendump)\r\n");
        }
        String file = null;
        String formatName = null;
        for (int i = 1; i < words.length; i++) {
            if (words[i].equals("-f") && i + 1 < words.length) {
                formatName = words[++i];
            } else if (file == null) {
                file = words[i];
            } else {
                return JSON.textNode("screendump: unexpected '" + words[i] + "'\r\n");
            }
        }
        if (file == null) {
            return JSON.textNode("screendump: a file name is needed\r\n");
        }
        try {
            Screendump.Format format = formatName != null ? Screendump.Format.parse(formatName)
                    : file.endsWith(".png") ? Screendump.Format.PNG : Screendump.Format.PPM;
            takeScreendump(Path.of(file), format);
            return JSON.textNode("");
        } catch (QmpError | IllegalArgumentException e) {
            return JSON.textNode(e.getMessage() + "\r\n");
        }
    }

    /**
     * {@code query-vnc}: libxl copies host and service into xenstore ({@code console/vnc-listen},
     * {@code console/vnc-port}), where {@code xl vncviewer} finds them, so both are strings as in QEMU.
     */
    private JsonNode queryVnc() {
        if (vnc == null) {
            return JSON.objectNode().put("enabled", false);
        }
        java.net.InetSocketAddress at = vnc.address();
        ObjectNode o = JSON.objectNode().put("enabled", true).put("host", at.getHostString())
                .put("service", Integer.toString(at.getPort()))
                .put("family", at.getAddress() instanceof java.net.Inet6Address ? "ipv6" : "ipv4")
                .put("auth", vnc.auth());
        ArrayNode clients = o.putArray("clients");
        for (VncServer.Client c : vnc.clients()) {
            clients.addObject().put("host", c.host()).put("service", c.service()).put("family", c.family())
                    .put("websocket", false);
        }
        return o;
    }

    /** {@code change-vnc-password}: what libxl sends right after start when the xl config has a vncpasswd. */
    private JsonNode changeVncPassword(JsonNode a) throws QmpError {
        if (vnc == null) {
            throw new QmpError(QmpError.GENERIC_ERROR, "Could not set password: VNC is not enabled (no -vnc)");
        }
        JsonNode password = a.get("password");
        if (password == null || !password.isTextual()) {
            throw new QmpError(QmpError.GENERIC_ERROR, "Parameter 'password' is missing");
        }
        vnc.setPassword(password.asText());
        LOG.log(Level.INFO, "VNC password changed");
        return JSON.objectNode();
    }

    private JsonNode queryStatus() {
        return LibxlHandshake.queryStatus(state);
    }

    private JsonNode queryChardev() {
        ArrayNode list = JSON.arrayNode();
        for (DeviceModel.SerialPort port : dm.serialPorts()) {
            list.addObject().put("label", port.label()).put("filename", port.backend().describe())
                    .put("frontend-open", true);
        }
        monitors.describeChardevs(list);
        return list;
    }

    private JsonNode queryCpusFast() {
        ArrayNode list = JSON.arrayNode();
        for (int i = 0; i < dm.args().vcpus(); i++) {
            ObjectNode cpu = list.addObject();
            cpu.put("cpu-index", i).put("qom-path", "/machine/unattached/device[" + i + "]")
                    .put("thread-id", ProcessHandle.current().pid()).put("target", "x86_64");
            cpu.putObject("props").put("core-id", 0).put("thread-id", 0).put("socket-id", i);
        }
        return list;
    }

    private JsonNode queryVersion() {
        return LibxlHandshake.queryVersion();
    }

    private JsonNode queryBlock() {
        ArrayNode list = JSON.arrayNode();
        for (DeviceModel.Drive d : dm.drives()) {
            ObjectNode o = list.addObject();
            o.put("device", d.device()).put("locked", false).put("removable", d.cdrom()).put("type", "unknown");
            if (d.cdrom()) {
                o.put("tray_open", false);
            }
            d.backend().ifPresent(b -> o.putObject("inserted").put("file", d.spec().file().map(Path::toString).orElse(""))
                    .put("ro", b.readOnly()).put("drv", d.spec().format().map(f -> f.qemuName()).orElse("raw"))
                    .put("backing_file_depth", 0).put("encrypted", false));
        }
        return list;
    }

    private JsonNode queryBlockstats() {
        ArrayNode list = JSON.arrayNode();
        for (DeviceModel.Drive d : dm.drives()) {
            ObjectNode o = list.addObject();
            o.put("device", d.device());
            ObjectNode stats = o.putObject("stats");
            Optional<BlockStats> s = d.backend().map(b -> b.stats());
            stats.put("rd_bytes", s.map(x -> x.readBytes.get()).orElse(0L))
                    .put("wr_bytes", s.map(x -> x.writeBytes.get()).orElse(0L))
                    .put("rd_operations", s.map(x -> x.readOps.get()).orElse(0L))
                    .put("wr_operations", s.map(x -> x.writeOps.get()).orElse(0L))
                    .put("flush_operations", s.map(x -> x.flushOps.get()).orElse(0L))
                    .put("rd_total_time_ns", s.map(x -> x.readNanos.get()).orElse(0L))
                    .put("wr_total_time_ns", s.map(x -> x.writeNanos.get()).orElse(0L))
                    .put("flush_total_time_ns", s.map(x -> x.flushNanos.get()).orElse(0L));
        }
        return list;
    }

    public DeviceModel deviceModel() {
        return dm;
    }

    /** Blocks until QMP {@code quit}. (SIGHUP, libxl's way of ending a device model, exits through a shutdown hook.) */
    @Override
    public void awaitQuit() throws InterruptedException {
        quit.await();
    }

    /** Closes the QMP sockets (removing their files), the device model and xenstore. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (monitors != null) {
            monitors.close();
        }
        if (vnc != null) {
            vnc.close();
        }
        dm.close();
        if (metrics != null) {
            metrics.close();
        }
        xenstore.close();
        LOG.log(Level.INFO, "device model for domain " + dm.args().domid() + " closed");
    }
}
