package io.stubdm.backends.net;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

/**
 * Where an emulated NIC's frames go and come from: a TAP interface, a UDP socket, or nothing. Backends do their
 * I/O on their own threads and hand received frames to the NIC on the device loop. Frames are never dropped
 * silently: a frame a backend cannot deliver or send is counted in {@link NetStats} under its cause.
 */
public interface NetBackend extends AutoCloseable {

    /** Connects the NIC. Call once, on the device loop; received frames then arrive through {@code nic}. */
    void connect(Executor loop, Frontend nic);

    /**
     * Sends one Ethernet frame (without FCS), from the device loop. The buffer's remaining bytes are the frame and
     * are copied before this returns. Returns false when the backend's transmit queue is full: the NIC keeps the
     * frame's descriptor and retries after {@link Frontend#writable()}.
     */
    boolean send(ByteBuffer frame);

    /** The NIC has receive buffers again: deliver what was held back. Device loop only. */
    void resumeReceive();

    NetStats stats();

    /** For logs and QMP, e.g. {@code tap:vif5.0-emu} or {@code udp:127.0.0.1:5555->127.0.0.1:5556}. */
    String describe();

    @Override
    void close();

    /** The NIC side, called on the device loop. */
    interface Frontend {
        /**
         * A received frame (remaining bytes; valid only during the call). Returns false when the NIC has no
         * receive buffer for it: the backend keeps it and stops delivering until {@link #resumeReceive()}.
         */
        boolean receive(ByteBuffer frame);

        /** The backend can take frames again after {@link #send} returned false. */
        void writable();
    }
}
