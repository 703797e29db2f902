package io.stubdm.backends.chardev;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.IOException;

/**
 * A backend over plain file descriptors (a pty master, a device node, stdin/stdout), driven with poll(2) so
 * that its threads notice {@link #close()} within {@link #POLL_MILLIS} and the descriptors are closed only once
 * no thread uses them.
 *
 * <p>A descriptor that reports a hang-up (a pty master whose slave nobody has open) is treated as a cable
 * nobody holds: input waits for a client, output is discarded, both as QEMU's pty chardev does.
 */
abstract class NativeFdBackend extends ThreadedBackend {
    /** How long a thread waits in poll before looking whether the backend is closing. */
    static final int POLL_MILLIS = 100;
    private static final int HUP_OR_ERROR = Libc.POLLHUP | Libc.POLLERR | Libc.POLLNVAL;

    private final int inputFd;
    private final int outputFd;

    NativeFdBackend(int inputFd, int outputFd) {
        this.inputFd = inputFd;
        this.outputFd = outputFd;
    }

    @Override
    protected void startIo() {
        startReader(this::readLoop);
        startWriter(this::writeLoop);
    }

    private void readLoop() throws IOException, InterruptedException {
        Memory pollfd = new Memory(8);
        Memory buf = new Memory(OUTPUT_BUFFER_BYTES);
        byte[] bytes = new byte[OUTPUT_BUFFER_BYTES];
        while (!isClosed()) {
            int revents = Libc.pollOne(pollfd, inputFd, Libc.POLLIN, POLL_MILLIS);
            if ((revents & Libc.POLLNVAL) != 0) {
                return;
            }
            if ((revents & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) == 0) {
                continue;
            }
            // A hang-up is read too: a pipe at its end reads 0, a pty master without a client fails with EIO.
            long n = Libc.C.read(inputFd, buf, bytes.length);
            if (n > 0) {
                buf.read(0, bytes, 0, (int) n);
                if (!deliver(bytes, (int) n)) {
                    return;
                }
                continue;
            }
            if (n == 0) {
                return; // end of file: nothing more will come
            }
            int errno = Native.getLastError();
            if (errno == Libc.EAGAIN || errno == Libc.EINTR) {
                continue;
            }
            if (errno != Libc.EIO) {
                throw Libc.failure("read " + describe());
            }
            // No client on the pty: poll would report the hang-up at once, so look again a little later.
            if (!pause(POLL_MILLIS)) {
                return;
            }
        }
    }

    private void writeLoop() throws IOException, InterruptedException {
        Memory pollfd = new Memory(8);
        Memory buf = new Memory(OUTPUT_BUFFER_BYTES);
        byte[] bytes = new byte[OUTPUT_BUFFER_BYTES];
        int n;
        while ((n = takeOutput(bytes)) >= 0) {
            buf.write(0, bytes, 0, n);
            int done = 0;
            while (done < n && !isClosed()) {
                int revents = Libc.pollOne(pollfd, outputFd, Libc.POLLOUT, POLL_MILLIS);
                if ((revents & HUP_OR_ERROR) != 0) {
                    break;
                }
                if ((revents & Libc.POLLOUT) == 0) {
                    continue;
                }
                long w = Libc.C.write(outputFd, buf.share(done), n - done);
                if (w >= 0) {
                    done += (int) w;
                    continue;
                }
                int errno = Native.getLastError();
                if (errno == Libc.EIO) {
                    break;
                }
                if (errno != Libc.EAGAIN && errno != Libc.EINTR) {
                    throw Libc.failure("write " + describe());
                }
            }
            discard(n - done);
        }
    }

    /** Closes the descriptors once the threads are gone: a descriptor number closed under a poll may be reused. */
    @Override
    protected void closeHost() throws IOException {
        joinThreads();
        closeDescriptors();
    }

    /** Closes what this backend opened (not stdin/stdout). */
    protected abstract void closeDescriptors() throws IOException;
}
