package io.stubdm.runtime.xenpv;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.Hypervisor;
import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.ioreq.DeviceLoop;
import io.stubdm.runtime.DeviceModel;
import io.stubdm.runtime.LibxlHandshake;
import io.stubdm.runtime.LibxlHandshake.RunState;
import io.stubdm.runtime.QmpMonitors;
import io.stubdm.runtime.StubdmProcess;
import io.stubdm.runtime.cli.DeviceModelArgs;
import io.stubdm.runtime.qmp.QmpCommands;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * What libxl starts in Dom0 for a stub domain ({@code -machine xenpv -xen-attach}, the stub's own domid): the
 * backend of the stub domain's PV consoles, whose outputs are the guest's device-model log, the save file and
 * restore pipe, and the guest's serial ports. Like an HVM device model it writes {@code running} to
 * {@code /local/domain/0/device-model/<stub>/state} and answers libxl's QMP; libxl ends it with SIGHUP when it
 * destroys the stub domain.
 *
 * <p>A stub domain whose configuration also asks for a framebuffer, a keyboard or qdisk disks gets an error in
 * the log for each: stubdm serves none of them.
 */
public final class PvBackendProcess implements StubdmProcess {
    private static final System.Logger LOG = System.getLogger(PvBackendProcess.class.getName());
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /** Backends QEMU's xenpv machine serves that stubdm does not, and what to do instead. */
    private static final Map<String, String> UNSERVED_BACKENDS = Map.of(
            "vfb", "a guest with a stub domain has no VNC or SDL display in stubdm: set vnc=0 and sdl=0",
            "vkbd", "it comes with a VNC or SDL display, which a guest with a stub domain does not get from stubdm: "
                    + "set vnc=0 and sdl=0",
            "qdisk", "stubdm serves no disk backends: give a stub-domain guest phy: disks (block devices), "
                    + "which Dom0's blkback serves");

    private final DeviceModelArgs args;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final CountDownLatch quit = new CountDownLatch(1);
    private XenStore xenstore;
    private DeviceLoop loop;
    private PvConsoleBackend consoles;
    private QmpMonitors monitors;
    private volatile RunState state;
    private boolean announced;
    private boolean closed;

    private PvBackendProcess(DeviceModelArgs args) {
        this.args = args;
        this.state = args.startPaused() ? RunState.PRELAUNCH : RunState.RUNNING;
    }

    /**
     * Serves the consoles of stub domain {@code args.domid()}, opens the QMP sockets and, unless started with
     * {@code -S}, tells libxl it runs.
     *
     * @throws IllegalArgumentException for a command line that asks for devices of an HVM device model
     */
    public static PvBackendProcess start(DeviceModelArgs args, Hypervisor hypervisor) throws IOException {
        if (args.mode() != DeviceModelArgs.Mode.XENPV) {
            throw new IllegalArgumentException("PvBackendProcess serves -machine xenpv, not " + args.mode());
        }
        refuseHvmDevices(args);
        PvBackendProcess p = new PvBackendProcess(args);
        try {
            p.open(hypervisor);
            return p;
        } catch (IOException | RuntimeException e) {
            p.close();
            throw e;
        }
    }

    private static void refuseHvmDevices(DeviceModelArgs args) {
        String hvmOnly = !args.drives().isEmpty() ? "-drive" : !args.netdevs().isEmpty() ? "-netdev"
                : !args.devices().isEmpty() ? "-device" : !args.serials().isEmpty() ? "-serial"
                : args.vnc().isPresent() ? "-vnc" : args.incoming().isPresent() ? "-incoming" : null;
        if (hvmOnly != null) {
            throw new IllegalArgumentException("-machine xenpv: " + hvmOnly + " is not supported; stubdm serves a "
                    + "stub domain's consoles only (libxl passes no devices to this process)");
        }
    }

    private void open(Hypervisor hypervisor) throws IOException {
        int stub = args.domid();
        xenstore = hypervisor.openXenStore();
        opened.add(xenstore);
        loop = new DeviceLoop(hypervisor.openEventChannels(), DeviceModel.LOOP_THREAD_PREFIX + stub);
        opened.add(loop.eventChannels());
        opened.add(loop);
        ForeignMemory stubMemory = hypervisor.foreignMemory(stub);
        opened.add(stubMemory);
        GrantTables grants = hypervisor.openGrantTables();
        opened.add(grants);
        reportUnservedBackends();
        loop.start();
        consoles = new PvConsoleBackend(stub, xenstore, loop, stubMemory, grants);
        opened.add(consoles);
        consoles.start();
        monitors = QmpMonitors.open(args, commands());
        opened.add(monitors);
        if (state == RunState.RUNNING) {
            announce();
        } else {
            LOG.log(Level.INFO, "started with -S: waiting for QMP cont");
        }
    }

    private void reportUnservedBackends() {
        UNSERVED_BACKENDS.forEach((kind, remedy) -> {
            String dir = "/local/domain/" + xenstore.ownDomid() + "/backend/" + kind + "/" + args.domid();
            List<String> devids;
            try {
                devids = xenstore.directory(dir);
            } catch (XenException e) {
                if (e.errno() != XenException.ENOENT) {
                    LOG.log(Level.WARNING, "reading " + dir + ": " + e.getMessage());
                }
                return;
            }
            for (String devid : devids) {
                LOG.log(Level.ERROR, "stub domain " + args.domid() + " has a " + kind + " device (" + dir + "/" + devid
                        + ") that stubdm does not serve; its frontend will wait for it forever: " + remedy);
            }
        });
    }

    private synchronized void announce() {
        state = RunState.RUNNING;
        if (!announced) {
            LibxlHandshake.announceRunning(xenstore, args.domid());
            announced = true;
        }
    }

    private QmpCommands commands() {
        // The consoles keep running whatever the run state: like QEMU's Xen backends, they are not vCPUs to pause.
        return new QmpCommands()
                .register("query-status", a -> LibxlHandshake.queryStatus(state))
                .register("cont", a -> {
                    announce();
                    return JSON.objectNode();
                })
                .register("stop", a -> {
                    synchronized (this) {
                        if (state != RunState.PRELAUNCH) {
                            state = RunState.PAUSED;
                        }
                    }
                    return JSON.objectNode();
                })
                .register("query-chardev", a -> queryChardev())
                .register("query-version", a -> LibxlHandshake.queryVersion())
                .register("query-name", a -> JSON.objectNode().put("name", args.name()))
                .register("quit", a -> {
                    LOG.log(Level.INFO, "QMP quit");
                    quit.countDown();
                    return JSON.objectNode();
                });
    }

    private JsonNode queryChardev() {
        ArrayNode list = JSON.arrayNode();
        for (PvConsoleBackend.ServedConsole c : consoles.served()) {
            list.addObject().put("label", c.label()).put("filename", c.output()).put("frontend-open", c.connected());
        }
        monitors.describeChardevs(list);
        return list;
    }

    /** Blocks until QMP {@code quit}. (SIGHUP, libxl's way of ending it, exits through a shutdown hook.) */
    @Override
    public void awaitQuit() throws InterruptedException {
        quit.await();
    }

    /** Closes QMP, the consoles (flushing their outputs), the loop and the Xen handles. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> reversed = new ArrayList<>(opened);
        Collections.reverse(reversed);
        for (AutoCloseable c : reversed) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "closing: " + e.getMessage());
            }
        }
        LOG.log(Level.INFO, "console backend for stub domain " + args.domid() + " closed");
    }
}
