package io.stubdm.hypervisor.sim;

import java.util.concurrent.TimeUnit;

/**
 * A simulated domain's own end of an event channel it allocated unbound for a backend in domain 0
 * ({@link SimDomain#allocUnboundPort}). The test acting as the domain sends on it (EVTCHNOP_send) and waits for
 * the backend's notifications, which it counts as a guest's upcall handler would see them.
 */
public final class SimGuestPort {
    private SimXenPort xenPort;
    private long received;

    SimGuestPort() {
    }

    void attach(SimXenPort port) {
        this.xenPort = port;
    }

    /** The port number the domain writes to xenstore for its backend. */
    public int port() {
        return xenPort.port;
    }

    /** Whether a backend has bound the port (and not unbound it since). */
    public boolean isBound() {
        return xenPort.isBound();
    }

    /** EVTCHNOP_send: signals the backend, if one has bound the port; Xen drops it otherwise. */
    public void send() {
        xenPort.deliverToDm();
    }

    synchronized void notified() {
        received++;
        notifyAll();
    }

    /** Notifications the backend sent so far. */
    public synchronized long notifications() {
        return received;
    }

    /**
     * Waits until more than {@code seen} notifications have arrived, at most {@code timeoutMillis}; returns the
     * count then (still {@code seen} on timeout).
     */
    public synchronized long awaitNotificationAfter(long seen, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (received <= seen) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return received;
    }
}
