package io.stubdm.backends.block;

import static io.stubdm.backends.block.BlockTesting.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CompressedImageCacheTest {
    /** An image with data, a long run of zeros (left as a hole) and data again. */
    private static final byte[] IMAGE = image();

    @TempDir
    Path dir;

    /** IMAGE compressed in each format, made once: Java's bzip2 encoder is slow until the JIT has warmed up. */
    private static final Map<String, byte[]> COMPRESSED_IMAGE = new HashMap<>();

    private static byte[] image() {
        byte[] b = new byte[2 << 20];
        System.arraycopy(noise(64 << 10, 1), 0, b, 0, 64 << 10);
        System.arraycopy(noise(4096, 2), 0, b, b.length - 4096, 4096);
        return b;
    }

    /** Bytes bzip2 sorts quickly: its block sort slows down badly on short repeating patterns. */
    private static byte[] noise(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private Path compressed(String name, byte[] content) throws IOException {
        Path file = dir.resolve(name);
        if (content == IMAGE) {
            String extension = name.substring(name.lastIndexOf('.'));
            byte[] bytes = COMPRESSED_IMAGE.get(extension);
            if (bytes == null) {
                bytes = compress(extension, content);
                COMPRESSED_IMAGE.put(extension, bytes);
            }
            Files.write(file, bytes);
        } else {
            Files.write(file, compress(name, content));
        }
        return file;
    }

    private static byte[] compress(String name, byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = compressor(name, bytes)) {
            out.write(content);
        }
        return bytes.toByteArray();
    }

    private static OutputStream compressor(String name, OutputStream raw) throws IOException {
        if (name.endsWith(".bz2")) {
            return new BZip2CompressorOutputStream(raw, 1);
        }
        if (name.endsWith(".xz")) {
            return new XZCompressorOutputStream(raw);
        }
        return new GzipCompressorOutputStream(raw);
    }

    /** Records progress reports. */
    private static final class Reports implements CompressedImageCache.Progress {
        final List<long[]> calls = new ArrayList<>();

        @Override
        public void update(long done, long total) {
            calls.add(new long[] {done, total});
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"disk.img.bz2", "disk.img.xz", "disk.iso.gz"})
    void decompressesOnceAndReuses(String name) throws IOException {
        Path source = compressed(name, IMAGE);
        CompressedImageCache cache = new CompressedImageCache();
        Reports first = new Reports();
        Path copy = cache.decompressed(source, first);
        assertEquals(dir.resolve(name + ".stubdm-cache"), copy);
        assertArrayEquals(IMAGE, Files.readAllBytes(copy));
        assertFalse(first.calls.isEmpty());
        long[] last = first.calls.get(first.calls.size() - 1);
        assertEquals(Files.size(source), last[1]);
        assertEquals(last[1], last[0]);

        Reports second = new Reports();
        assertEquals(copy, cache.decompressed(source, second));
        assertTrue(second.calls.isEmpty(), "reused without decompressing");
    }

    @Test
    void changedSourceIsDecompressedAgain() throws IOException {
        Path source = compressed("disk.img.gz", IMAGE);
        CompressedImageCache cache = new CompressedImageCache();
        Path copy = cache.decompressed(source, (d, t) -> { });

        Files.setLastModifiedTime(source, FileTime.from(Instant.now().plusSeconds(60)));
        Reports touched = new Reports();
        cache.decompressed(source, touched);
        assertFalse(touched.calls.isEmpty(), "a touched source invalidates the copy");

        byte[] newer = Arrays.copyOf(IMAGE, IMAGE.length);
        newer[0] = 0x7f;
        compressed("disk.img.gz", newer);
        assertArrayEquals(newer, Files.readAllBytes(cache.decompressed(source, (d, t) -> { })));
        assertEquals(copy, cache.decompressed(source, (d, t) -> { }));
    }

    @Test
    void copyAGuestWroteIsNotThrownAwayWhenTheSourceChanges() throws IOException {
        Path source = compressed("disk.img.bz2", IMAGE);
        CompressedImageCache cache = new CompressedImageCache();
        Path copy = cache.decompressed(source, (d, t) -> { });
        BlockTesting.writeAt(copy, 0, new byte[] {1, 2, 3});
        Files.setLastModifiedTime(copy, FileTime.from(Instant.now().plusSeconds(30)));
        // While the source is unchanged the copy, with the guest's writes, is the disk.
        assertEquals(1, Files.readAllBytes(cache.decompressed(source, (d, t) -> { }))[0]);

        Files.setLastModifiedTime(source, FileTime.from(Instant.now().plusSeconds(60)));
        IOException e = assertThrows(IOException.class, () -> cache.decompressed(source, (d, t) -> { }));
        assertTrue(e.getMessage().contains("a guest has written to that copy"), e.getMessage());
        assertEquals(1, Files.readAllBytes(copy)[0]);
    }

    @Test
    void cacheDirectoryKeepsCopiesApart() throws IOException {
        Path a = Files.createDirectory(dir.resolve("a"));
        Path b = Files.createDirectory(dir.resolve("b"));
        Path cacheDir = dir.resolve("cache");
        byte[] other = noise(8192, 7);
        Path sourceA = compressed("a/disk.img.xz", IMAGE);
        Path sourceB = compressed("b/disk.img.xz", other);
        CompressedImageCache cache = new CompressedImageCache(cacheDir);
        Path copyA = cache.decompressed(sourceA, (d, t) -> { });
        Path copyB = cache.decompressed(sourceB, (d, t) -> { });
        assertEquals(cacheDir, copyA.getParent());
        assertTrue(!copyA.equals(copyB));
        assertArrayEquals(IMAGE, Files.readAllBytes(copyA));
        assertArrayEquals(other, Files.readAllBytes(copyB));
        try (var listing = Files.list(a)) {
            assertEquals(1, listing.count(), "nothing written beside the source");
        }
        assertTrue(Files.exists(b.resolve("disk.img.xz")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cut.img.bz2", "cut.img.xz", "cut.img.gz"})
    void truncatedArchiveFailsNamingTheFile(String name) throws IOException {
        Path source = compressed(name, IMAGE);
        byte[] whole = Files.readAllBytes(source);
        Files.write(source, Arrays.copyOf(whole, whole.length / 2));
        CompressedImageCache cache = new CompressedImageCache();
        IOException e = assertThrows(IOException.class, () -> cache.decompressed(source, (d, t) -> { }));
        assertTrue(e.getMessage().startsWith(source.toString()), e.getMessage());
        assertFalse(Files.exists(dir.resolve(name + ".stubdm-cache")), "no half copy left looking valid");
        assertFalse(Files.exists(dir.resolve(name + ".stubdm-cache.tmp")), "temporary file removed");
    }

    @Test
    void fileThatIsNotWhatItsNameSaysFailsClearly() throws IOException {
        Path source = dir.resolve("plain.img.bz2");
        Files.write(source, pattern(4096, 1));
        IOException e = assertThrows(IOException.class,
                () -> new CompressedImageCache().decompressed(source, (d, t) -> { }));
        assertTrue(e.getMessage().contains(source + ": not a valid bz2 file"), e.getMessage());
    }

    @Test
    void missingSourceIsNamed() {
        Path source = dir.resolve("gone.img.xz");
        IOException e = assertThrows(IOException.class,
                () -> new CompressedImageCache().decompressed(source, (d, t) -> { }));
        assertEquals(source + ": no such file", e.getMessage());
    }

    @Test
    void recognisesCompressedNames() {
        assertTrue(CompressedImageCache.isCompressed(Path.of("/i/OPNsense-24.7-vga-amd64.img.bz2")));
        assertTrue(CompressedImageCache.isCompressed(Path.of("FreeBSD-14.1-RELEASE-amd64.raw.xz")));
        assertTrue(CompressedImageCache.isCompressed(Path.of("disk.img.GZ")));
        assertFalse(CompressedImageCache.isCompressed(Path.of("disk.img")));
        assertFalse(CompressedImageCache.isCompressed(Path.of("disk.qcow2")));
    }
}
