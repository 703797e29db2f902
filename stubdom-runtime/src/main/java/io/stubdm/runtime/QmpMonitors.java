package io.stubdm.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.stubdm.runtime.cli.DeviceModelArgs;
import io.stubdm.runtime.cli.QemuOpts;
import io.stubdm.runtime.qmp.QmpCommands;
import io.stubdm.runtime.qmp.QmpServer;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The QMP sockets a qemu-xen command line asks for ({@code -chardev socket,id=X,path=P,server=on} with
 * {@code -mon chardev=X,mode=control}), libxl's {@code libxl-cmd} and {@code libxenstat-cmd} among them; the same
 * for an HVM guest's device model and for a stub domain's Dom0 process.
 */
public final class QmpMonitors implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(QmpMonitors.class.getName());

    private final List<QmpServer> servers = new ArrayList<>();
    /** {@code query-chardev} entries: label, then filename. */
    private final List<String[]> chardevs = new ArrayList<>();

    private QmpMonitors() {
    }

    /**
     * Listens on every {@code -mon} socket of {@code args}, answering with {@code commands}.
     *
     * @throws IllegalArgumentException for a monitor stubdm cannot serve (readline mode, no server socket)
     */
    public static QmpMonitors open(DeviceModelArgs args, QmpCommands commands) throws IOException {
        QmpMonitors m = new QmpMonitors();
        try {
            for (QemuOpts mon : args.monitors()) {
                m.openOne(args, mon, commands);
            }
            return m;
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private void openOne(DeviceModelArgs args, QemuOpts mon, QmpCommands commands) throws IOException {
        if (!"control".equals(mon.get("mode", "readline"))) {
            throw new IllegalArgumentException("-mon " + mon.text() + ": only mode=control (QMP) is supported");
        }
        String id = mon.require("chardev");
        QemuOpts chardev = args.chardev(id).orElseThrow(() -> new IllegalArgumentException(
                "-mon chardev=" + id + ": no -chardev with that id"));
        if (!"socket".equals(chardev.get("backend")) || chardev.get("path") == null) {
            throw new IllegalArgumentException("-chardev " + chardev.text() + ": a QMP monitor needs "
                    + "socket,path=...,server=on (an inherited fd= socket needs dm_restrict, which stubdm does not support)");
        }
        if (!chardev.flag("server", false)) {
            throw new IllegalArgumentException("-chardev " + chardev.text() + ": stubdm listens for QMP; it needs server=on");
        }
        servers.add(new QmpServer(Path.of(chardev.get("path")), commands, "stubdm " + Version.get()));
        chardevs.add(new String[] {id, "unix:" + chardev.get("path") + ",server=on"});
        LOG.log(Level.INFO, "QMP on " + chardev.get("path"));
    }

    /** Adds the monitors' own chardevs to a {@code query-chardev} answer, as QEMU lists them. */
    public void describeChardevs(ArrayNode list) {
        for (String[] c : chardevs) {
            list.addObject().put("label", c[0]).put("filename", c[1]).put("frontend-open", true);
        }
    }

    /** Stops listening and removes the socket files. */
    @Override
    public void close() {
        servers.forEach(QmpServer::close);
        servers.clear();
    }
}
