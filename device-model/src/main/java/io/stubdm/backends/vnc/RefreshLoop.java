package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.stubdm.devices.vga.VgaRenderer.Frame;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that looks at the guest's picture: every {@value #TICK_MILLIS} ms while a client is connected
 * (and at once when one is waiting for ServerInit or asked for a whole region), captures the frame, finds the
 * changed tiles and encodes each waiting client's update. Encoding here keeps it off the Netty event loop,
 * which stays free for input.
 */
final class RefreshLoop implements AutoCloseable {
    static final long TICK_MILLIS = 40;
    private static final System.Logger LOG = System.getLogger(RefreshLoop.class.getName());

    /** Told the framebuffer size for ServerInit; called on the refresh thread. */
    interface InitListener {
        void serverInit(int width, int height);
    }

    private final VncConsole console;
    private final ShadowFrame shadow = new ShadowFrame();
    private final Object lock = new Object();
    private final Object tickLock = new Object();
    // Guarded by lock.
    private final List<ClientView> views = new ArrayList<>();
    private final List<PendingInit> inits = new ArrayList<>();
    private boolean woken;
    private boolean stopped;
    private Thread thread;
    // Refresh thread (tickLock) only.
    private String lastCaptureProblem;

    RefreshLoop(VncConsole console) {
        this.console = console;
    }

    /** Starts the refresh thread; without it, {@link #tick} must be called by hand (tests). */
    void start() {
        synchronized (lock) {
            if (thread != null || stopped) {
                throw new IllegalStateException("already started or closed");
            }
            thread = new Thread(this::run, "vnc-refresh");
            thread.setDaemon(true);
            thread.start();
        }
    }

    private record PendingInit(Channel channel, InitListener listener) {}

    /** Asks for {@code listener} to be told the framebuffer size, unless {@code channel} has closed by then. */
    void requestInit(Channel channel, InitListener listener) {
        synchronized (lock) {
            inits.add(new PendingInit(channel, listener));
            woken = true;
            lock.notifyAll();
        }
    }

    void add(ClientView view) {
        synchronized (lock) {
            views.add(view);
            lock.notifyAll();
        }
    }

    void remove(ClientView view) {
        synchronized (lock) {
            views.remove(view);
        }
    }

    /** Asks for a tick now rather than at the next period (a client asked for a whole region). */
    void wake() {
        synchronized (lock) {
            woken = true;
            lock.notifyAll();
        }
    }

    private void run() {
        long next = System.nanoTime();
        while (true) {
            synchronized (lock) {
                try {
                    while (!stopped && views.isEmpty() && inits.isEmpty()) {
                        lock.wait(); // idle: nobody is watching
                        next = System.nanoTime();
                    }
                    long wait;
                    while (!stopped && !woken && (wait = next - System.nanoTime()) > 0) {
                        TimeUnit.NANOSECONDS.timedWait(lock, wait);
                    }
                } catch (InterruptedException e) {
                    return;
                }
                if (stopped) {
                    return;
                }
                woken = false;
            }
            long now = System.nanoTime();
            if (next - now <= 0) {
                next = now + TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
            }
            try {
                tick();
            } catch (RuntimeException | Error e) {
                // The loop must outlive a bad frame or a console bug: every client depends on it.
                LOG.log(Level.ERROR, "VNC refresh failed", e);
            }
        }
    }

    /** One refresh: capture if anyone is waiting, then answer inits and update requests. */
    void tick() {
        synchronized (tickLock) {
            List<PendingInit> waitingInits = new ArrayList<>();
            List<ClientView> current;
            synchronized (lock) {
                for (PendingInit p : inits) {
                    if (p.channel().isActive()) {
                        waitingInits.add(p);
                    }
                }
                inits.clear();
                current = new ArrayList<>(views);
            }
            boolean wanted = !waitingInits.isEmpty();
            for (ClientView v : current) {
                wanted |= v.hasRequest();
            }
            if (!wanted) {
                return;
            }
            Frame frame = capture();
            if (frame == null) {
                synchronized (lock) {
                    inits.addAll(0, waitingInits); // ServerInit waits for a picture
                }
                return;
            }
            TileGrid changed = shadow.update(frame);
            for (PendingInit init : waitingInits) {
                try {
                    init.listener().serverInit(shadow.width(), shadow.height());
                } catch (RuntimeException e) { // e.g. its event loop already shut down: that client is gone
                    LOG.log(Level.DEBUG, "VNC: ServerInit not delivered", e);
                }
            }
            for (ClientView v : current) {
                v.addDirty(changed);
                Channel ch = v.channel();
                if (!ch.isActive() || !ch.isWritable()) {
                    continue; // backpressure: its tiles stay dirty for a later tick
                }
                try {
                    List<ByteBuf> messages = v.takeUpdate(shadow);
                    for (int i = 0; i < messages.size(); i++) {
                        ch.write(messages.get(i)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
                    }
                    if (!messages.isEmpty()) {
                        ch.flush();
                    }
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "VNC client " + v + ": update failed; closing", e);
                    ch.close();
                }
            }
        }
    }

    private Frame capture() {
        Frame frame;
        String problem;
        try {
            frame = console.capture();
            problem = ShadowFrame.problem(frame);
        } catch (RuntimeException e) {
            frame = null;
            problem = "capture failed: " + e;
        }
        if (problem != null) {
            if (!problem.equals(lastCaptureProblem)) { // once per kind, not 25 times a second
                LOG.log(Level.WARNING, "VNC: cannot show the screen: " + problem);
            }
            lastCaptureProblem = problem;
            return null;
        }
        lastCaptureProblem = null;
        return frame;
    }

    @Override
    public void close() {
        Thread t;
        synchronized (lock) {
            stopped = true;
            lock.notifyAll();
            t = thread;
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
