package io.stubdm.backends.chardev;

import java.io.IOException;
import java.nio.file.Path;

/**
 * QEMU's {@code pipe:PATH} chardev: when both {@code PATH.in} and {@code PATH.out} can be opened, input is read
 * from the first and output written to the second; otherwise {@code PATH} itself carries both ways. libxl uses
 * the single form for a stub domain's restore console ({@code pipe:/var/lib/xen/qemu-resume.<domid>}, a FIFO it
 * made with mkfifo and writes the saved device state into).
 *
 * <p>Every path is opened read-write and non-blocking, so that opening a FIFO does not wait for its other end
 * (QEMU opens {@code PATH.out} write-only, which blocks until a reader comes; here the device model keeps a reader
 * itself, and output waits in the FIFO until the real reader opens it).
 */
public final class PipeBackend extends NativeFdBackend {
    private static final int FLAGS = Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_NONBLOCK;

    private final int inputFd;
    private final int outputFd;
    private final Path path;

    private PipeBackend(int inputFd, int outputFd, Path path) {
        super(inputFd, outputFd);
        this.inputFd = inputFd;
        this.outputFd = outputFd;
        this.path = path;
    }

    public static PipeBackend open(Path path) throws IOException {
        String in = path + ".in";
        String out = path + ".out";
        int inputFd = Libc.C.open(in, FLAGS);
        int outputFd = inputFd < 0 ? -1 : Libc.C.open(out, FLAGS);
        if (inputFd >= 0 && outputFd >= 0) {
            return new PipeBackend(inputFd, outputFd, path);
        }
        if (inputFd >= 0) {
            Libc.C.close(inputFd);
        }
        int fd = Libc.check(Libc.C.open(path.toString(), FLAGS), "open " + path);
        return new PipeBackend(fd, fd, path);
    }

    @Override
    public String describe() {
        return "pipe:" + path;
    }

    @Override
    protected void closeDescriptors() throws IOException {
        Libc.check(Libc.C.close(inputFd), "close " + path);
        if (outputFd != inputFd) {
            Libc.check(Libc.C.close(outputFd), "close " + path + ".out");
        }
    }
}
