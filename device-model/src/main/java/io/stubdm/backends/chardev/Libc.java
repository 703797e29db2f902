package io.stubdm.backends.chardev;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;

/**
 * The few libc calls the JDK has no API for: pty allocation, termios and poll on plain descriptors. Constants
 * and the {@code struct termios} size are those of glibc on 64-bit Linux (x86-64, the only host Xen HVM runs
 * on, and arm64 share them). Calls return -1 and leave {@code errno} in {@link Native#getLastError()}.
 */
interface Libc extends Library {
    Libc C = Native.load("c", Libc.class);

    int O_RDWR = 0x2;
    int O_NOCTTY = 0x100;
    int O_NONBLOCK = 0x800;
    int F_GETFL = 3;
    int F_SETFL = 4;
    int TCSANOW = 0;
    short POLLIN = 0x1;
    short POLLOUT = 0x4;
    short POLLERR = 0x8;
    short POLLHUP = 0x10;
    short POLLNVAL = 0x20;
    int EINTR = 4;
    int EIO = 5;
    int EAGAIN = 11;
    /** {@code sizeof(struct termios)} is 60 on glibc; room to spare costs nothing. */
    int TERMIOS_BYTES = 64;
    int TERMIOS_OFLAG = 4;
    int TERMIOS_LFLAG = 12;
    int OPOST = 0x1;
    int ISIG = 0x1;

    int posix_openpt(int flags);

    int grantpt(int fd);

    int unlockpt(int fd);

    /** Returns 0 or an errno value (not -1). */
    int ptsname_r(int fd, byte[] buf, long buflen);

    int open(String path, int flags);

    int close(int fd);

    long read(int fd, Pointer buf, long count);

    long write(int fd, Pointer buf, long count);

    int poll(Pointer fds, long nfds, int timeoutMillis);

    int fcntl(int fd, int cmd, int arg);

    int isatty(int fd);

    int tcgetattr(int fd, byte[] termios);

    int tcsetattr(int fd, int optionalActions, byte[] termios);

    void cfmakeraw(byte[] termios);

    String strerror(int errno);

    /** An IOException for a call that just failed, with errno's text. */
    static IOException failure(String what) {
        int errno = Native.getLastError();
        return new IOException(what + ": " + C.strerror(errno) + " (errno " + errno + ")");
    }

    /** Throws {@link #failure} if {@code result} is -1; returns it otherwise. */
    static int check(int result, String what) throws IOException {
        if (result == -1) {
            throw failure(what);
        }
        return result;
    }

    /**
     * Polls one descriptor for {@code events} up to {@code timeoutMillis}; returns its {@code revents} (0 on
     * timeout or EINTR). {@code pollfd} is an 8-byte scratch buffer the caller owns.
     */
    static int pollOne(Memory pollfd, int fd, short events, int timeoutMillis) throws IOException {
        pollfd.setInt(0, fd);
        pollfd.setShort(4, events);
        pollfd.setShort(6, (short) 0);
        if (C.poll(pollfd, 1, timeoutMillis) == -1) {
            if (Native.getLastError() == EINTR) {
                return 0;
            }
            throw failure("poll");
        }
        return pollfd.getShort(6);
    }

    /** Puts a terminal into raw mode (cfmakeraw): what QEMU's pty and tty chardevs do. */
    static void makeRaw(int fd, String what) throws IOException {
        byte[] termios = new byte[TERMIOS_BYTES];
        check(C.tcgetattr(fd, termios), "tcgetattr " + what);
        C.cfmakeraw(termios);
        check(C.tcsetattr(fd, TCSANOW, termios), "tcsetattr " + what);
    }
}
