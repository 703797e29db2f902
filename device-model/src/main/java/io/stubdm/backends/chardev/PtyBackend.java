package io.stubdm.backends.chardev;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A pseudo-terminal, QEMU's {@code -serial pty}: the device model holds the master, and a client (xl console,
 * screen, minicom) opens the slave, whose path {@link #describe()} reports as {@code pty:/dev/pts/N} for libxl.
 *
 * <p>The slave is in raw mode, so bytes pass unchanged both ways. While no client has the slave open, output is
 * discarded, exactly as QEMU's pty chardev does while disconnected (it keeps a stale backlog from flooding the
 * next client and keeps the guest from stalling on a console nobody watches). Those bytes have left the UART
 * and are counted in {@link #discardedBytes()}; the device model itself loses nothing. Once a client is
 * connected, a client that stops reading holds the guest's transmitter instead.
 */
public final class PtyBackend extends NativeFdBackend {
    private final int master;
    private final String slavePath;

    private PtyBackend(int master, String slavePath) {
        super(master, master);
        this.master = master;
        this.slavePath = slavePath;
    }

    /** Allocates a pty (posix_openpt, grantpt, unlockpt, ptsname) with its slave in raw mode. */
    public static PtyBackend open() throws IOException {
        int master = Libc.check(Libc.C.posix_openpt(Libc.O_RDWR | Libc.O_NOCTTY), "posix_openpt");
        try {
            Libc.check(Libc.C.grantpt(master), "grantpt");
            Libc.check(Libc.C.unlockpt(master), "unlockpt");
            byte[] name = new byte[128];
            int err = Libc.C.ptsname_r(master, name, name.length);
            if (err != 0) {
                throw new IOException("ptsname_r: " + Libc.C.strerror(err));
            }
            int len = 0;
            while (name[len] != 0) {
                len++;
            }
            String slavePath = new String(name, 0, len, StandardCharsets.US_ASCII);
            // Like QEMU's qemu_openpty_raw: set raw mode on the slave, then close it, so that the master reports
            // a hang-up until a client opens the slave (the termios settings stay with the pty).
            int slave = Libc.check(Libc.C.open(slavePath, Libc.O_RDWR | Libc.O_NOCTTY), "open " + slavePath);
            try {
                Libc.makeRaw(slave, slavePath);
            } finally {
                Libc.C.close(slave);
            }
            int flags = Libc.check(Libc.C.fcntl(master, Libc.F_GETFL, 0), "fcntl");
            Libc.check(Libc.C.fcntl(master, Libc.F_SETFL, flags | Libc.O_NONBLOCK), "fcntl");
            return new PtyBackend(master, slavePath);
        } catch (IOException | RuntimeException e) {
            Libc.C.close(master);
            throw e;
        }
    }

    /** The slave's path, {@code /dev/pts/N}. */
    public String slavePath() {
        return slavePath;
    }

    @Override
    public String describe() {
        return "pty:" + slavePath;
    }

    @Override
    protected void closeDescriptors() throws IOException {
        Libc.check(Libc.C.close(master), "close " + slavePath + " master");
    }
}
