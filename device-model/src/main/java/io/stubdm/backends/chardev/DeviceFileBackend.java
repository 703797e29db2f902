package io.stubdm.backends.chardev;

import java.io.IOException;

/**
 * A character device node read and written as it is, QEMU's {@code -serial /dev/...}: in a stub domain libxl
 * hands the guest's serial ports to the device model as the stub domain's own consoles ({@code /dev/hvc1},
 * {@code /dev/hvc3}), which xenconsoled connects on the other side. A terminal is put into raw mode, as QEMU's
 * tty chardev does.
 */
public final class DeviceFileBackend extends NativeFdBackend {
    private final int fd;
    private final String path;

    private DeviceFileBackend(int fd, String path) {
        super(fd, fd);
        this.fd = fd;
        this.path = path;
    }

    public static DeviceFileBackend open(String path) throws IOException {
        int fd = Libc.check(Libc.C.open(path, Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_NONBLOCK), "open " + path);
        try {
            if (Libc.C.isatty(fd) == 1) {
                Libc.makeRaw(fd, path);
            }
            return new DeviceFileBackend(fd, path);
        } catch (IOException | RuntimeException e) {
            Libc.C.close(fd);
            throw e;
        }
    }

    @Override
    public String describe() {
        return path;
    }

    @Override
    protected void closeDescriptors() throws IOException {
        Libc.check(Libc.C.close(fd), "close " + path);
    }
}
