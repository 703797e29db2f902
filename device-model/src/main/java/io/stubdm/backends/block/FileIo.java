package io.stubdm.backends.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Positional I/O that finishes the job: FileChannel may transfer fewer bytes than asked. */
final class FileIo {
    private static final byte[] ZEROS = new byte[4096];

    private FileIo() {
    }

    /** Fills {@code dst} from {@code position}; bytes past the end of the file read as zeros, as in QEMU. */
    static void readFully(FileChannel channel, ByteBuffer dst, long position) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) {
                fillZero(dst);
                return;
            }
            at += n;
        }
    }

    static void writeFully(FileChannel channel, ByteBuffer src, long position) throws IOException {
        long at = position;
        while (src.hasRemaining()) {
            at += channel.write(src, at);
        }
    }

    static void fillZero(ByteBuffer dst) {
        while (dst.hasRemaining()) {
            dst.put(ZEROS, 0, Math.min(ZEROS.length, dst.remaining()));
        }
    }
}
