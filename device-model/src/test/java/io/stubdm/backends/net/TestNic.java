package io.stubdm.backends.net;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A NIC on its own single-thread "device loop" that keeps the frames it receives, takes only as many as it is
 * told to ({@link #acceptOnly}), refusing the rest as a NIC with a full ring does, and counts writable() calls.
 */
final class TestNic implements NetBackend.Frontend, AutoCloseable {
    static final long WAIT_MILLIS = 10_000;

    final ExecutorService loop = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "test-nic-loop");
        t.setDaemon(true);
        return t;
    });
    private final List<byte[]> received = new ArrayList<>();
    private long room = Long.MAX_VALUE;
    private int refusals;
    private int writableCalls;
    private Thread loopThread;

    @Override
    public synchronized boolean receive(ByteBuffer frame) {
        loopThread = Thread.currentThread();
        if (room == 0) {
            refusals++;
            notifyAll();
            return false;
        }
        byte[] copy = new byte[frame.remaining()];
        frame.get(copy);
        received.add(copy);
        room--;
        notifyAll();
        return true;
    }

    @Override
    public synchronized void writable() {
        writableCalls++;
        notifyAll();
    }

    synchronized void acceptOnly(long frames) {
        room = frames;
    }

    synchronized int refusals() {
        return refusals;
    }

    synchronized int writableCalls() {
        return writableCalls;
    }

    synchronized List<byte[]> received() {
        return new ArrayList<>(received);
    }

    /** The thread receive() ran on: it must be the loop's. */
    synchronized Thread receivingThread() {
        return loopThread;
    }

    /** Waits (bounded) until {@code n} frames have arrived; returns all received so far. */
    synchronized List<byte[]> awaitReceived(int n) throws InterruptedException {
        awaitCondition(() -> received.size() >= n, "received " + received.size() + " of " + n + " frames");
        return new ArrayList<>(received);
    }

    /** Waits (bounded) for a received frame that {@code matches}. */
    synchronized byte[] awaitFrame(String what, Predicate<byte[]> matches) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (true) {
            for (byte[] f : received) {
                if (matches.test(f)) {
                    return f;
                }
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("no " + what + " among " + received.size() + " received frames");
            }
            wait(left);
        }
    }

    synchronized void awaitRefusals(int n) throws InterruptedException {
        awaitCondition(() -> refusals >= n, refusals + " of " + n + " refusals");
    }

    synchronized void awaitWritable() throws InterruptedException {
        awaitCondition(() -> writableCalls > 0, "writable() never came");
    }

    private void awaitCondition(java.util.function.BooleanSupplier done, String failure) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (!done.getAsBoolean()) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError(failure);
            }
            wait(left);
        }
    }

    /** Runs {@code action} on the loop, as the device model would, and waits for it. */
    <T> T onLoop(Callable<T> action) throws Exception {
        return loop.submit(action).get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        loop.shutdownNow();
    }
}
