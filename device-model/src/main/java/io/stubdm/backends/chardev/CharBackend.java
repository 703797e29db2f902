package io.stubdm.backends.chardev;

import java.util.concurrent.Executor;

/**
 * The host side of a character device (a serial port's far end): QEMU's "chardev". A backend moves bytes
 * between one device model frontend and something on the host (a pty, a socket, a file), with backpressure in
 * both directions, so that neither side ever has to drop a byte:
 *
 * <ul>
 *   <li><b>Output</b> (frontend to host): the frontend calls {@link #write} on the device loop; it returns how many
 *       bytes the backend took. If it took fewer than offered, the backend calls {@link Frontend#writable()} on
 *       the loop once it can take more, and the frontend keeps the rest until then.</li>
 *   <li><b>Input</b> (host to frontend): the backend's own I/O threads read the host side and post each delivery
 *       onto the loop's {@link Executor}, where {@link Frontend#receive} takes as many bytes as it has room for.
 *       The backend keeps the rest, and reads nothing more from the host, until the frontend calls
 *       {@link #acceptInput()}.</li>
 * </ul>
 *
 * <p>Everything but {@link #connect}, {@link #describe} and {@link #close} is called on the device loop.
 */
public interface CharBackend extends AutoCloseable {

    /** What a backend talks to: a device model frontend (the UART). Called on the device loop only. */
    interface Frontend {

        /**
         * Takes up to {@code len} bytes from the host; returns how many it took (0 when it has no room).
         * The backend holds the rest until {@link CharBackend#acceptInput()}.
         */
        int receive(byte[] buf, int off, int len);

        /** The backend can take output again after a {@link CharBackend#write} that took less than offered. */
        void writable();
    }

    /**
     * Attaches the frontend and starts the backend's I/O. Once only. Every later call into {@code frontend} runs
     * on {@code loop}.
     */
    void connect(Executor loop, Frontend frontend);

    /**
     * Offers {@code len} bytes for output; returns how many were taken (0 to {@code len}). On the device loop.
     * Bytes taken are the backend's to deliver: a frontend never sees them again.
     */
    int write(byte[] buf, int off, int len);

    /** The frontend has room again: resume deliveries. On the device loop. */
    void acceptInput();

    /**
     * Where the backend leads, in the form of QEMU's {@code query-chardev} "filename": {@code pty:/dev/pts/3},
     * {@code file:/path}, {@code unix:/path,server=on}, {@code stdio}, {@code /dev/hvc3}, {@code null}. libxl reads
     * the pty path of the serial port from this.
     */
    String describe();

    /** Stops the backend's I/O and releases what it opened. Output it already took is flushed if it can be soon. */
    @Override
    void close();
}
