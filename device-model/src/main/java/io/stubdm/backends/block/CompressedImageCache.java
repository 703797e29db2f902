package io.stubdm.backends.block;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.io.Reader;
import java.io.Writer;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import org.apache.commons.compress.compressors.CompressorInputStream;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.apache.commons.compress.utils.InputStreamStatistics;

/**
 * Decompressed copies of compressed disk images ({@code .bz2} as OPNsense ships its {@code .img} and {@code .iso},
 * {@code .xz} as FreeBSD does, {@code .gz}), made once and reused while the compressed file is unchanged.
 *
 * <p>The copy of {@code NAME.bz2} is {@code NAME.bz2.stubdm-cache} beside it, or in the cache directory given
 * (prefixed there with a hash of the source's path, so equal names from different directories do not meet).
 * A sidecar {@code .stubdm-cache.meta} records the source's path, size and modification time; the copy is reused
 * only while all three match. Decompression writes to a temporary name and renames the result into place, and the
 * sidecar is renamed in last, so a crash at any moment leaves either no valid cache or a complete one. A lock file
 * keeps two stubdm processes from decompressing the same image at once.
 *
 * <p>A guest that writes to a compressed image's drive writes to the copy, which then holds its changes. If the
 * source changes afterwards, the changed copy is not thrown away: the open fails and says so.
 */
public final class CompressedImageCache {
    private static final System.Logger LOG = System.getLogger(CompressedImageCache.class.getName());
    private static final String CACHE_SUFFIX = ".stubdm-cache";
    private static final int CHUNK = 1 << 20;
    private static final byte[] ZERO_CHUNK = new byte[CHUNK];

    private final Path cacheDirectory;

    /** Reports decompression progress; called on the thread that opens the drive. */
    @FunctionalInterface
    public interface Progress {
        void update(long compressedBytesDone, long compressedBytesTotal);
    }

    /** Keeps each copy beside its compressed image. */
    public CompressedImageCache() {
        this.cacheDirectory = null;
    }

    /** Keeps the copies in {@code cacheDirectory}, for images that live in a directory stubdm may not write. */
    public CompressedImageCache(Path cacheDirectory) {
        this.cacheDirectory = cacheDirectory;
    }

    /** Whether the file's name marks it as compressed. */
    public static boolean isCompressed(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".bz2") || name.endsWith(".xz") || name.endsWith(".gz");
    }

    /**
     * The decompressed copy of {@code source}, made now if there is no valid one.
     *
     * @throws IOException naming the file when it is missing, not in the format its name says, truncated or
     *                     corrupt, or when the copy cannot be written
     */
    public Path decompressed(Path source, Progress progress) throws IOException {
        Path absolute = source.toAbsolutePath().normalize();
        SourceKey key = SourceKey.of(absolute);
        Path cache = cachePath(absolute);
        Path sidecar = sibling(cache, ".meta");
        Path lockPath = sibling(cache, ".lock");
        FileChannel lockFile;
        try {
            Files.createDirectories(cache.getParent());
            lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (FileSystemException e) {
            throw new IOException(absolute + ": cannot keep its decompressed copy in " + cache.getParent() + ": "
                    + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName())
                    + "; give stubdm a cache directory it may write", e);
        }
        try (lockFile) {
            // Released with the channel; another stubdm decompressing the same image waits here.
            lockFile.lock();
            Properties recorded = readSidecar(sidecar);
            if (recorded != null && Files.exists(cache)) {
                boolean sourceUnchanged = key.matches(recorded);
                if (sourceUnchanged && Files.size(cache) == Long.parseLong(recorded.getProperty("cache-size"))) {
                    LOG.log(Level.DEBUG, "{0}: reusing {1}", absolute, cache);
                    return cache;
                }
                boolean copyWritten = !Files.getLastModifiedTime(cache).toString()
                        .equals(recorded.getProperty("cache-mtime"));
                if (!sourceUnchanged && copyWritten) {
                    throw new IOException(absolute + " has changed since it was decompressed into " + cache
                            + ", and a guest has written to that copy since; move the copy away (or delete it) to "
                            + "decompress the new image");
                }
            }
            decompress(absolute, key, cache, sidecar, progress);
            return cache;
        }
    }

    private Path cachePath(Path source) {
        String name = source.getFileName() + CACHE_SUFFIX;
        if (cacheDirectory == null) {
            return source.resolveSibling(name);
        }
        return cacheDirectory.resolve(String.format("%08x-%s", source.toString().hashCode(), name));
    }

    private static Path sibling(Path file, String suffix) {
        return file.resolveSibling(file.getFileName() + suffix);
    }

    private static void decompress(Path source, SourceKey key, Path cache, Path sidecar, Progress progress)
            throws IOException {
        Path temporary = sibling(cache, ".tmp");
        LOG.log(Level.INFO, "decompressing {0} ({1} bytes) into {2}", source, key.size, cache);
        long started = System.nanoTime();
        long written;
        try {
            written = decompressInto(source, key.size, temporary, progress);
            Properties record = key.toProperties();
            record.setProperty("cache-size", Long.toString(written));
            record.setProperty("cache-mtime", Files.getLastModifiedTime(temporary).toString());
            Path temporarySidecar = sibling(sidecar, ".tmp");
            try (Writer out = Files.newBufferedWriter(temporarySidecar, StandardCharsets.UTF_8)) {
                record.store(out, "stubdm: what " + cache.getFileName() + " was decompressed from");
            }
            try (FileChannel c = FileChannel.open(temporarySidecar, StandardOpenOption.WRITE)) {
                c.force(true);
            }
            // The sidecar goes last: while it is missing or names another source, the cache is not trusted.
            Files.deleteIfExists(sidecar);
            move(temporary, cache);
            move(temporarySidecar, sidecar);
            syncDirectory(cache.getParent());
        } catch (IOException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        LOG.log(Level.INFO, "decompressed {0}: {1} bytes in {2} ms", source, written,
                (System.nanoTime() - started) / 1_000_000);
    }

    /** Decompresses into {@code target}, leaving runs of zeros as holes; returns the decompressed size. */
    private static long decompressInto(Path source, long compressedSize, Path target, Progress progress)
            throws IOException {
        long written = 0;
        try (InputStream file = new BufferedInputStream(Files.newInputStream(source), CHUNK);
             CompressorInputStream in = open(source, file);
             RandomAccessFile out = new RandomAccessFile(target.toFile(), "rw")) {
            out.setLength(0);
            FileChannel channel = out.getChannel();
            // The bzip2, xz and gzip streams all count the compressed bytes they have consumed.
            InputStreamStatistics statistics = (InputStreamStatistics) in;
            byte[] chunk = new byte[CHUNK];
            int lastDecile = 0;
            while (true) {
                int n = in.readNBytes(chunk, 0, CHUNK);
                if (n == 0) {
                    break;
                }
                if (Arrays.mismatch(chunk, 0, n, ZERO_CHUNK, 0, n) >= 0) {
                    FileIo.writeFully(channel, ByteBuffer.wrap(chunk, 0, n), written);
                }
                written += n;
                long done = statistics.getCompressedCount();
                progress.update(done, compressedSize);
                int decile = compressedSize == 0 ? 10 : (int) (done * 10 / compressedSize);
                if (decile > lastDecile) {
                    lastDecile = decile;
                    LOG.log(Level.INFO, "decompressing {0}: {1}%", source, decile * 10);
                }
            }
            // The decompressor need not read the container's last bytes (padding, trailers): the file is done.
            progress.update(compressedSize, compressedSize);
            // Sets the size a trailing run of zeros left unwritten.
            out.setLength(written);
            channel.force(false);
        } catch (EOFException e) {
            throw new IOException(source + ": ends early: the compressed file is truncated", e);
        } catch (NoSuchFileException e) {
            throw new IOException(source + ": no such file", e);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(source.toString())) {
                throw e;
            }
            throw new IOException(source + ": cannot decompress: " + e.getMessage(), e);
        }
        return written;
    }

    private static CompressorInputStream open(Path source, InputStream file) throws IOException {
        String name = source.getFileName().toString().toLowerCase(Locale.ROOT);
        try {
            // Concatenated streams are legal in all three formats (pbzip2 and pigz write them).
            if (name.endsWith(".bz2")) {
                return new BZip2CompressorInputStream(file, true);
            }
            if (name.endsWith(".xz")) {
                return XZCompressorInputStream.builder().setInputStream(file).setDecompressConcatenated(true).get();
            }
            return GzipCompressorInputStream.builder().setInputStream(file).setDecompressConcatenated(true).get();
        } catch (IOException e) {
            throw new IOException(source + ": not a valid " + name.substring(name.lastIndexOf('.') + 1)
                    + " file: " + e.getMessage(), e);
        }
    }

    private static Properties readSidecar(Path sidecar) throws IOException {
        if (!Files.exists(sidecar)) {
            return null;
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(sidecar, StandardCharsets.UTF_8)) {
            p.load(in);
        }
        // A sidecar without these is not one this class wrote completely: decompress again.
        for (String required : new String[] {"source", "source-size", "source-mtime", "cache-size", "cache-mtime"}) {
            if (p.getProperty(required) == null) {
                return null;
            }
        }
        try {
            Long.parseLong(p.getProperty("cache-size"));
        } catch (NumberFormatException e) {
            return null;
        }
        return p;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + from + " to " + to + " atomically", e);
        }
    }

    /** Makes the renames durable: on Linux a directory is synced through a read-only descriptor. */
    private static void syncDirectory(Path directory) throws IOException {
        try (FileChannel c = FileChannel.open(directory, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    /** What identifies the compressed file a copy was made from. */
    private record SourceKey(String path, long size, String mtime) {
        static SourceKey of(Path source) throws IOException {
            try {
                return new SourceKey(source.toString(), Files.size(source),
                        Files.getLastModifiedTime(source).toString());
            } catch (NoSuchFileException e) {
                throw new IOException(source + ": no such file", e);
            }
        }

        boolean matches(Properties p) {
            return path.equals(p.getProperty("source")) && Long.toString(size).equals(p.getProperty("source-size"))
                    && mtime.equals(p.getProperty("source-mtime"));
        }

        Properties toProperties() {
            Properties p = new Properties();
            p.setProperty("source", path);
            p.setProperty("source-size", Long.toString(size));
            p.setProperty("source-mtime", mtime);
            return p;
        }
    }
}
