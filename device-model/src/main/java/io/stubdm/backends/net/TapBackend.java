package io.stubdm.backends.net;

import static io.stubdm.backends.net.NetLibc.*;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A Linux TAP interface: {@code -netdev type=tap,ifname=vif5.0-emu}. The constructor opens {@code /dev/net/tun}
 * and creates the interface with TUNSETIFF ({@code IFF_TAP | IFF_NO_PI}, so each read and write is one bare
 * Ethernet frame) under exactly the requested name, so that the device model can create it before it reports
 * {@code running}: libxl then runs the vif-bridge hotplug script, which fails the domain creation when the
 * interface does not exist. stubdm never configures the interface (no address, no link state, no bridge): the
 * hotplug script does, as {@code script=no} tells QEMU. The interface is not persistent; it goes when the
 * backend is closed or the process exits.
 *
 * <p>The descriptor is non-blocking. The I/O thread waits in poll(2) on it and on an eventfd that wakes it.
 */
public final class TapBackend extends ThreadedNetBackend {
    private static final String CLONE_DEVICE = "/dev/net/tun";

    private final String name;
    private final int fd;
    private final int wakeFd;
    private final Pointer rxScratchAddress = Native.getDirectBufferPointer(rxScratch);
    /** Used under the transmit lock only. */
    private final ByteBuffer txScratch = ByteBuffer.allocateDirect(MAX_FRAME_BYTES);
    private final Pointer txScratchAddress = Native.getDirectBufferPointer(txScratch);
    private final Memory pollFds = new Memory(2L * POLLFD_BYTES);
    private final Memory wakeDrain = new Memory(8);
    /** Guards {@link #wakeSignal} and {@link #hostClosed}: a wake-up must never write to a reused descriptor. */
    private final Object wakeLock = new Object();
    private final Memory wakeSignal = new Memory(8);
    private boolean hostClosed;

    /**
     * Creates the interface named {@code ifname} (at most 15 characters; empty lets the kernel choose
     * {@code tapN}). Needs CAP_NET_ADMIN. Throws if the name is taken by another device or another process.
     */
    public TapBackend(String ifname) throws IOException {
        byte[] requested = validName(ifname).getBytes(StandardCharsets.US_ASCII);
        int tun = open(CLONE_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (tun < 0) {
            throw failure("open " + CLONE_DEVICE);
        }
        Memory ifr = new Memory(IFREQ_BYTES);
        ifr.clear();
        ifr.write(0, requested, 0, requested.length);
        ifr.setShort(IFREQ_FLAGS, (short) (IFF_TAP | IFF_NO_PI));
        if (ioctl(tun, TUNSETIFF, ifr) < 0) {
            int errno = Native.getLastError();
            NetLibc.close(tun);
            throw failure("TUNSETIFF " + (ifname.isEmpty() ? "(any tap)" : ifname), errno);
        }
        int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake < 0) {
            int errno = Native.getLastError();
            NetLibc.close(tun);
            throw failure("eventfd", errno);
        }
        this.fd = tun;
        this.wakeFd = wake;
        this.name = ifr.getString(0, StandardCharsets.US_ASCII.name());
        wakeSignal.setLong(0, 1);
    }

    private static String validName(String ifname) {
        if (ifname.length() >= IFNAMSIZ || !ifname.chars().allMatch(c -> c > ' ' && c < 0x7f && c != '/' && c != ':')) {
            throw new IllegalArgumentException("'" + ifname + "' is not a network interface name (at most "
                    + (IFNAMSIZ - 1) + " printable characters, no '/', ':' or spaces)");
        }
        return ifname;
    }

    /** The interface's name, as the kernel has it. */
    public String interfaceName() {
        return name;
    }

    @Override
    public String describe() {
        return "tap:" + name;
    }

    @Override
    protected int readFrame() throws IOException {
        while (true) {
            long n = read(fd, rxScratchAddress, MAX_FRAME_BYTES);
            if (n >= 0) {
                return (int) n;
            }
            int errno = Native.getLastError();
            if (errno == EAGAIN) {
                return 0;
            }
            if (errno != EINTR) {
                throw failure("read " + describe(), errno);
            }
        }
    }

    @Override
    protected WriteResult writeFrame(ByteBuffer frame) {
        int length = frame.remaining();
        int position = frame.position();
        txScratch.clear();
        txScratch.put(frame);
        frame.position(position);
        while (true) {
            long n = write(fd, txScratchAddress, length);
            if (n == length) {
                return WriteResult.SENT;
            }
            if (n >= 0) {
                // tun takes a frame whole or not at all; a short count would mean a truncated frame went out.
                stats.drop("tx-truncated");
                return WriteResult.DROPPED;
            }
            int errno = Native.getLastError();
            switch (errno) {
                case EINTR:
                    continue;
                case EAGAIN:
                    return WriteResult.BLOCKED;
                case EIO:
                    // tun refuses frames while the interface is down (before vif-bridge brings it up).
                    stats.drop("tx-link-down");
                    return WriteResult.DROPPED;
                case EINVAL:
                    stats.drop("tx-rejected");
                    return WriteResult.DROPPED;
                default:
                    stats.drop("tx-error");
                    return WriteResult.DROPPED;
            }
        }
    }

    @Override
    protected int awaitIo(boolean wantRead, boolean wantWrite) throws IOException {
        pollFds.setInt(0, fd);
        pollFds.setShort(4, (short) ((wantRead ? POLLIN : 0) | (wantWrite ? POLLOUT : 0)));
        pollFds.setShort(6, (short) 0);
        pollFds.setInt(POLLFD_BYTES, wakeFd);
        pollFds.setShort(POLLFD_BYTES + 4, POLLIN);
        pollFds.setShort(POLLFD_BYTES + 6, (short) 0);
        if (poll(pollFds, 2, -1) < 0) {
            int errno = Native.getLastError();
            if (errno == EINTR) {
                return 0;
            }
            throw failure("poll " + describe(), errno);
        }
        if ((pollFds.getShort(POLLFD_BYTES + 6) & POLLIN) != 0) {
            read(wakeFd, wakeDrain, 8);
        }
        short revents = pollFds.getShort(6);
        if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
            // tun reports an error once the interface is deleted under it; nothing will ever arrive again.
            throw new IOException(describe() + ": the interface is gone");
        }
        return ((revents & POLLIN) != 0 ? READY_READ : 0) | ((revents & POLLOUT) != 0 ? READY_WRITE : 0);
    }

    @Override
    protected void wakeIo() {
        synchronized (wakeLock) {
            if (!hostClosed) {
                write(wakeFd, wakeSignal, 8);
            }
        }
    }

    @Override
    protected void closeHost() {
        synchronized (wakeLock) {
            hostClosed = true;
            NetLibc.close(wakeFd);
        }
        NetLibc.close(fd);
    }
}
