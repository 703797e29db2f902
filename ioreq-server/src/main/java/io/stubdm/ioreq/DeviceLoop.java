package io.stubdm.ioreq;

import io.stubdm.hypervisor.EventChannels;
import java.lang.System.Logger.Level;
import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The one thread that owns the device world. It waits on the event-channel handle for ioreq notifications,
 * runs tasks other threads post (backend completions, QMP commands) and fires device timers, all in turn, so
 * devices need no locks.
 *
 * <p>{@link #runOnce} is public so that a test or benchmark can step the loop on its own thread.
 */
public final class DeviceLoop implements Executor, DeviceClock, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DeviceLoop.class.getName());

    private final EventChannels eventChannels;
    private final String name;
    private final LongSupplier clock;
    private IntConsumer[] portHandlers = new IntConsumer[64];
    private final int[] pending = new int[64];
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final PriorityQueue<TimerEntry> timers = new PriorityQueue<>();
    private long timerSequence;
    private volatile boolean sleeping;
    private volatile boolean running;
    private volatile Thread thread;
    private long unknownPorts;
    private long failures;

    public DeviceLoop(EventChannels eventChannels, String name) {
        this(eventChannels, name, System::nanoTime);
    }

    /** A loop whose timers follow {@code clock} (monotonic nanoseconds); tests pass a clock they advance. */
    public DeviceLoop(EventChannels eventChannels, String name, LongSupplier clock) {
        this.eventChannels = eventChannels;
        this.name = name;
        this.clock = clock;
    }

    public EventChannels eventChannels() {
        return eventChannels;
    }

    /** Routes notifications on {@code localPort} to {@code handler}. Call before start or from the loop. */
    public void registerPort(int localPort, IntConsumer handler) {
        if (localPort < 0) {
            throw new IllegalArgumentException("port " + localPort);
        }
        if (localPort >= portHandlers.length) {
            portHandlers = Arrays.copyOf(portHandlers, Math.max(localPort + 1, portHandlers.length * 2));
        }
        portHandlers[localPort] = handler;
    }

    public void unregisterPort(int localPort) {
        if (localPort >= 0 && localPort < portHandlers.length) {
            portHandlers[localPort] = null;
        }
    }

    /** Posts {@code task} to run on the loop. Safe from any thread. */
    @Override
    public void execute(Runnable task) {
        tasks.add(task);
        if (sleeping) {
            eventChannels.wakeup();
        }
    }

    @Override
    public long nanoTime() {
        return clock.getAsLong();
    }

    @Override
    public Timer schedule(long delayNanos, Runnable task) {
        TimerEntry t = new TimerEntry(nanoTime() + Math.max(0, delayNanos), timerSequence++, task);
        timers.add(t);
        return t;
    }

    /**
     * Runs {@code action} on the loop and waits up to {@code timeoutMillis} for its result: how other threads
     * (QMP, tests) read or change device state. Runs it at once when the caller is the loop, or nothing runs the
     * loop yet. What the action throws is thrown here.
     *
     * @throws IllegalStateException if the loop does not run the action in time
     */
    public <T> T call(Supplier<T> action, long timeoutMillis) {
        if (inLoop()) {
            return action.get();
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        execute(() -> {
            try {
                result.complete(action.get());
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw (Error) cause;
        } catch (TimeoutException e) {
            throw new IllegalStateException(name + " did not run the action within " + timeoutMillis + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + name);
        }
    }

    /** Whether the caller is the loop's own thread (or nothing runs the loop yet, as in stepped tests). */
    public boolean inLoop() {
        Thread t = thread;
        return t == null || t == Thread.currentThread();
    }

    /**
     * One turn: wait up to {@code maxWaitNanos} (negative: until something happens) for ports, tasks or the next
     * timer, then serve what is ready.
     */
    public void runOnce(long maxWaitNanos) {
        long wait = maxWaitNanos;
        TimerEntry next = timers.peek();
        if (next != null) {
            long untilTimer = Math.max(0, next.deadline - nanoTime());
            wait = wait < 0 ? untilTimer : Math.min(wait, untilTimer);
        }
        sleeping = true;
        if (!tasks.isEmpty()) {
            wait = 0;
        }
        int n = eventChannels.awaitPending(pending, wait);
        sleeping = false;
        for (int i = 0; i < n; i++) {
            int port = pending[i];
            IntConsumer h = port < portHandlers.length ? portHandlers[port] : null;
            if (h == null) {
                unknownPorts++;
                LOG.log(Level.WARNING, name + ": event on port " + port + " that nothing is bound to");
                continue;
            }
            try {
                h.accept(port);
            } catch (RuntimeException e) {
                failures++;
                LOG.log(Level.ERROR, name + ": handler for port " + port + " failed", e);
            }
        }
        runTasks();
        runTimers();
    }

    private void runTasks() {
        // Only what was queued before this turn, so a task that reposts itself cannot starve the ports.
        for (int budget = tasks.size(); budget > 0; budget--) {
            Runnable task = tasks.poll();
            if (task == null) {
                break;
            }
            runSafely(task, "task");
        }
    }

    private void runTimers() {
        if (timers.isEmpty()) {
            return; // most turns: no clock read at all
        }
        long now = nanoTime();
        while (!timers.isEmpty() && timers.peek().deadline <= now) {
            TimerEntry t = timers.poll();
            if (!t.cancelled) {
                runSafely(t.task, "timer");
            }
        }
    }

    private void runSafely(Runnable r, String what) {
        try {
            r.run();
        } catch (RuntimeException e) {
            failures++;
            LOG.log(Level.ERROR, name + ": " + what + " failed", e);
        }
    }

    /** Starts the loop on its own thread. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException(name + " is running already");
        }
        running = true;
        Thread t = new Thread(() -> {
            while (running) {
                runOnce(-1);
            }
        }, name);
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** Stops the loop thread and waits for it; tasks still queued are dropped. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            t = thread;
            running = false;
        }
        if (t == null) {
            return;
        }
        eventChannels.wakeup();
        if (t != Thread.currentThread()) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Events on ports with no handler. */
    public long unknownPorts() {
        return unknownPorts;
    }

    /** Handlers, tasks and timers that threw. */
    public long failures() {
        return failures;
    }

    private static final class TimerEntry implements Comparable<TimerEntry>, Timer {
        final long deadline;
        final long sequence;
        final Runnable task;
        boolean cancelled;

        TimerEntry(long deadline, long sequence, Runnable task) {
            this.deadline = deadline;
            this.sequence = sequence;
            this.task = task;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }

        @Override
        public int compareTo(TimerEntry o) {
            int c = Long.compare(deadline, o.deadline);
            return c != 0 ? c : Long.compare(sequence, o.sequence);
        }
    }
}
