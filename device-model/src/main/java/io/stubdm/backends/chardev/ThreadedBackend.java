package io.stubdm.backends.chardev;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every backend with a real host side shares: a bounded output buffer that a writer thread drains to the
 * host, and reader threads that hand each chunk they read to the frontend on the device loop and read nothing
 * more until the frontend has taken all of it. The host therefore sees the guest's pace in both directions (a
 * pty client's writes block once the tty buffer is full; a slow pty client holds the guest's transmitter) and no
 * byte is dropped between the host and the frontend.
 */
abstract class ThreadedBackend implements CharBackend {
    private static final System.Logger LOG = System.getLogger(ThreadedBackend.class.getName());
    /** Output taken before the backend pushes back: about a third of a second at 115200 baud. */
    static final int OUTPUT_BUFFER_BYTES = 4096;
    /** How long {@link #close()} lets the writer flush output it already took. */
    private static final long FLUSH_ON_CLOSE_MILLIS = 1000;
    private static final long JOIN_MILLIS = 2000;

    private final List<Thread> threads = new ArrayList<>();
    private Thread writer;
    private Executor loop;
    private Frontend frontend;

    // Input in flight, confined to the device loop.
    private byte[] pendingInput;
    private int pendingOffset;
    private final Semaphore inputTaken = new Semaphore(0);

    // Output, shared by the device loop and the writer thread under outputLock.
    private final Object outputLock = new Object();
    private final byte[] output = new byte[OUTPUT_BUFFER_BYTES];
    private int outputHead;
    private int outputCount;
    private boolean frontendWaitsToWrite;
    private boolean closing;

    private volatile boolean closed;
    private final CountDownLatch closedLatch = new CountDownLatch(1);
    private final AtomicLong discarded = new AtomicLong();

    /** I/O work on a backend thread. */
    @FunctionalInterface
    interface IoTask {
        void run() throws IOException, InterruptedException;
    }

    @Override
    public final synchronized void connect(Executor loop, Frontend frontend) {
        if (this.frontend != null) {
            throw new IllegalStateException(describe() + " is connected already");
        }
        this.loop = loop;
        this.frontend = frontend;
        startIo();
    }

    /** Starts the reader and writer threads; called once, from {@link #connect}. */
    protected abstract void startIo();

    /** Closes what the backend opened on the host, so that threads blocked on it return. */
    protected abstract void closeHost() throws IOException;

    protected final void startReader(IoTask task) {
        startThread("reader", task);
    }

    protected final void startWriter(IoTask task) {
        writer = startThread("writer", task);
    }

    private Thread startThread(String role, IoTask task) {
        Thread t = new Thread(() -> {
            try {
                task.run();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, describe() + ": " + role + " stopped", e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "chardev " + describe() + " " + role);
        t.setDaemon(true);
        threads.add(t);
        t.start();
        return t;
    }

    /**
     * From a reader thread: hands {@code len} bytes of {@code buf} to the frontend and waits until it has taken
     * them all, however long the guest takes. Returns false if the backend was closed meanwhile.
     */
    protected final boolean deliver(byte[] buf, int len) throws InterruptedException {
        byte[] chunk = Arrays.copyOf(buf, len);
        loop.execute(() -> offerInput(chunk));
        inputTaken.acquire();
        return !closed;
    }

    private void offerInput(byte[] chunk) {
        pendingInput = chunk;
        pendingOffset = 0;
        feedFrontend();
    }

    private void feedFrontend() {
        if (pendingInput == null || closed) {
            return;
        }
        int offered = pendingInput.length - pendingOffset;
        int taken = frontend.receive(pendingInput, pendingOffset, offered);
        if (taken < 0 || taken > offered) {
            throw new IllegalStateException("frontend took " + taken + " of " + offered + " bytes");
        }
        pendingOffset += taken;
        if (pendingOffset == pendingInput.length) {
            pendingInput = null;
            inputTaken.release();
        }
    }

    @Override
    public final void acceptInput() {
        feedFrontend();
    }

    @Override
    public final int write(byte[] buf, int off, int len) {
        synchronized (outputLock) {
            if (closing) {
                return 0;
            }
            int n = Math.min(len, output.length - outputCount);
            for (int i = 0; i < n; i++) {
                output[(outputHead + outputCount + i) % output.length] = buf[off + i];
            }
            outputCount += n;
            if (n < len) {
                frontendWaitsToWrite = true;
            }
            if (n > 0) {
                outputLock.notifyAll();
            }
            return n;
        }
    }

    /**
     * From the writer thread: waits for output and moves up to {@code into.length} bytes of it into
     * {@code into}. Returns the count, or -1 once the backend is closing and everything taken has been handed out.
     */
    protected final int takeOutput(byte[] into) throws InterruptedException {
        synchronized (outputLock) {
            while (outputCount == 0 && !closing) {
                outputLock.wait();
            }
            if (outputCount == 0 || closed) {
                return -1;
            }
            int n = Math.min(into.length, outputCount);
            for (int i = 0; i < n; i++) {
                into[i] = output[(outputHead + i) % output.length];
            }
            outputHead = (outputHead + n) % output.length;
            outputCount -= n;
            if (frontendWaitsToWrite) {
                frontendWaitsToWrite = false;
                Frontend f = frontend;
                loop.execute(f::writable);
            }
            return n;
        }
    }

    /** Output the host side never got (see {@link #discardedBytes()}). */
    protected final void discard(long bytes) {
        discarded.addAndGet(bytes);
    }

    /**
     * Output the host side never got: thrown away while no client was connected (QEMU's pty and socket chardevs
     * do the same while disconnected), or still unwritten when the backend closed. The frontend had handed these
     * bytes over, so this is not a loss inside the device model.
     */
    public final long discardedBytes() {
        return discarded.get();
    }

    protected final boolean isClosed() {
        return closed;
    }

    /** Waits up to {@code millis} unless the backend closes first; returns whether it is still open. */
    protected final boolean pause(long millis) throws InterruptedException {
        return !closedLatch.await(millis, TimeUnit.MILLISECONDS);
    }

    /** Waits for the threads started so far to finish (bounded); for backends that must outlive their threads. */
    protected final void joinThreads() {
        for (Thread t : threads) {
            if (t == Thread.currentThread()) {
                continue;
            }
            try {
                t.join(JOIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (t.isAlive()) {
                LOG.log(Level.WARNING, t.getName() + " did not stop");
            }
        }
    }

    @Override
    public final void close() {
        synchronized (outputLock) {
            if (closing) {
                return;
            }
            closing = true;
            outputLock.notifyAll();
        }
        if (writer != null && writer != Thread.currentThread()) {
            try {
                writer.join(FLUSH_ON_CLOSE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closed = true;
        closedLatch.countDown();
        inputTaken.release();
        try {
            closeHost();
        } catch (IOException e) {
            LOG.log(Level.WARNING, describe() + ": close failed", e);
        }
        joinThreads();
    }
}
