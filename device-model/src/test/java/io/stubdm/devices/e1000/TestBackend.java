package io.stubdm.devices.e1000;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.backends.net.NetStats;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * A backend the test drives, used on the device loop only: it records what the NIC sends, delivers injected
 * frames as a real backend does (a refused frame is kept and the rest wait behind it until the NIC calls
 * {@link #resumeReceive()}), and can stop taking frames to play a full transmit queue.
 */
final class TestBackend implements NetBackend {
    private final NetStats stats = new NetStats();
    private final List<byte[]> sent = new ArrayList<>();
    private final ArrayDeque<byte[]> waiting = new ArrayDeque<>();
    private Frontend nic;
    private boolean paused;
    private int refusals;
    private int sendBudget = Integer.MAX_VALUE;
    private int sendRefusals;

    @Override
    public void connect(Executor loop, Frontend nic) {
        this.nic = nic;
    }

    @Override
    public boolean send(ByteBuffer frame) {
        if (sendBudget == 0) {
            sendRefusals++;
            return false;
        }
        if (sendBudget != Integer.MAX_VALUE) {
            sendBudget--;
        }
        byte[] copy = new byte[frame.remaining()];
        frame.get(copy);
        sent.add(copy);
        stats.txFrames.incrementAndGet();
        stats.txBytes.addAndGet(copy.length);
        return true;
    }

    @Override
    public void resumeReceive() {
        paused = false;
        deliver();
    }

    @Override
    public NetStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "test";
    }

    @Override
    public void close() {
    }

    /** Queues {@code frame} for the NIC and delivers what it takes. */
    void inject(byte[] frame) {
        waiting.add(frame.clone());
        deliver();
    }

    private void deliver() {
        while (!paused && !waiting.isEmpty()) {
            if (!nic.receive(ByteBuffer.wrap(waiting.peek()))) {
                paused = true;
                refusals++;
                return;
            }
            byte[] f = waiting.poll();
            stats.rxFrames.incrementAndGet();
            stats.rxBytes.addAndGet(f.length);
        }
    }

    /** Frames still held because the NIC had no room. */
    int waiting() {
        return waiting.size();
    }

    /** How often the NIC said it had no buffer. */
    int refusals() {
        return refusals;
    }

    List<byte[]> sent() {
        return new ArrayList<>(sent);
    }

    void clearSent() {
        sent.clear();
    }

    /** Takes only {@code frames} more frames, then refuses (a full transmit queue). */
    void limitSends(int frames) {
        sendBudget = frames;
    }

    /** Takes frames again and tells the NIC so. */
    void unlimitSends() {
        sendBudget = Integer.MAX_VALUE;
        nic.writable();
    }

    int sendRefusals() {
        return sendRefusals;
    }
}
