package io.stubdm.hypervisor.sim;

import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.XenException;
import java.util.Arrays;

/**
 * A device model's event-channel handle in the simulated Xen, with the Linux evtchn driver's semantics:
 * a delivered port is masked until the owner unmasks it, and an event that arrives while masked is delivered
 * on unmask.
 */
final class SimEventChannels implements EventChannels {
    /** Device models of the simulated Xen run in domain 0. */
    private static final int LOCAL_DOMID = 0;
    private final SimXen xen;
    private final Object lock = new Object();
    /** Indexed by local port; ports are handed out densely from 1, as the kernel driver does. */
    private Channel[] channels = new Channel[16];
    /** Delivered ports, FIFO; a port is in it at most once because delivering masks it. */
    private int[] ready = new int[16];
    private int readyHead;
    private int readyCount;
    private int waiters;
    private int nextLocalPort = 1;
    private boolean wakeup;
    private boolean closed;

    SimEventChannels(SimXen xen) {
        this.xen = xen;
    }

    /** One bound local port. Guarded by {@link #lock}. */
    private static final class Channel {
        final SimXenPort remote;
        boolean masked;
        boolean pendingWhileMasked;

        Channel(SimXenPort remote) {
            this.remote = remote;
        }
    }

    @Override
    public int bindInterdomain(int remoteDomid, int remotePort) {
        SimXenPort remote = xen.domainOrThrow("evtchn_bind_interdomain", remoteDomid).xenPort(remotePort);
        if (remote == null) {
            throw new XenException("evtchn_bind_interdomain", XenException.EINVAL,
                    "domain " + remoteDomid + " has no unbound port " + remotePort);
        }
        if (remote.remoteDomid != LOCAL_DOMID) {
            // evtchn_bind_interdomain: the unbound port names the one domain that may bind it.
            throw new XenException("evtchn_bind_interdomain", XenException.EINVAL, "port " + remotePort
                    + " of domain " + remoteDomid + " is for domain " + remote.remoteDomid + " to bind");
        }
        synchronized (lock) {
            checkOpen();
            int local = nextLocalPort++;
            remote.bind(this, local);
            if (local >= channels.length) {
                channels = Arrays.copyOf(channels, channels.length * 2);
                int[] bigger = new int[channels.length];
                for (int i = 0; i < readyCount; i++) {
                    bigger[i] = ready[(readyHead + i) % ready.length];
                }
                ready = bigger;
                readyHead = 0;
            }
            channels[local] = new Channel(remote);
            return local;
        }
    }

    @Override
    public void unbind(int localPort) {
        Channel c;
        synchronized (lock) {
            c = channel(localPort);
            if (c != null) {
                channels[localPort] = null;
                dropReady(localPort);
            }
        }
        if (c == null) {
            throw new XenException("evtchn_unbind", XenException.EINVAL, "port " + localPort + " is not bound");
        }
        c.remote.unbind();
    }

    @Override
    public void notify(int localPort) {
        Channel c;
        synchronized (lock) {
            c = channel(localPort);
        }
        if (c == null) {
            throw new XenException("evtchn_notify", XenException.EINVAL, "port " + localPort + " is not bound");
        }
        c.remote.deliverToXen();
    }

    @Override
    public void unmask(int localPort) {
        synchronized (lock) {
            Channel c = channel(localPort);
            if (c == null) {
                return; // the driver ignores unmask of a port it does not know
            }
            c.masked = false;
            if (c.pendingWhileMasked) {
                c.pendingWhileMasked = false;
                raiseLocked(localPort, c);
            }
        }
    }

    /** Xen signals the local end of a channel (the guest side notified). */
    void raise(int localPort) {
        synchronized (lock) {
            Channel c = channel(localPort);
            if (c != null) {
                raiseLocked(localPort, c);
            }
        }
    }

    private void raiseLocked(int localPort, Channel c) {
        if (c.masked) {
            c.pendingWhileMasked = true;
            return;
        }
        c.masked = true;
        ready[(readyHead + readyCount) % ready.length] = localPort;
        readyCount++;
        if (waiters > 0) {
            lock.notifyAll();
        }
    }

    private Channel channel(int localPort) {
        return localPort > 0 && localPort < channels.length ? channels[localPort] : null;
    }

    private void dropReady(int localPort) {
        int kept = 0;
        for (int i = 0; i < readyCount; i++) {
            int p = ready[(readyHead + i) % ready.length];
            if (p != localPort) {
                ready[(readyHead + kept++) % ready.length] = p;
            }
        }
        readyCount = kept;
    }

    @Override
    public int awaitPending(int[] out, long timeoutNanos) {
        synchronized (lock) {
            long deadline = System.nanoTime() + timeoutNanos;
            while (readyCount == 0 && !wakeup && !closed && timeoutNanos != 0) {
                waiters++;
                try {
                    if (timeoutNanos < 0) {
                        lock.wait();
                    } else {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        lock.wait(left / 1_000_000, (int) (left % 1_000_000));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } finally {
                    waiters--;
                }
            }
            wakeup = false;
            int n = 0;
            while (n < out.length && readyCount > 0) {
                out[n++] = ready[readyHead];
                readyHead = (readyHead + 1) % ready.length;
                readyCount--;
            }
            return n;
        }
    }

    @Override
    public void wakeup() {
        synchronized (lock) {
            wakeup = true;
            lock.notifyAll();
        }
    }

    @Override
    public void close() {
        Channel[] bound;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            bound = channels;
            channels = new Channel[0];
            readyCount = 0;
            lock.notifyAll();
        }
        for (Channel c : bound) {
            if (c != null) {
                c.remote.unbind();
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("event channel handle is closed");
        }
    }
}
