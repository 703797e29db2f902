package io.stubdm.hypervisor;

/**
 * An event-channel handle (libxenevtchn, {@code /dev/xen/evtchn}). Delivering a port masks it, as the Linux driver
 * does; the owner unmasks it once it has looked at what the port signals, and an event that arrived meanwhile is
 * delivered again then.
 */
public interface EventChannels extends AutoCloseable {

    /** Binds to {@code remotePort} of {@code remoteDomid}; returns the local port. */
    int bindInterdomain(int remoteDomid, int remotePort);

    void unbind(int localPort);

    void notify(int localPort);

    void unmask(int localPort);

    /**
     * Waits until at least one port is pending, {@link #wakeup()} is called, or {@code timeoutNanos} pass
     * ({@code 0} polls, negative waits without limit). Stores pending ports in {@code out} and returns how many.
     */
    int awaitPending(int[] out, long timeoutNanos);

    /** Makes a current or the next {@link #awaitPending} return at once. Safe from any thread. */
    void wakeup();

    @Override
    void close();
}
