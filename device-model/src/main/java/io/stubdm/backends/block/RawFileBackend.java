package io.stubdm.backends.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executor;

/**
 * A raw image: a regular file (a disk image, an ISO) or a host block device (the stub domain's {@code /dev/xvdX},
 * {@code format=host_device}). Requests are positional reads and writes on one {@link FileChannel}, which the
 * I/O threads share safely.
 *
 * <p>Cache modes: {@code writeback} writes into the host page cache and a flush is an fdatasync;
 * {@code writethrough}, {@code none} and {@code directsync} fdatasync after every write (Java cannot open with
 * O_DIRECT, so {@code none} cannot bypass the page cache and is given the stronger guarantee instead);
 * {@code unsafe} ignores flushes.
 *
 * <p>A regular file whose length is not a multiple of 512 is presented rounded up, the missing tail reading as
 * zeros, as QEMU does.
 */
public final class RawFileBackend extends ThreadedBlockBackend {
    /** {@code S_IFMT} bits of {@code st_mode}. */
    private static final int FILE_TYPE_MASK = 0170000;
    private static final int BLOCK_DEVICE = 0060000;
    private static final int CHARACTER_DEVICE = 0020000;
    private static final byte[] QCOW2_MAGIC = {'Q', 'F', 'I', (byte) 0xfb};

    private final Path file;
    private final FileChannel channel;
    private final String description;
    private final boolean formatProbed;

    private RawFileBackend(Path file, FileChannel channel, long size, String description, boolean readOnly,
                           boolean formatProbed, DriveSpec.Cache cache, Executor completions) {
        super(file.getFileName().toString(), size, readOnly, cache, completions);
        this.file = file;
        this.channel = channel;
        this.description = description;
        this.formatProbed = formatProbed;
    }

    /**
     * Opens {@code file} as a raw image.
     *
     * @param completions where request completions run (the device loop)
     * @throws IOException naming the file and what is wrong with it
     */
    public static RawFileBackend open(Path file, boolean readOnly, DriveSpec.Cache cache, Executor completions)
            throws IOException {
        return open(file, null, readOnly, false, cache, completions);
    }

    /**
     * {@code description} replaces the default one (the file and its format) for an image that stands for another
     * file; {@code formatProbed} marks an image whose format nobody stated, see {@link #writeAt}.
     */
    static RawFileBackend open(Path file, String description, boolean readOnly, boolean formatProbed,
                               DriveSpec.Cache cache, Executor completions) throws IOException {
        FileChannel channel = openChannel(file, readOnly);
        try {
            // FileChannel.size() asks the kernel for a block device's size (BLKGETSIZE64); Files.size() says 0.
            long length = channel.size();
            long size = (length + 511) / 512 * 512;
            String label = description != null ? description
                    : file + (isDevice(file) ? " (host_device)" : " (raw)");
            return new RawFileBackend(file, channel, size, label, readOnly, formatProbed, cache, completions);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Whether {@code file} is a block or character device, which {@code format=host_device} requires. */
    static boolean isDevice(Path file) throws IOException {
        int type = (Integer) Files.getAttribute(file, "unix:mode") & FILE_TYPE_MASK;
        return type == BLOCK_DEVICE || type == CHARACTER_DEVICE;
    }

    /** Opens an image file, turning the JDK's terse exceptions into messages an operator can act on. */
    static FileChannel openChannel(Path file, boolean readOnly) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException(file + ": is a directory, not a disk image");
        }
        try {
            return readOnly ? FileChannel.open(file, StandardOpenOption.READ)
                    : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new IOException(file + ": permission denied opening it for " + (readOnly ? "reading"
                    : "reading and writing (a read-only image needs readonly=on or media=cdrom)"), e);
        } catch (FileSystemException e) {
            throw new IOException(file + ": cannot open: " + e.getReason(), e);
        }
    }

    @Override
    void readAt(long offset, ByteBuffer dst) throws IOException {
        // Zeros past the end: the rounded-up tail of a file whose length is not a whole number of sectors.
        FileIo.readFully(channel, dst, offset);
    }

    /**
     * Writes in place. When the format was probed, a write that would make sector 0 look like a qcow2 header is
     * refused: otherwise a guest could turn its raw disk into a qcow2 image naming any host file as its backing
     * file, read on the next start (QEMU restricts probed raw images the same way).
     */
    @Override
    void writeAt(long offset, ByteBuffer src) throws IOException {
        if (formatProbed && offset == 0 && src.remaining() >= QCOW2_MAGIC.length
                && src.get(src.position()) == QCOW2_MAGIC[0] && src.get(src.position() + 1) == QCOW2_MAGIC[1]
                && src.get(src.position() + 2) == QCOW2_MAGIC[2] && src.get(src.position() + 3) == QCOW2_MAGIC[3]) {
            throw new IOException(file + ": refused a write of a qcow2 header to sector 0 of an image whose "
                    + "format was probed as raw; give format=raw to allow it");
        }
        FileIo.writeFully(channel, src, offset);
    }

    @Override
    void flushToStableStorage() throws IOException {
        channel.force(false);
    }

    @Override
    void closeImage() throws IOException {
        channel.close();
    }

    @Override
    public String describe() {
        return description;
    }
}
