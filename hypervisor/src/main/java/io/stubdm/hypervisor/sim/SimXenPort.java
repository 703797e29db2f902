package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.XenException;

/**
 * The far end of an event channel that a device model in domain 0 binds: one Xen allocated unbound for it (each
 * vCPU's ioreq port, the buffered ring's port) or one a simulated domain allocated itself with
 * EVTCHNOP_alloc_unbound (a PV frontend's port). Notifications from the device model wake whoever waits on it
 * (a simulated vCPU waiting for its response, a frontend).
 */
final class SimXenPort {
    final int port;
    /** The only domain that may bind this port (evtchn_alloc_unbound's remote_dom). */
    final int remoteDomid;
    private final Runnable onNotifyFromDm;
    private SimEventChannels boundHandle;
    private int boundLocalPort;

    SimXenPort(int port, int remoteDomid, Runnable onNotifyFromDm) {
        this.port = port;
        this.remoteDomid = remoteDomid;
        this.onNotifyFromDm = onNotifyFromDm;
    }

    synchronized void bind(SimEventChannels handle, int localPort) {
        if (boundHandle != null) {
            throw new XenException("evtchn_bind_interdomain", XenException.EINVAL,
                    "port " + port + " is already bound");
        }
        boundHandle = handle;
        boundLocalPort = localPort;
    }

    synchronized void unbind() {
        boundHandle = null;
    }

    /** Xen notifies the device model. An unbound port drops the event, as Xen does. */
    void deliverToDm() {
        SimEventChannels h;
        int local;
        synchronized (this) {
            h = boundHandle;
            local = boundLocalPort;
        }
        if (h != null) {
            h.raise(local);
        }
    }

    void deliverToXen() {
        onNotifyFromDm.run();
    }

    synchronized boolean isBound() {
        return boundHandle != null;
    }
}
