package io.stubdm.backends.net;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the TAP and UDP backends share: one I/O thread that waits until the host side is readable or writable,
 * a bounded pool of receive buffers handed to the NIC on the device loop in arrival order, and a bounded transmit
 * queue for the moments the host pushes back.
 *
 * <p>Receive: the I/O thread reads a frame into its scratch buffer, copies it into a free slot, queues the slot and
 * posts one drain task to the loop (one per batch, not per frame). The drain offers slots to the NIC in order.
 * When the NIC has no room, the frame stays at the head of the queue, the I/O thread stops reading, and only
 * {@link #resumeReceive()} starts both again; meanwhile the host's own queue (a tap's txqueuelen, a socket's
 * receive buffer) fills and the host drops there, in its own counters. Slots are reused, so the steady state
 * allocates nothing per frame.
 *
 * <p>Transmit: the loop writes to the host directly, without blocking. When the host would block, the frame is
 * copied into a queue of at most {@link #TX_QUEUE_FRAMES} that the I/O thread drains once the host is writable;
 * when that queue is full, {@link #send} returns false and the NIC hears {@link Frontend#writable()} when half of
 * it has drained.
 */
abstract class ThreadedNetBackend implements NetBackend {
    private static final System.Logger LOG = System.getLogger(ThreadedNetBackend.class.getName());
    static final int RX_SLOTS = 64;
    static final int TX_QUEUE_FRAMES = 64;
    /** Room for a full-sized frame with a VLAN tag; a larger (jumbo) frame grows its slot once. */
    static final int SLOT_BYTES = 2048;
    /** More than any frame a tap or a UDP datagram can carry. */
    static final int MAX_FRAME_BYTES = 65536;
    /** A destination, a source and a type: anything shorter is not an Ethernet frame. */
    static final int MIN_FRAME_BYTES = 14;
    /** Frames read before the I/O thread looks at the transmit side again. */
    private static final int READ_BATCH = 64;
    private static final long JOIN_MILLIS = 2000;
    static final int READY_READ = 1;
    static final int READY_WRITE = 2;

    /** What became of a frame offered to the host. */
    enum WriteResult { SENT, DROPPED, BLOCKED }

    protected final NetStats stats = new NetStats();
    /** The I/O thread's read buffer. */
    protected final ByteBuffer rxScratch = ByteBuffer.allocateDirect(MAX_FRAME_BYTES);

    private final ArrayBlockingQueue<ByteBuffer> freeSlots = new ArrayBlockingQueue<>(RX_SLOTS);
    private final ArrayBlockingQueue<ByteBuffer> filledSlots = new ArrayBlockingQueue<>(RX_SLOTS);
    private final AtomicBoolean drainPosted = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
    private final Runnable writableTask = this::notifyWritable;
    /** Written on the loop, read by the I/O thread: do not read from the host. */
    private volatile boolean rxPaused;
    /** Loop-confined: the NIC refused the frame at the head of {@link #filledSlots}. */
    private boolean rxHeld;

    /** Guards the transmit queue, the host descriptor's writes and {@link #closed} transitions. */
    private final Object txLock = new Object();
    private final ArrayDeque<ByteBuffer> txQueue = new ArrayDeque<>(TX_QUEUE_FRAMES);
    private final ArrayDeque<ByteBuffer> txSpare = new ArrayDeque<>(TX_QUEUE_FRAMES);
    private boolean nicWaitsToSend;

    private Executor loop;
    private Frontend nic;
    private Thread ioThread;
    private volatile boolean closed;

    ThreadedNetBackend() {
        for (int i = 0; i < RX_SLOTS; i++) {
            freeSlots.add(ByteBuffer.allocateDirect(SLOT_BYTES));
        }
    }

    // ---------------------------------------------------------------- the host side, for subclasses

    /**
     * Reads one frame into {@link #rxScratch} from position 0, without blocking; returns its length, or 0 when
     * nothing is waiting. Throws when the host side is gone for good. I/O thread only.
     */
    protected abstract int readFrame() throws IOException;

    /**
     * Writes {@code frame}'s remaining bytes as one frame without blocking, leaving its position and limit as they
     * were. Counts a {@link WriteResult#DROPPED} frame in {@link #stats} under its cause. Called under the
     * transmit lock, from the loop or the I/O thread.
     */
    protected abstract WriteResult writeFrame(ByteBuffer frame);

    /**
     * Blocks until the host is readable ({@code wantRead}), writable ({@code wantWrite}) or {@link #wakeIo()} was
     * called; returns {@link #READY_READ} and {@link #READY_WRITE} bits. I/O thread only.
     */
    protected abstract int awaitIo(boolean wantRead, boolean wantWrite) throws IOException;

    /** Makes a current or the next {@link #awaitIo} return. Any thread, also after {@link #closeHost()}. */
    protected abstract void wakeIo();

    /** Releases the host side; the I/O thread has stopped and no write is in progress. */
    protected abstract void closeHost();

    // ---------------------------------------------------------------- NetBackend

    @Override
    public final synchronized void connect(Executor loop, Frontend nic) {
        if (this.nic != null) {
            throw new IllegalStateException(describe() + " is connected already");
        }
        if (closed) {
            throw new IllegalStateException(describe() + " is closed");
        }
        this.loop = loop;
        this.nic = nic;
        Thread t = new Thread(this::ioLoop, "net " + describe());
        t.setDaemon(true);
        ioThread = t;
        t.start();
    }

    @Override
    public final boolean send(ByteBuffer frame) {
        int length = frame.remaining();
        boolean wake;
        synchronized (txLock) {
            if (closed) {
                stats.drop("tx-closed");
                return true;
            }
            if (txQueue.isEmpty()) {
                WriteResult r = writeFrame(frame);
                if (r == WriteResult.SENT) {
                    stats.txFrames.incrementAndGet();
                    stats.txBytes.addAndGet(length);
                    return true;
                }
                if (r == WriteResult.DROPPED) {
                    return true;
                }
            }
            if (txQueue.size() >= TX_QUEUE_FRAMES) {
                nicWaitsToSend = true;
                return false;
            }
            ByteBuffer copy = txSpare.poll();
            if (copy == null || copy.capacity() < length) {
                copy = ByteBuffer.allocateDirect(Math.max(length, SLOT_BYTES));
            }
            copy.clear();
            copy.put(frame).flip();
            wake = txQueue.isEmpty();
            txQueue.add(copy);
        }
        if (wake) {
            wakeIo();
        }
        return true;
    }

    @Override
    public final void resumeReceive() {
        if (!rxHeld) {
            return;
        }
        rxHeld = false;
        rxPaused = false;
        drain();
        if (!rxPaused) {
            wakeIo();
        }
    }

    @Override
    public final NetStats stats() {
        return stats;
    }

    @Override
    public final void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            synchronized (txLock) {
                closed = true;
                for (int i = txQueue.size(); i > 0; i--) {
                    stats.drop("tx-closed");
                }
                txQueue.clear();
            }
        }
        wakeIo();
        Thread t = ioThread;
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(JOIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.log(Level.WARNING, t.getName() + " did not stop");
            }
        }
        synchronized (txLock) {
            closeHost();
        }
        // Frames read from the host that the NIC never took are lost with the backend: say so.
        for (int i = filledSlots.size(); i > 0; i--) {
            stats.drop("rx-closed");
        }
        filledSlots.clear();
    }

    protected final boolean isClosed() {
        return closed;
    }

    // ---------------------------------------------------------------- the I/O thread

    private void ioLoop() {
        try {
            while (!closed) {
                boolean wantRead = !rxPaused && !freeSlots.isEmpty();
                boolean wantWrite;
                synchronized (txLock) {
                    wantWrite = !txQueue.isEmpty();
                }
                int ready = awaitIo(wantRead, wantWrite);
                if (closed) {
                    return;
                }
                if (wantWrite && (ready & READY_WRITE) != 0) {
                    flushQueue();
                }
                if (wantRead && (ready & READY_READ) != 0) {
                    readSome();
                }
            }
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                LOG.log(Level.WARNING, describe() + ": I/O thread stopped; the NIC receives nothing more", e);
            }
        }
    }

    private void readSome() throws IOException {
        for (int i = 0; i < READ_BATCH && !rxPaused && !closed; i++) {
            ByteBuffer slot = freeSlots.peek();
            if (slot == null) {
                return;
            }
            int n = readFrame();
            if (n <= 0) {
                return;
            }
            if (n < MIN_FRAME_BYTES) {
                stats.drop("rx-runt");
                continue;
            }
            freeSlots.poll();
            if (slot.capacity() < n) {
                slot = ByteBuffer.allocateDirect(n);
            }
            rxScratch.limit(n).position(0);
            slot.clear();
            slot.put(rxScratch).flip();
            filledSlots.add(slot);
            if (drainPosted.compareAndSet(false, true)) {
                loop.execute(drainTask);
            }
        }
    }

    private void flushQueue() {
        boolean notify = false;
        synchronized (txLock) {
            ByteBuffer head;
            while (!closed && (head = txQueue.peek()) != null) {
                int length = head.remaining();
                WriteResult r = writeFrame(head);
                if (r == WriteResult.BLOCKED) {
                    break;
                }
                txQueue.poll();
                if (r == WriteResult.SENT) {
                    stats.txFrames.incrementAndGet();
                    stats.txBytes.addAndGet(length);
                }
                txSpare.add(head);
            }
            if (nicWaitsToSend && txQueue.size() <= TX_QUEUE_FRAMES / 2) {
                nicWaitsToSend = false;
                notify = true;
            }
        }
        if (notify) {
            loop.execute(writableTask);
        }
    }

    // ---------------------------------------------------------------- the device loop side

    private void drain() {
        drainPosted.set(false);
        ByteBuffer slot;
        while (!rxHeld && !closed && (slot = filledSlots.peek()) != null) {
            int length = slot.remaining();
            if (!nic.receive(slot)) {
                slot.limit(length).position(0);
                rxHeld = true;
                rxPaused = true;
                return;
            }
            filledSlots.poll();
            stats.rxFrames.incrementAndGet();
            stats.rxBytes.addAndGet(length);
            boolean starved = freeSlots.isEmpty();
            slot.clear();
            freeSlots.add(slot);
            if (starved) {
                wakeIo();
            }
        }
    }

    private void notifyWritable() {
        if (!closed) {
            nic.writable();
        }
    }
}
