package io.stubdm.runtime.xenpv;

import io.stubdm.backends.chardev.CharBackend;
import io.stubdm.backends.chardev.CharBackends;
import io.stubdm.backends.chardev.NullBackend;
import io.stubdm.backends.chardev.PtyBackend;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.ioreq.DeviceLoop;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The console backend of one stub domain, as QEMU's xen_console serves it for libxl: every device under
 * {@code /local/domain/0/backend/console/<stub>/<devid>} whose frontend says {@code type = ioemu} gets its
 * {@code output} opened and its ring served (libxl_console.c's {@code libxl__device_console_add} writes both
 * halves).
 *
 * <ul>
 *   <li>Console 0, the stub domain's boot console, has no frontend state machine: the domain builder set up its
 *       ring, so {@code ring-ref} is a frame number (mapped with foreign memory) and {@code port} an unbound port
 *       for domain 0, both in {@code /local/domain/<stub>/console} from the start.</li>
 *   <li>Consoles 1.. are connected by Linux's hvc_xen in the stub domain, under
 *       {@code /local/domain/<stub>/device/console/<devid>}: it grants a page ({@code ring-ref} is a grant
 *       reference), allocates a port and goes Initialised; the backend, in InitWait once the output is open,
 *       maps, binds and goes Connected. When the frontend closes or disappears, the backend lets go and goes
 *       Closed; a frontend that starts over (Initialising) finds the backend in InitWait again.</li>
 * </ul>
 *
 * <p>xenstore watches (on the backend directory and on each console's frontend directory) only queue a rescan
 * on the loop, which owns everything here. A console whose keys are wrong, whose output cannot be opened or
 * whose ring cannot be mapped is reported and left alone; the others go on.
 */
public final class PvConsoleBackend implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PvConsoleBackend.class.getName());

    /** The frontend {@code type} that asks for a device-model backend; {@code xenconsoled} is xenconsoled's. */
    static final String TYPE_IOEMU = "ioemu";
    /** QEMU's output buffer cap when the frontend has no usable {@code limit} (libxl writes this value). */
    static final int DEFAULT_LIMIT = 1 << 20;
    /** The highest event channel port of the FIFO ABI (2^17 - 1); 0 is never a valid port. */
    private static final int MAX_PORT = (1 << 17) - 1;

    private final int stubDomid;
    private final XenStore xenstore;
    private final DeviceLoop loop;
    private final ForeignMemory stubMemory;
    private final GrantTables grants;
    private final String backendDir;
    private final String stubHome;
    private final Map<Integer, Console> consoles = new TreeMap<>();
    /** Backend directory entries that are not device numbers, reported once each. */
    private final Set<String> reportedNames = new HashSet<>();
    private final AtomicBoolean rescanQueued = new AtomicBoolean();
    private XenStore.Watch watch;
    private boolean closed;
    /** Consoles refused and connections that failed, each reported in the log. */
    private final AtomicLong problems = new AtomicLong();

    /**
     * A backend for {@code stubDomid}'s consoles, reading xenstore through {@code xenstore} and serving on
     * {@code loop}; {@code stubMemory} maps console 0's frame, {@code grants} the others' granted pages.
     */
    public PvConsoleBackend(int stubDomid, XenStore xenstore, DeviceLoop loop, ForeignMemory stubMemory,
            GrantTables grants) {
        this.stubDomid = stubDomid;
        this.xenstore = xenstore;
        this.loop = loop;
        this.stubMemory = stubMemory;
        this.grants = grants;
        this.backendDir = "/local/domain/" + xenstore.ownDomid() + "/backend/console/" + stubDomid;
        this.stubHome = "/local/domain/" + stubDomid;
    }

    /**
     * Starts watching the backend directory and sets up the consoles libxl wrote before it started stubdm, so
     * that their outputs are open (and console 0's ring served) before the caller tells libxl it runs. Later
     * changes are served on the loop as the watches fire.
     */
    public void start() {
        watch = xenstore.watch(backendDir, "stubdm-console-" + stubDomid, path -> scheduleRescan());
        loop.call(() -> {
            rescan();
            return null;
        }, 10_000);
    }

    /** From any thread (xenstore's): one rescan queued on the loop covers every change before it runs. */
    private void scheduleRescan() {
        if (!rescanQueued.getAndSet(true)) {
            loop.execute(() -> {
                rescanQueued.set(false);
                rescan();
            });
        }
    }

    private void rescan() {
        if (closed) {
            return;
        }
        List<String> names;
        try {
            names = xenstore.directory(backendDir);
        } catch (XenException e) {
            if (e.errno() != XenException.ENOENT) {
                LOG.log(Level.ERROR, "reading " + backendDir + ": " + e.getMessage());
                return;
            }
            names = List.of();
        }
        Set<Integer> present = new HashSet<>();
        for (String name : names) {
            int devid = parseDevid(name);
            if (devid < 0) {
                if (reportedNames.add(name)) {
                    problems.incrementAndGet();
                    LOG.log(Level.ERROR, backendDir + "/" + name + " is not a console number; ignored");
                }
                continue;
            }
            present.add(devid);
        }
        for (Integer devid : new ArrayList<>(consoles.keySet())) {
            if (!present.contains(devid)) {
                consoles.remove(devid).drop();
            }
        }
        for (int devid : present.stream().sorted().toList()) {
            Console c = consoles.computeIfAbsent(devid, Console::new);
            try {
                c.update();
            } catch (RuntimeException e) {
                // A xenstore failure or a bug in one console's handling must not stop the others.
                LOG.log(Level.ERROR, c.name + ": " + e.getMessage(), e);
            }
        }
    }

    private static int parseDevid(String name) {
        if (name.isEmpty() || name.length() > 9 || !name.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            return -1;
        }
        return Integer.parseInt(name);
    }

    /** The consoles served now, by device number, with their outputs ({@code query-chardev}). On the loop. */
    public List<ServedConsole> served() {
        return loop.call(() -> {
            List<ServedConsole> list = new ArrayList<>();
            consoles.forEach((devid, c) -> {
                if (c.console != null) {
                    list.add(new ServedConsole(devid, c.console.output().describe(), c.status == Status.CONNECTED));
                }
            });
            return list;
        }, 10_000);
    }

    /** Consoles refused and connections that failed so far, each one logged once. */
    public long problems() {
        return problems.get();
    }

    /** One console as {@code query-chardev} shows it: QEMU labels it {@code xencons<devid>}. */
    public record ServedConsole(int devid, String output, boolean connected) {
        public String label() {
            return "xencons" + devid;
        }
    }

    /** Stops watching, disconnects every ring and closes every output (which flushes them). */
    @Override
    public void close() {
        if (watch != null) {
            watch.close();
        }
        loop.call(() -> {
            closed = true;
            consoles.values().forEach(Console::drop);
            consoles.clear();
            return null;
        }, 10_000);
    }

    private enum Status {
        /** Waiting for libxl's keys (frontend path, type). */
        NEW,
        /** Not ours: xenconsoled's, or bad keys or an output that would not open (reported). */
        IGNORED,
        INIT_WAIT,
        CONNECTED,
        CLOSED
    }

    /** One device number's backend and frontend, on the loop. */
    private final class Console {
        final int devid;
        final String name;
        final String backendPath;
        String frontendPath;
        XenStore.Watch frontendWatch;
        PvConsole console;
        Status status = Status.NEW;
        /** ring-ref and port of the last failed connection, reported once; a change is tried again. */
        String failedDetails;
        /** ring-ref and port of the connection in use. */
        String connectedDetails;

        Console(int devid) {
            this.devid = devid;
            this.name = "domain " + stubDomid + " console " + devid;
            this.backendPath = backendDir + "/" + devid;
        }

        void update() {
            if (status == Status.NEW) {
                setUp();
            }
            if (status == Status.INIT_WAIT || status == Status.CONNECTED || status == Status.CLOSED) {
                if (devid == 0) {
                    stepBootConsole();
                } else {
                    stepFrontendStates();
                }
            }
        }

        private void setUp() {
            Optional<String> frontend = xenstore.read(backendPath + "/frontend");
            if (frontend.isEmpty()) {
                return; // libxl writes the whole device in one transaction: this is a partial view, or a removal
            }
            frontendPath = frontend.get();
            if (!frontendPath.startsWith(stubHome + "/")) {
                refuse("its frontend path '" + frontendPath + "' is not under " + stubHome);
                return;
            }
            Optional<String> frontendId = xenstore.read(backendPath + "/frontend-id");
            if (frontendId.isPresent() && !frontendId.get().equals(Integer.toString(stubDomid))) {
                refuse("frontend-id is '" + frontendId.get() + "', not " + stubDomid);
                return;
            }
            Optional<String> type = xenstore.read(frontendPath + "/type");
            if (type.isEmpty()) {
                return;
            }
            if (!type.get().equals(TYPE_IOEMU)) {
                LOG.log(Level.INFO, name + " has type '" + type.get() + "': not stubdm's to serve");
                status = Status.IGNORED;
                return;
            }
            // No output (libxl writes none for the restore console of a domain that is not being restored) or
            // "none": connected, with nothing behind it, as QEMU connects a console without a serial device. A
            // Closed backend instead would make Linux's hvc_xen remove that console's tty, and the stub domain's
            // hvc numbering, which libxl's "-serial /dev/hvc3" relies on, would shift.
            Optional<String> output = xenstore.read(frontendPath + "/output").filter(o -> !o.isEmpty());
            CharBackend backend;
            try {
                backend = output.isEmpty() ? null : CharBackends.parse(output.get(), false).orElse(null);
            } catch (IllegalArgumentException | UncheckedIOException e) {
                refuse("its output '" + output.get() + "' cannot be opened: " + e.getMessage());
                return;
            }
            if (backend == null) {
                backend = new NullBackend();
            }
            console = new PvConsole(name, backend, limit(), loop);
            if (backend instanceof PtyBackend pty) {
                // Where xl console finds the terminal (libxl_console_get_tty reads the frontend's tty).
                xenstore.write(frontendPath + "/tty", pty.slavePath());
            }
            LOG.log(Level.INFO, name + ": output " + backend.describe());
            frontendWatch = xenstore.watch(frontendPath, "stubdm-console-" + stubDomid + "-" + devid,
                    path -> scheduleRescan());
            status = Status.INIT_WAIT;
            writeBackendState(XenbusState.INIT_WAIT);
        }

        private int limit() {
            Optional<String> text = xenstore.read(frontendPath + "/limit");
            if (text.isEmpty()) {
                return DEFAULT_LIMIT;
            }
            try {
                long limit = Long.parseLong(text.get());
                if (limit > 0) {
                    return (int) Math.min(limit, Integer.MAX_VALUE - 8);
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            LOG.log(Level.WARNING, name + ": limit '" + text.get() + "' is not a positive number; using "
                    + DEFAULT_LIMIT);
            return DEFAULT_LIMIT;
        }

        /** Console 0: connect once ring-ref and port are there, let go if they go or change. */
        private void stepBootConsole() {
            Optional<String> ringRef = xenstore.read(frontendPath + "/ring-ref");
            Optional<String> port = xenstore.read(frontendPath + "/port");
            String details = ringRef.orElse(null) + "/" + port.orElse(null);
            if (status == Status.CONNECTED && !details.equals(connectedDetails)) {
                disconnect(ringRef.isEmpty() ? "its frontend is gone" : "its ring-ref or port changed");
            }
            if (status != Status.CONNECTED && ringRef.isPresent() && port.isPresent()) {
                connect(ringRef.get(), port.get());
            }
        }

        /** Consoles 1..: follow the frontend's state (xenbus protocol). */
        private void stepFrontendStates() {
            Optional<String> stateText = xenstore.read(frontendPath + "/state");
            int state = stateText.map(this::parseState).orElse(XenbusState.UNKNOWN);
            switch (status) {
                case INIT_WAIT:
                    if (state == XenbusState.INITIALISED || state == XenbusState.CONNECTED) {
                        Optional<String> ringRef = xenstore.read(frontendPath + "/ring-ref");
                        Optional<String> port = xenstore.read(frontendPath + "/port");
                        if (ringRef.isEmpty() || port.isEmpty()) {
                            reportOnce(ringRef.orElse(null) + "/" + port.orElse(null), "the frontend is "
                                    + XenbusState.describe(state) + " but " + frontendPath + " has no "
                                    + (ringRef.isEmpty() ? "ring-ref" : "port"));
                            return;
                        }
                        connect(ringRef.get(), port.get());
                    } else if (state == XenbusState.CLOSING || state == XenbusState.CLOSED) {
                        status = Status.CLOSED;
                        writeBackendState(XenbusState.CLOSED);
                    }
                    break;
                case CONNECTED:
                    if (stateText.isEmpty() || state != XenbusState.INITIALISED && state != XenbusState.CONNECTED) {
                        disconnect(stateText.isEmpty() ? "its frontend is gone"
                                : "its frontend is " + XenbusState.describe(state));
                    }
                    break;
                case CLOSED:
                    // A frontend that starts over (its driver bound again): Initialising first, or Initialised
                    // at once if it was quicker than this watch. Connected would be the old connection's.
                    if (state == XenbusState.INITIALISING || state == XenbusState.INITIALISED) {
                        status = Status.INIT_WAIT;
                        failedDetails = null;
                        writeBackendState(XenbusState.INIT_WAIT);
                        stepFrontendStates();
                    }
                    break;
                default:
                    break;
            }
        }

        private int parseState(String text) {
            try {
                return Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                reportOnce("state " + text, "its frontend's state '" + text + "' is not a number");
                return XenbusState.UNKNOWN;
            }
        }

        private void connect(String ringRefText, String portText) {
            String details = ringRefText + "/" + portText;
            if (details.equals(failedDetails)) {
                return; // reported already; the frontend's next change is tried again
            }
            long ringRef = parseNumber(ringRefText, devid == 0 ? Long.MAX_VALUE >> 12 : 0xffffffffL);
            long port = parseNumber(portText, MAX_PORT);
            if (ringRef < 0 || port <= 0) {
                reportOnce(details, "ring-ref '" + ringRefText + "' or port '" + portText + "' is not a valid "
                        + (devid == 0 ? "frame number" : "grant reference") + " and event channel port");
                return;
            }
            ForeignMemory.ForeignMapping page;
            try {
                page = devid == 0 ? mapFrame(ringRef) : grants.map(stubDomid, (int) ringRef, true);
            } catch (XenException e) {
                reportOnce(details, "cannot map its ring (" + (devid == 0 ? "frame 0x" + Long.toHexString(ringRef)
                        : "grant reference " + ringRef) + "): " + e.getMessage());
                return;
            }
            int localPort;
            try {
                localPort = loop.eventChannels().bindInterdomain(stubDomid, (int) port);
            } catch (XenException e) {
                page.close();
                reportOnce(details, "cannot bind its event channel port " + port + ": " + e.getMessage());
                return;
            }
            console.attach(page, localPort);
            connectedDetails = details;
            failedDetails = null;
            status = Status.CONNECTED;
            writeBackendState(XenbusState.CONNECTED);
            LOG.log(Level.INFO, name + " connected: ring " + (devid == 0 ? "frame 0x" + Long.toHexString(ringRef)
                    : "grant " + ringRef) + ", port " + port);
        }

        private ForeignMemory.ForeignMapping mapFrame(long frame) {
            int[] errors = new int[1];
            ForeignMemory.ForeignMapping page = stubMemory.mapPages(frame, 1, errors);
            if (errors[0] != 0) {
                page.close();
                throw new XenException("xenforeignmemory_map", errors[0], "domain " + stubDomid + " frame 0x"
                        + Long.toHexString(frame));
            }
            return page;
        }

        private void disconnect(String why) {
            console.detach();
            connectedDetails = null;
            status = Status.CLOSED;
            LOG.log(Level.INFO, name + " disconnected: " + why);
            writeBackendState(XenbusState.CLOSED);
        }

        /** The backend's own state key, unless libxl removed the backend meanwhile (a write would recreate it). */
        private void writeBackendState(int state) {
            if (xenstore.read(backendPath).isPresent()) {
                xenstore.write(backendPath + "/state", Integer.toString(state));
            }
        }

        private void refuse(String why) {
            problems.incrementAndGet();
            LOG.log(Level.ERROR, name + " is not served: " + why + " (the domain's other consoles are not affected)");
            status = Status.IGNORED;
            writeBackendState(XenbusState.CLOSED);
        }

        private void reportOnce(String details, String why) {
            if (!details.equals(failedDetails)) {
                problems.incrementAndGet();
                failedDetails = details;
                LOG.log(Level.ERROR, name + " cannot connect: " + why + "; waiting for the frontend to change it");
            }
        }

        /** Removed by libxl: let go of everything, write nothing. */
        void drop() {
            if (frontendWatch != null) {
                frontendWatch.close();
            }
            if (console != null) {
                console.close();
                LOG.log(Level.INFO, name + " removed");
            }
            status = Status.IGNORED;
        }
    }

    /** {@code text} as a number in 0..max, or -1. */
    private static long parseNumber(String text, long max) {
        String t = text.trim();
        if (t.isEmpty() || t.length() > 20 || !t.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            return -1;
        }
        try {
            long v = Long.parseLong(t);
            return v <= max ? v : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
