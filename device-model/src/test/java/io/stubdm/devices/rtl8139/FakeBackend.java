package io.stubdm.devices.rtl8139;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.backends.net.NetStats;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * A backend for NIC tests with the contract a real one keeps: frames injected from the test are offered on the
 * device loop in order, a refused frame is held with everything behind it until resumeReceive(); sends are
 * recorded, or refused while the test says the host is full, with writable() when it empties. Loop-confined,
 * except through {@link #inject}, {@link #sent} and {@link #setFull}, which post to the loop.
 */
final class FakeBackend implements NetBackend {
    private final NetStats stats = new NetStats();
    private final ArrayDeque<byte[]> pending = new ArrayDeque<>();
    private final List<byte[]> sent = new ArrayList<>();
    private Executor loop;
    private Frontend nic;
    private boolean held;
    private boolean full;
    private boolean nicWaits;
    private int refusedOffers;

    @Override
    public void connect(Executor loop, Frontend nic) {
        this.loop = loop;
        this.nic = nic;
    }

    /** Delivers frames to the NIC as a host would, from the loop. */
    void inject(byte[]... frames) {
        loop.execute(() -> {
            for (byte[] f : frames) {
                pending.add(f.clone());
            }
            offer();
        });
    }

    private void offer() {
        while (!held && !pending.isEmpty()) {
            if (!nic.receive(ByteBuffer.wrap(pending.peek()))) {
                held = true;
                refusedOffers++;
                return;
            }
            stats.rxFrames.incrementAndGet();
            pending.poll();
        }
    }

    @Override
    public void resumeReceive() {
        if (held) {
            held = false;
            offer();
        }
    }

    @Override
    public boolean send(ByteBuffer frame) {
        if (full) {
            nicWaits = true;
            return false;
        }
        byte[] copy = new byte[frame.remaining()];
        frame.get(copy);
        sent.add(copy);
        stats.txFrames.incrementAndGet();
        return true;
    }

    /** A host that takes nothing ({@code true}) or everything again, telling a waiting NIC. */
    void setFull(boolean on) {
        loop.execute(() -> {
            full = on;
            if (!on && nicWaits) {
                nicWaits = false;
                nic.writable();
            }
        });
    }

    /** Loop only: what the NIC has sent so far. */
    List<byte[]> sent() {
        return new ArrayList<>(sent);
    }

    /** Loop only: frames waiting to be offered (the held one first). */
    int waiting() {
        return pending.size();
    }

    /** Loop only: how often the NIC refused a frame. */
    int refusedOffers() {
        return refusedOffers;
    }

    @Override
    public NetStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "fake";
    }

    @Override
    public void close() {
    }
}
