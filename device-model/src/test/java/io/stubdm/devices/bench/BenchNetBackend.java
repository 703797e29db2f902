package io.stubdm.devices.bench;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.backends.net.NetStats;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The null backend the benchmarks measure against. Transmit: each frame is counted in {@link NetStats} as a
 * backend counts a frame it sent, and dropped (unless {@link #capture} asked for copies). Receive: frames are handed
 * to the NIC the way {@code ThreadedNetBackend} (TAP, UDP) hands them over: its I/O thread queues a filled slot and
 * posts one drain task to the device loop per batch; the drain offers slots in order, a refused frame stays at the
 * head and nothing more goes until the NIC calls {@link #resumeReceive()}.
 *
 * <p>{@code NullNetBackend} does not fit: it never receives, and keeps nothing of what it drops for the setup check
 * to compare. What the I/O thread does before queueing (a read from the host, a copy into the slot) runs on its own
 * thread in production and is left out: {@link #offer} queues a slot already filled.
 */
final class BenchNetBackend implements NetBackend {
    private final NetStats stats = new NetStats();
    private final ArrayBlockingQueue<ByteBuffer> filled;
    private final AtomicBoolean drainPosted = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
    private Executor loop;
    private Frontend nic;
    /** Loop-confined: the NIC refused the frame at the head of {@link #filled}. */
    private boolean held;
    private List<byte[]> captured;

    /** Room for {@code slots} frames queued for the NIC, as the I/O thread's pool of receive slots. */
    BenchNetBackend(int slots) {
        filled = new ArrayBlockingQueue<>(slots);
    }

    @Override
    public void connect(Executor loop, Frontend nic) {
        this.loop = loop;
        this.nic = nic;
    }

    @Override
    public boolean send(ByteBuffer frame) {
        int length = frame.remaining();
        if (captured != null) {
            byte[] copy = new byte[length];
            frame.get(frame.position(), copy);
            captured.add(copy);
        }
        stats.txFrames.incrementAndGet();
        stats.txBytes.addAndGet(length);
        return true;
    }

    @Override
    public void resumeReceive() {
        if (held) {
            held = false;
            drain();
        }
    }

    @Override
    public NetStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "bench-null";
    }

    @Override
    public void close() {
    }

    /** Keeps a copy of every frame sent from now on, for the setup check. */
    void capture() {
        captured = new ArrayList<>();
    }

    /** The copies kept since {@link #capture()}; sending goes back to dropping. */
    List<byte[]> stopCapture() {
        List<byte[]> c = captured;
        captured = null;
        return c;
    }

    /**
     * The I/O thread's side: queues {@code slot} (position 0, limit the frame's length) for the NIC and posts a
     * drain unless one is posted already. Throws when every slot is queued, which a real I/O thread avoids by not
     * reading.
     */
    void offer(ByteBuffer slot) {
        if (!filled.offer(slot)) {
            throw new IllegalStateException("every receive slot is queued already");
        }
        if (drainPosted.compareAndSet(false, true)) {
            loop.execute(drainTask);
        }
    }

    /** Frames queued that the NIC has not taken yet. */
    int waiting() {
        return filled.size();
    }

    private void drain() {
        drainPosted.set(false);
        ByteBuffer slot;
        while (!held && (slot = filled.peek()) != null) {
            int length = slot.remaining();
            if (!nic.receive(slot)) {
                held = true;
                return;
            }
            filled.poll();
            slot.limit(length).position(0);
            stats.rxFrames.incrementAndGet();
            stats.rxBytes.addAndGet(length);
        }
    }
}
