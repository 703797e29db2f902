package io.stubdm.hypervisor.xen;

import static io.stubdm.hypervisor.xen.XenLibs.EventChannel.*;
import static io.stubdm.hypervisor.xen.XenLibs.Libc.*;

import com.sun.jna.Pointer;
import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.XenException;

/**
 * An event-channel handle through libxenevtchn. Its file descriptor is made non-blocking so that pending ports
 * can be drained without blocking, and the loop waits with poll(2) on it together with an eventfd that
 * {@link #wakeup()} writes: one system call covers ioreqs, timers (the timeout) and posted tasks.
 */
final class XenEventChannels implements EventChannels {
    private final Pointer handle;
    private final int fd;
    private final int wakeFd;
    private final int[] pollFds = new int[4];
    private final long[] eightBytes = new long[1];
    private volatile boolean closed;

    XenEventChannels() {
        XenLibs.require();
        handle = xenevtchn_open(null, 0);
        if (handle == null) {
            throw XenLibs.fail("xenevtchn_open", "/dev/xen/evtchn");
        }
        fd = xenevtchn_fd(handle);
        int flags = fcntl(fd, XenLibs.F_GETFL, 0);
        if (flags < 0 || fcntl(fd, XenLibs.F_SETFL, flags | XenLibs.O_NONBLOCK) < 0) {
            xenevtchn_close(handle);
            throw XenLibs.fail("fcntl(O_NONBLOCK)", "event channel fd");
        }
        wakeFd = eventfd(0, XenLibs.EFD_CLOEXEC | XenLibs.EFD_NONBLOCK);
        if (wakeFd < 0) {
            xenevtchn_close(handle);
            throw XenLibs.fail("eventfd", "device loop wakeup");
        }
    }

    @Override
    public int bindInterdomain(int remoteDomid, int remotePort) {
        int port = xenevtchn_bind_interdomain(handle, remoteDomid, remotePort);
        if (port < 0) {
            throw XenLibs.fail("xenevtchn_bind_interdomain", "domain " + remoteDomid + " port " + remotePort);
        }
        return port;
    }

    @Override
    public void unbind(int localPort) {
        if (xenevtchn_unbind(handle, localPort) != 0) {
            throw XenLibs.fail("xenevtchn_unbind", "port " + localPort);
        }
    }

    @Override
    public void notify(int localPort) {
        if (xenevtchn_notify(handle, localPort) != 0) {
            throw XenLibs.fail("xenevtchn_notify", "port " + localPort);
        }
    }

    @Override
    public void unmask(int localPort) {
        if (xenevtchn_unmask(handle, localPort) != 0) {
            throw XenLibs.fail("xenevtchn_unmask", "port " + localPort);
        }
    }

    @Override
    public int awaitPending(int[] out, long timeoutNanos) {
        int n = drain(out);
        if (n > 0 || timeoutNanos == 0 || closed) {
            return n;
        }
        // struct pollfd {int fd; short events; short revents;} as two ints each.
        pollFds[0] = fd;
        pollFds[1] = XenLibs.POLLIN;
        pollFds[2] = wakeFd;
        pollFds[3] = XenLibs.POLLIN;
        int ms = timeoutNanos < 0 ? -1 : (int) Math.min(Integer.MAX_VALUE, (timeoutNanos + 999_999) / 1_000_000);
        if (poll(pollFds, 2, ms) < 0) {
            XenException e = XenLibs.fail("poll", "event channel");
            if (e.errno() != 4) { // EINTR: a signal; the caller loops anyway
                throw e;
            }
        }
        if ((pollFds[3] >>> 16) != 0) {
            read(wakeFd, eightBytes, 8); // consume the wakeup
        }
        return drain(out);
    }

    private int drain(int[] out) {
        int n = 0;
        while (n < out.length) {
            int port = xenevtchn_pending(handle);
            if (port < 0) {
                break; // EAGAIN: nothing more
            }
            out[n++] = port;
        }
        return n;
    }

    @Override
    public void wakeup() {
        long[] one = {1};
        write(wakeFd, one, 8);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            wakeup();
            XenLibs.Libc.close(wakeFd);
            xenevtchn_close(handle);
        }
    }
}
