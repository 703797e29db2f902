package io.stubdm.runtime;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.runtime.qmp.QmpServer;
import java.lang.System.Logger.Level;

/**
 * What libxl expects of every process it starts as a device model, whether for an HVM guest or for a stub
 * domain's PV backends (xen-dm-protocol.md §3.2, §7.1): {@code running} in xenstore once it serves, and QMP's
 * run state and version in QEMU's shapes.
 */
public final class LibxlHandshake {
    private static final System.Logger LOG = System.getLogger(LibxlHandshake.class.getName());
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /** QEMU's run states as {@code query-status} names them. */
    public enum RunState { PRELAUNCH, RUNNING, PAUSED }

    private LibxlHandshake() {
    }

    /**
     * Writes {@code running} to {@code device-model/<domid>/state} under the writer's own home in xenstore, which
     * is what libxl waits for.
     */
    public static void announceRunning(XenStore xenstore, int domid) {
        String path = "/local/domain/" + xenstore.ownDomid() + "/device-model/" + domid + "/state";
        xenstore.write(path, "running");
        LOG.log(Level.INFO, "wrote " + path + " = running");
    }

    /** {@code query-status}. */
    public static ObjectNode queryStatus(RunState s) {
        return JSON.objectNode().put("status", s.name().toLowerCase()).put("singlestep", false)
                .put("running", s == RunState.RUNNING);
    }

    /** {@code query-version}: QEMU's number (libxl picks its commands by it) and stubdm's own as the package. */
    public static ObjectNode queryVersion() {
        ObjectNode v = JSON.objectNode();
        v.putObject("qemu").put("major", QmpServer.ADVERTISED_VERSION[0]).put("minor", QmpServer.ADVERTISED_VERSION[1])
                .put("micro", QmpServer.ADVERTISED_VERSION[2]);
        v.put("package", "stubdm " + Version.get());
        return v;
    }
}
