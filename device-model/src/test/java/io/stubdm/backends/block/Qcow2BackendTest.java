package io.stubdm.backends.block;

import static io.stubdm.backends.block.BlockTesting.assertCheckClean;
import static io.stubdm.backends.block.BlockTesting.assertSameDisk;
import static io.stubdm.backends.block.BlockTesting.filled;
import static io.stubdm.backends.block.BlockTesting.ok;
import static io.stubdm.backends.block.BlockTesting.pattern;
import static io.stubdm.backends.block.BlockTesting.qemuIo;
import static io.stubdm.backends.block.BlockTesting.read;
import static io.stubdm.backends.block.BlockTesting.sha256;
import static io.stubdm.backends.block.BlockTesting.writeAt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.backends.block.BlockBackend.BlockError;
import io.stubdm.backends.block.DriveSpec.Cache;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** qcow2 images made and checked by QEMU's own tools (qemu-img, qemu-io), read and written by Qcow2Backend. */
class Qcow2BackendTest {
    private static final long MIB = 1 << 20;
    /** What qemu-io leaves on every seeded disk: data, a partly written cluster, a zero cluster. */
    private static final String[] SEED = {
        "write -P 0xab 0 64k", "write -P 0xcd 1M 4k", "write -P 0xee 2M 64k", "write -z 2M 64k"};

    @TempDir
    Path dir;
    private final ExecutorService loop = BlockTesting.deviceLoop();

    @BeforeEach
    void needsQemuTools() {
        BlockTesting.assumeQemuTools();
    }

    @AfterEach
    void stopLoop() {
        loop.shutdownNow();
    }

    /** A qcow2 image (compat 0.10 is version 2, 1.1 version 3) with a raw file holding the same disk. */
    private Path[] seeded(String name, String compat, String size) {
        Path image = dir.resolve(name + ".qcow2");
        ok(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=" + compat, image.toString(), size);
        Path raw = dir.resolve(name + ".raw");
        ok(dir, "qemu-img", "create", "-q", "-f", "raw", raw.toString(), size);
        qemuIo(image, "qcow2", SEED);
        qemuIo(raw, "raw", SEED);
        return new Path[] {image, raw};
    }

    /** Writes the same bytes through the backend and into the raw file. */
    private static void writeBoth(BlockBackend disk, Path raw, long offset, byte[] data) throws IOException {
        BlockTesting.write(disk, offset, data);
        writeAt(raw, offset, data);
        assertArrayEquals(data, read(disk, offset, data.length));
    }

    /** Writes of every kind: in place, into a partly written and a zero cluster, across clusters, at the end. */
    private static void exercise(BlockBackend disk, Path raw) throws IOException {
        writeBoth(disk, raw, 0x200, filled(512, 0x11));
        writeBoth(disk, raw, MIB + 8192, filled(4096, 0x22));
        writeBoth(disk, raw, 2 * MIB + 512, filled(1536, 0x33));
        writeBoth(disk, raw, 3 * MIB - 4096, pattern(128 * 1024, 5));
        writeBoth(disk, raw, disk.sizeBytes() - 512, filled(512, 0x44));
        if (disk.sizeBytes() > 600 * MIB) {
            // Beyond the first L2 table's 512 MiB: a new L2 table.
            writeBoth(disk, raw, 600 * MIB + 512, pattern(65536 + 512, 6));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.10", "1.1"})
    void readsWhatQemuWrote(String compat) throws IOException {
        Path[] disk = seeded("seeded", compat, "4M");
        try (Qcow2Backend q = Qcow2Backend.open(disk[0], true, Cache.WRITEBACK, loop)) {
            assertEquals(4 * MIB, q.sizeBytes());
            assertArrayEquals(Files.readAllBytes(disk[1]), read(q, 0, (int) (4 * MIB)));
            assertArrayEquals(filled(512, 0xcd), read(q, MIB + 3584, 512));
            assertTrue(q.describe().endsWith("seeded.qcow2 (qcow2)"), q.describe());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.10", "1.1"})
    void writesPassQemuImgCheckAndCompare(String compat) throws IOException {
        Path[] disk = seeded("written", compat, "1G");
        try (Qcow2Backend q = Qcow2Backend.open(disk[0], false, Cache.WRITEBACK, loop)) {
            exercise(q, disk[1]);
        }
        assertCheckClean(disk[0]);
        assertSameDisk(disk[0], disk[1]);
        try (Qcow2Backend q = Qcow2Backend.open(disk[0], true, Cache.WRITEBACK, loop)) {
            assertArrayEquals(pattern(128 * 1024, 5), read(q, 3 * MIB - 4096, 128 * 1024));
        }
    }

    /** A completed flush (or, write-through, a completed write) leaves the image consistent on disk. */
    @ParameterizedTest
    @EnumSource(value = Cache.class, names = {"WRITEBACK", "WRITETHROUGH"})
    void metadataIsOnDiskWhenTheFlushCompletes(Cache cache) throws IOException {
        Path[] disk = seeded("flushed", "1.1", "8M");
        try (Qcow2Backend q = Qcow2Backend.open(disk[0], false, cache, loop)) {
            exercise(q, disk[1]);
            if (cache == Cache.WRITEBACK) {
                BlockTesting.flush(q);
            }
            assertCheckClean(disk[0]);
            assertSameDisk(disk[0], disk[1]);
        }
    }

    @Test
    void backingChainReadsThroughAndCopiesOnWrite() throws IOException {
        Path base = dir.resolve("base.raw");
        Files.write(base, pattern((int) (4 * MIB), 1));
        // Relative names, as qemu-img records them when run in the images' directory.
        ok(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "mid.qcow2");
        qemuIo(dir.resolve("mid.qcow2"), "qcow2", "write -P 0x5e 1M 64k");
        ok(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2");
        Path expected = dir.resolve("expected.raw");
        Files.copy(base, expected);
        writeAt(expected, MIB, filled(65536, 0x5e));
        String baseHash = sha256(base);
        String midHash = sha256(dir.resolve("mid.qcow2"));

        Path top = dir.resolve("top.qcow2");
        try (Qcow2Backend q = Qcow2Backend.open(top, false, Cache.WRITEBACK, loop)) {
            assertTrue(q.describe().contains("backing file " + dir.resolve("mid.qcow2") + " (qcow2, backing file "
                    + dir.resolve("base.raw") + " (raw))"), q.describe());
            assertArrayEquals(Files.readAllBytes(expected), read(q, 0, (int) (4 * MIB)));
            writeBoth(q, expected, 4096, filled(512, 0x71));          // cluster only in base
            writeBoth(q, expected, MIB + 1024, filled(2048, 0x72));    // cluster in mid
            writeBoth(q, expected, 3 * MIB + 65536 - 512, pattern(1024, 9)); // across two clusters
        }
        assertCheckClean(top);
        assertSameDisk(top, expected);
        assertEquals(baseHash, sha256(base));
        assertEquals(midHash, sha256(dir.resolve("mid.qcow2")));
    }

    /**
     * An IDE DMA command becomes one request per PRD entry, all in flight together: 4 KiB writes, shuffled, over
     * fresh clusters of an overlay (each cluster's first writer copies the backing file, the rest write in place),
     * with reads of the same area racing them.
     */
    @Test
    void requestsInFlightTogether() throws Exception {
        Path base = dir.resolve("base.raw");
        Files.write(base, pattern((int) (4 * MIB), 2));
        ok(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "overlay.qcow2");
        Path expected = dir.resolve("expected.raw");
        Files.copy(base, expected);
        List<Integer> pieces = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            pieces.add(i);
        }
        Collections.shuffle(pieces, new Random(1));
        List<CompletableFuture<BlockError>> pending = new ArrayList<>();
        try (Qcow2Backend q = Qcow2Backend.open(dir.resolve("overlay.qcow2"), false, Cache.WRITEBACK, loop)) {
            for (int piece : pieces) {
                long offset = MIB + piece * 4096L;
                byte[] data = filled(4096, piece);
                writeAt(expected, offset, data);
                CompletableFuture<BlockError> written = new CompletableFuture<>();
                q.write(offset, ByteBuffer.wrap(data), written::complete);
                pending.add(written);
                CompletableFuture<BlockError> read = new CompletableFuture<>();
                q.read(offset ^ 0x8000, ByteBuffer.allocate(4096), read::complete);
                pending.add(read);
            }
            for (CompletableFuture<BlockError> request : pending) {
                assertNull(request.get(30, TimeUnit.SECONDS));
            }
            assertArrayEquals(Arrays.copyOfRange(Files.readAllBytes(expected), (int) MIB, (int) (2 * MIB)),
                    read(q, MIB, (int) MIB));
        }
        assertCheckClean(dir.resolve("overlay.qcow2"));
        assertSameDisk(dir.resolve("overlay.qcow2"), expected);
    }

    @Test
    void compressedClustersReadAndRewritten() throws IOException {
        Path source = dir.resolve("source.raw");
        byte[] content = pattern((int) (2 * MIB), 4);
        Arrays.fill(content, (int) MIB, (int) MIB + 65536, (byte) 0);
        Files.write(source, content);
        Path image = dir.resolve("compressed.qcow2");
        ok(dir, "qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", source.toString(), image.toString());
        try (Qcow2Backend q = Qcow2Backend.open(image, true, Cache.WRITEBACK, loop)) {
            assertArrayEquals(content, read(q, 0, content.length));
            // Sector-sized reads inside one compressed cluster, as a BIOS issues them.
            for (int sector = 0; sector < 8; sector++) {
                assertArrayEquals(Arrays.copyOfRange(content, 65536 + sector * 512, 65536 + sector * 512 + 512),
                        read(q, 65536 + sector * 512, 512));
            }
        }
        try (Qcow2Backend q = Qcow2Backend.open(image, false, Cache.WRITEBACK, loop)) {
            writeBoth(q, source, 65536 + 4096, filled(4096, 0x3c)); // partial: the rest comes from inflating
            writeBoth(q, source, 0, pattern(65536, 8));              // whole cluster
        }
        assertCheckClean(image);
        assertSameDisk(image, source);
    }

    @Test
    void snapshotsSurviveWrites() throws IOException {
        Path[] disk = seeded("snap", "1.1", "4M");
        ok(dir, "qemu-img", "snapshot", "-c", "before", disk[0].toString());
        Path before = dir.resolve("before.raw");
        Files.copy(disk[1], before);
        try (Qcow2Backend q = Qcow2Backend.open(disk[0], false, Cache.WRITEBACK, loop)) {
            exercise(q, disk[1]);
        }
        assertCheckClean(disk[0]);
        assertSameDisk(disk[0], disk[1]);
        ok(dir, "qemu-img", "snapshot", "-a", "before", disk[0].toString());
        assertCheckClean(disk[0]);
        assertSameDisk(disk[0], before);
    }

    /**
     * 512-byte clusters: one refcount block covers 128 KiB and the initial refcount table 8 MiB, so 20 MiB of writes
     * create many refcount blocks and move the table twice; a small cache forces write-backs along the way.
     */
    @Test
    void smallClustersGrowTheRefcountTable() throws IOException {
        Path image = dir.resolve("small.qcow2");
        ok(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", image.toString(), "64M");
        Path raw = dir.resolve("small.raw");
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(64 * MIB);
        }
        try (Qcow2Backend q = Qcow2Backend.open(image, false, Cache.WRITEBACK, loop, 16 * 1024, 0)) {
            for (long offset = MIB; offset < 21 * MIB; offset += 65536) {
                BlockTesting.write(q, offset, pattern(65536, (int) (offset >> 16)));
                writeAt(raw, offset, pattern(65536, (int) (offset >> 16)));
                if (offset == 11 * MIB) {
                    BlockTesting.flush(q);
                }
            }
            writeBoth(q, raw, 40 * MIB + 512, filled(1024, 0x99));
            writeBoth(q, raw, 64 * MIB - 512, filled(512, 0x98));
        }
        assertCheckClean(image);
        assertSameDisk(image, raw);
    }
}
