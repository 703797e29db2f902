package io.stubdm.backends.chardev;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Output appended to a file, QEMU's {@code -serial file:/path}; the guest receives nothing. Unlike QEMU, whose
 * file chardev truncates unless given {@code append=on}, this always appends: a serial log that survives a
 * restart of the device model is worth more than a fresh one.
 */
public final class FileBackend extends ThreadedBackend {
    private final Path path;
    private final FileChannel channel;

    private FileBackend(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    public static FileBackend open(Path path) throws IOException {
        return new FileBackend(path, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND));
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
