package io.stubdm.backends.chardev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Output to a file, QEMU's {@code -serial file:/path}; the guest receives nothing. Unlike QEMU, whose file chardev
 * truncates unless given {@code append=on}, a serial port's file is appended to: a serial log that survives a
 * restart of the device model is worth more than a fresh one. A PV console's output is opened as QEMU opens it,
 * truncated: libxl reads the stub domain's save file ({@code qemu-save.<domid>}) back whole, so what a previous
 * save left there must go.
 */
public final class FileBackend extends ThreadedBackend {
    private final Path path;
    private final FileChannel channel;

    private FileBackend(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** Opens {@code path} for appending, creating it if needed. */
    public static FileBackend open(Path path) throws IOException {
        return open(path, true);
    }

    /** Opens {@code path}, creating it if needed, appending to what it holds or truncating it first. */
    public static FileBackend open(Path path, boolean append) throws IOException {
        return new FileBackend(path, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING));
    }

    @Override
    protected void startIo() {
        startWriter(() -> {
            byte[] chunk = new byte[OUTPUT_BUFFER_BYTES];
            int n;
            while ((n = takeOutput(chunk)) >= 0) {
                ByteBuffer b = ByteBuffer.wrap(chunk, 0, n);
                while (b.hasRemaining()) {
                    channel.write(b);
                }
            }
        });
    }

    @Override
    public String describe() {
        return "file:" + path;
    }

    @Override
    protected void closeHost() throws IOException {
        channel.close();
    }
}
