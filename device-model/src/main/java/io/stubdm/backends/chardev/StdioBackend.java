package io.stubdm.backends.chardev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The device model's own stdin and stdout, QEMU's {@code -serial stdio}. A terminal on stdin gets QEMU's
 * settings for the session: no echo, no line editing, bytes passed as typed, but output processing and signal
 * keys (Ctrl-C) kept; the previous settings come back on {@link #close()}.
 */
public final class StdioBackend extends NativeFdBackend {
    private static final int STDIN = 0;
    private static final int STDOUT = 1;

    private final byte[] savedTermios;

    private StdioBackend(byte[] savedTermios) {
        super(STDIN, STDOUT);
        this.savedTermios = savedTermios;
    }

    public static StdioBackend open() throws IOException {
        if (Libc.C.isatty(STDIN) != 1) {
            return new StdioBackend(null);
        }
        byte[] saved = new byte[Libc.TERMIOS_BYTES];
        Libc.check(Libc.C.tcgetattr(STDIN, saved), "tcgetattr stdin");
        byte[] raw = saved.clone();
        Libc.C.cfmakeraw(raw);
        // QEMU's stdio chardev (signal=on): raw input, but keep OPOST and ISIG.
        ByteBuffer t = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        t.putInt(Libc.TERMIOS_OFLAG, t.getInt(Libc.TERMIOS_OFLAG) | Libc.OPOST);
        t.putInt(Libc.TERMIOS_LFLAG, t.getInt(Libc.TERMIOS_LFLAG) | Libc.ISIG);
        Libc.check(Libc.C.tcsetattr(STDIN, Libc.TCSANOW, raw), "tcsetattr stdin");
        return new StdioBackend(saved);
    }

    @Override
    public String describe() {
        return "stdio";
    }

    /** Leaves stdin and stdout open (they are the process's), restoring the terminal settings. */
    @Override
    protected void closeDescriptors() throws IOException {
        if (savedTermios != null) {
            Libc.check(Libc.C.tcsetattr(STDIN, Libc.TCSANOW, savedTermios), "tcsetattr stdin");
        }
    }
}
