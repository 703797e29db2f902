package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.XenException;

/**
 * The Xen end of an event channel that Xen allocated unbound for a device model, as it does for each vCPU's
 * ioreq port and the buffered ring's port. Notifications from the device model wake whoever waits on it
 * (a simulated vCPU waiting for its response).
 */
final class SimXenPort {
    final int port;
    private final Runnable onNotifyFromDm;
    private SimEventChannels boundHandle;
    private int boundLocalPort;

    SimXenPort(int port, Runnable onNotifyFromDm) {
        this.port = port;
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
