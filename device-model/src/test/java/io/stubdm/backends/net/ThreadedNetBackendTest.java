package io.stubdm.backends.net;

import static io.stubdm.backends.net.Frames.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The backpressure both backends share, against a scripted host side: a host that stops taking frames, and a
 * NIC that stops taking them.
 */
class ThreadedNetBackendTest {

    /** A host whose incoming frames the test queues and which takes outgoing frames only while {@link #open}. */
    static final class ScriptedHost extends ThreadedNetBackend {
        private final ArrayDeque<byte[]> incoming = new ArrayDeque<>();
        final List<byte[]> written = new ArrayList<>();
        private boolean writable = true;
        private boolean woken;
        int reads;

        synchronized void arrive(byte[] frame) {
            incoming.add(frame);
            notifyAll();
        }

        synchronized void setWritable(boolean on) {
            writable = on;
            notifyAll();
        }

        synchronized List<byte[]> written() {
            return new ArrayList<>(written);
        }

        synchronized int reads() {
            return reads;
        }

        @Override
        protected synchronized int readFrame() {
            byte[] f = incoming.poll();
            if (f == null) {
                return 0;
            }
            reads++;
            rxScratch.clear();
            rxScratch.put(f);
            return f.length;
        }

        @Override
        protected synchronized WriteResult writeFrame(ByteBuffer frame) {
            if (!writable) {
                return WriteResult.BLOCKED;
            }
            byte[] copy = new byte[frame.remaining()];
            frame.duplicate().get(copy);
            written.add(copy);
            return WriteResult.SENT;
        }

        @Override
        protected synchronized int awaitIo(boolean wantRead, boolean wantWrite) throws java.io.IOException {
            while (true) {
                int ready = (wantRead && !incoming.isEmpty() ? READY_READ : 0) | (wantWrite && writable ? READY_WRITE : 0);
                if (ready != 0 || woken || isClosed()) {
                    woken = false;
                    return ready;
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
            }
        }

        @Override
        protected synchronized void wakeIo() {
            woken = true;
            notifyAll();
        }

        @Override
        protected void closeHost() {
        }

        @Override
        public String describe() {
            return "scripted";
        }
    }

    @Test
    void aHostThatPushesBackQueuesABoundedNumberThenMakesTheNicWait() throws Exception {
        try (ScriptedHost host = new ScriptedHost(); TestNic nic = new TestNic()) {
            host.connect(nic.loop, nic);
            host.setWritable(false);
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < ThreadedNetBackend.TX_QUEUE_FRAMES + 5; i++) {
                frames.add(numbered(MAC_B, MAC_A, i, 64 + i));
            }
            int accepted = nic.onLoop(() -> {
                int n = 0;
                while (n < frames.size() && host.send(ByteBuffer.wrap(frames.get(n)))) {
                    n++;
                }
                return n;
            });
            assertEquals(ThreadedNetBackend.TX_QUEUE_FRAMES, accepted, "the queue takes a bounded number");
            assertEquals(0, nic.writableCalls());

            host.setWritable(true);
            nic.awaitWritable();
            int rest = nic.onLoop(() -> {
                int n = accepted;
                while (n < frames.size() && host.send(ByteBuffer.wrap(frames.get(n)))) {
                    n++;
                }
                return n;
            });
            assertEquals(frames.size(), rest, "after writable() the NIC sends the rest");
            long deadline = System.currentTimeMillis() + 5000;
            while (host.written().size() < frames.size() && System.currentTimeMillis() < deadline) {
                Thread.sleep(5);
            }
            List<byte[]> written = host.written();
            assertEquals(frames.size(), written.size());
            for (int i = 0; i < frames.size(); i++) {
                assertArrayEquals(frames.get(i), written.get(i), "frame " + i + " in order");
            }
            assertEquals(frames.size(), host.stats().txFrames.get());
            assertEquals(Map.of(), host.stats().dropsByCause());
        }
    }

    @Test
    void whileTheNicHoldsAFrameNothingMoreIsReadFromTheHost() throws Exception {
        try (ScriptedHost host = new ScriptedHost(); TestNic nic = new TestNic()) {
            nic.acceptOnly(1);
            host.connect(nic.loop, nic);
            host.arrive(numbered(MAC_A, MAC_B, 0, 64));
            host.arrive(numbered(MAC_A, MAC_B, 1, 64));
            nic.awaitRefusals(1);
            nic.onLoop(() -> null); // the drain that met the refusal has finished: the backend is paused
            for (int i = 2; i < 10; i++) {
                host.arrive(numbered(MAC_A, MAC_B, i, 64));
            }
            Thread.sleep(100);
            assertEquals(2, host.reads(), "reading stops at the refused frame");

            nic.acceptOnly(Long.MAX_VALUE);
            nic.onLoop(() -> {
                host.resumeReceive();
                return null;
            });
            List<byte[]> got = nic.awaitReceived(10);
            for (int i = 0; i < 10; i++) {
                assertArrayEquals(numbered(MAC_A, MAC_B, i, 64), got.get(i));
            }
            host.arrive(new byte[10]);
            host.arrive(numbered(MAC_A, MAC_B, 10, 64));
            nic.awaitReceived(11);
            assertEquals(Map.of("rx-runt", 1L), host.stats().dropsByCause(), "a runt is counted, not delivered");
        }
    }
}
