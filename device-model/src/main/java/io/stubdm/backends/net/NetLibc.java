package io.stubdm.backends.net;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;

/**
 * The libc calls the TAP backend needs and the JDK lacks: opening {@code /dev/net/tun}, TUNSETIFF, and per-frame
 * read, write and poll on plain descriptors, plus an eventfd to wake the I/O thread. Direct-mapped
 * ({@link Native#register}) rather than an interface proxy because read and write run once per frame; JNA still
 * keeps {@code errno} for {@link Native#getLastError()}. Constants are those of Linux on x86-64 and arm64.
 */
final class NetLibc {
    static {
        Native.register("c");
    }

    private NetLibc() {
    }

    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;

    /** {@code _IOW('T', 202, int)} from linux/if_tun.h. */
    static final long TUNSETIFF = 0x400454caL;
    static final short IFF_TAP = 0x0002;
    /** No 4-byte packet-information prefix: each read and write is exactly one Ethernet frame. */
    static final short IFF_NO_PI = 0x1000;
    /** {@code struct ifreq}: a 16-byte name, then a union whose first member is {@code short ifr_flags}. */
    static final int IFREQ_BYTES = 40;
    static final int IFNAMSIZ = 16;
    static final int IFREQ_FLAGS = 16;

    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;
    /** {@code struct pollfd}: int fd, short events, short revents. */
    static final int POLLFD_BYTES = 8;

    static final int EINTR = 4;
    static final int EIO = 5;
    static final int EAGAIN = 11;
    static final int EINVAL = 22;

    static native int open(String path, int flags);

    static native int close(int fd);

    static native int ioctl(int fd, long request, Pointer arg);

    static native long read(int fd, Pointer buf, long count);

    static native long write(int fd, Pointer buf, long count);

    static native int poll(Pointer fds, long nfds, int timeoutMillis);

    static native int eventfd(int initval, int flags);

    static native String strerror(int errno);

    /** An IOException for the call that just failed, with errno's text. */
    static IOException failure(String what) {
        return failure(what, Native.getLastError());
    }

    static IOException failure(String what, int errno) {
        return new IOException(what + ": " + strerror(errno) + " (errno " + errno + ")");
    }
}
