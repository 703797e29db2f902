package io.stubdm.backends.chardev;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/** The host end of a test: blocking reads of a pty slave or a socket, bounded in time. */
final class HostIo {
    static final long WAIT_MILLIS = 5000;

    private HostIo() {
    }

    @FunctionalInterface
    interface Reader {
        int read(byte[] buf, int off, int len) throws IOException;
    }

    static byte[] readExactly(RandomAccessFile file, int n) throws Exception {
        return readExactly(file::read, n);
    }

    static byte[] readExactly(SocketChannel channel, int n) throws Exception {
        return readExactly((buf, off, len) -> channel.read(ByteBuffer.wrap(buf, off, len)), n);
    }

    private static byte[] readExactly(Reader reader, int n) throws Exception {
        CompletableFuture<byte[]> result = CompletableFuture.supplyAsync(() -> {
            byte[] buf = new byte[n];
            int got = 0;
            try {
                while (got < n) {
                    int r = reader.read(buf, got, n - got);
                    if (r < 0) {
                        throw new IOException("end of stream after " + got + " of " + n + " bytes");
                    }
                    got += r;
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
            return buf;
        });
        try {
            return result.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the host read " + n + " bytes for " + WAIT_MILLIS + " ms and gave up");
        } catch (ExecutionException e) {
            throw new AssertionError("host read failed", e.getCause());
        }
    }

    /** Waits (bounded) for a condition that real I/O on other threads brings about. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("gave up waiting for " + what);
            }
            Thread.sleep(5);
        }
    }
}
