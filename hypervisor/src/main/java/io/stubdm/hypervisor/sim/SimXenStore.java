package io.stubdm.hypervisor.sim;

import static io.stubdm.hypervisor.XenException.EEXIST;

import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.XenStorePermission;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One domain's connection to a {@link SimXenStoreDaemon}. Watch events are delivered in order on the connection's
 * own daemon thread, started by its first watch, so a callback may use the store and a writer never runs callbacks.
 * Once {@link Watch#close()} or {@link #close()} called outside a callback returns, no further callback of it starts;
 * called inside one, the events still queued for it are dropped.
 */
final class SimXenStore implements XenStore {

    private static final Event STOP = new Event(null, null);

    private final SimXenStoreDaemon daemon;
    private final int domid;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    /** Held while a callback runs, so that closing can wait for the callback under way. */
    private final ReentrantLock dispatching = new ReentrantLock();

    // Guarded by daemon.lock, so that events are queued in the order the daemon made the changes.
    private final List<RegisteredWatch> watches = new ArrayList<>();
    private boolean closed;
    private Thread deliveryThread;

    SimXenStore(SimXenStoreDaemon daemon, int domid) {
        this.daemon = daemon;
        this.domid = domid;
    }

    @Override
    public Optional<String> read(String path) {
        return daemon.read(this, path);
    }

    @Override
    public void write(String path, String value) {
        daemon.write(this, path, value);
    }

    @Override
    public void mkdir(String path) {
        daemon.mkdir(this, path);
    }

    @Override
    public void rm(String path) {
        daemon.rm(this, path);
    }

    @Override
    public List<String> directory(String path) {
        return daemon.directory(this, path);
    }

    @Override
    public List<XenStorePermission> getPermissions(String path) {
        return daemon.getPermissions(this, path);
    }

    @Override
    public void setPermissions(String path, List<XenStorePermission> permissions) {
        daemon.setPermissions(this, path, permissions);
    }

    @Override
    public Watch watch(String path, String token, Consumer<String> onChange) {
        return daemon.watch(this, path, token, onChange);
    }

    @Override
    public int ownDomid() {
        return domid;
    }

    @Override
    public void close() {
        synchronized (daemon.lock) {
            if (closed) {
                return;
            }
            closed = true;
            daemon.disconnected(this);
            for (RegisteredWatch watch : watches) {
                watch.closed = true;
            }
            watches.clear();
            if (deliveryThread != null) {
                events.add(STOP);
            }
        }
        waitForCallbackUnderWay();
    }

    @Override
    public String toString() {
        return "SimXenStore[dom" + domid + "]";
    }

    /** Called with daemon.lock held. */
    void requireOpen() {
        if (closed) {
            throw new IllegalStateException("xenstore connection of dom" + domid + " is closed");
        }
    }

    /** Called with daemon.lock held. */
    List<RegisteredWatch> watches() {
        return watches;
    }

    /** Called with daemon.lock held. */
    RegisteredWatch addWatch(String path, String token, Consumer<String> onChange) {
        for (RegisteredWatch watch : watches) {
            if (watch.path.equals(path) && watch.token.equals(token)) {
                throw new XenException("xs_watch", EEXIST, "dom" + domid + " already watches '" + path
                        + "' with token '" + token + "'");
            }
        }
        RegisteredWatch watch = new RegisteredWatch(path, token, onChange);
        watches.add(watch);
        // xenstored fires every new watch once, so a client need not read the state it starts watching separately.
        post(watch, path);
        return watch;
    }

    /** Called with daemon.lock held. */
    void post(RegisteredWatch watch, String path) {
        if (deliveryThread == null) {
            deliveryThread = new DeliveryThread(this::deliverEvents, "xenstore-dom" + domid + "-events");
            deliveryThread.start();
        }
        events.add(new Event(watch, path));
    }

    private void deliverEvents() {
        try {
            for (Event event = events.take(); event != STOP; event = events.take()) {
                dispatching.lock();
                try {
                    if (!event.watch().closed) {
                        event.watch().onChange.accept(event.path());
                    }
                } catch (RuntimeException | AssertionError e) {
                    // One failing callback (a test's assertion, say) must not silence the connection's other watches.
                    Thread self = Thread.currentThread();
                    self.getUncaughtExceptionHandler().uncaughtException(self, e);
                } finally {
                    dispatching.unlock();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void waitForCallbackUnderWay() {
        // Inside a callback, the callback under way may be the caller itself, or one on another connection's thread
        // that is waiting for this one to finish: waiting could deadlock.
        if (Thread.currentThread() instanceof DeliveryThread) {
            return;
        }
        dispatching.lock();
        dispatching.unlock();
    }

    private record Event(RegisteredWatch watch, String path) {
    }

    private static final class DeliveryThread extends Thread {
        DeliveryThread(Runnable body, String name) {
            super(body, name);
            setDaemon(true);
        }
    }

    final class RegisteredWatch implements Watch {
        private final String path;
        private final String token;
        private final Consumer<String> onChange;
        private volatile boolean closed;

        private RegisteredWatch(String path, String token, Consumer<String> onChange) {
            this.path = path;
            this.token = token;
            this.onChange = onChange;
        }

        String path() {
            return path;
        }

        @Override
        public void close() {
            closed = true;
            synchronized (daemon.lock) {
                watches.remove(this);
            }
            waitForCallbackUnderWay();
        }
    }
}
