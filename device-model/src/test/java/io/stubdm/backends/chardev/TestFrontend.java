package io.stubdm.backends.chardev;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A frontend on its own single-thread "device loop" that collects what it receives, taking at most
 * {@link #setRoom} bytes, and counts writable() calls.
 */
final class TestFrontend implements CharBackend.Frontend, AutoCloseable {
    static final long WAIT_MILLIS = 5000;

    final ExecutorService loop = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "test-frontend-loop");
        t.setDaemon(true);
        return t;
    });
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private long room = Long.MAX_VALUE;
    private int writableCalls;

    @Override
    public synchronized int receive(byte[] buf, int off, int len) {
        int n = (int) Math.min(len, room);
        received.write(buf, off, n);
        room -= n;
        notifyAll();
        return n;
    }

    @Override
    public synchronized void writable() {
        writableCalls++;
        notifyAll();
    }

    synchronized void setRoom(long bytes) {
        room = bytes;
    }

    synchronized int writableCalls() {
        return writableCalls;
    }

    synchronized byte[] received() {
        return received.toByteArray();
    }

    /** Waits (bounded) until {@code n} bytes have arrived and returns everything received. */
    synchronized byte[] awaitReceived(int n) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (received.size() < n) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("received " + received.size() + " of " + n + " bytes");
            }
            wait(left);
        }
        return received.toByteArray();
    }

    synchronized void awaitWritable() throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (writableCalls == 0) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("writable() never came");
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
