package io.stubdm.backends.block;

import static io.stubdm.backends.block.BlockTesting.await;
import static io.stubdm.backends.block.BlockTesting.createQcow2;
import static io.stubdm.backends.block.BlockTesting.filled;
import static io.stubdm.backends.block.BlockTesting.patchInt;
import static io.stubdm.backends.block.BlockTesting.patchLong;
import static io.stubdm.backends.block.BlockTesting.pattern;
import static io.stubdm.backends.block.BlockTesting.read;
import static io.stubdm.backends.block.BlockTesting.readLong;
import static io.stubdm.backends.block.BlockTesting.sha256;
import static io.stubdm.backends.block.BlockTesting.writeAt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.backends.block.BlockBackend.BlockError;
import io.stubdm.backends.block.BlockBackend.BlockError.Kind;
import io.stubdm.backends.block.DriveSpec.Cache;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** qcow2 images built and damaged byte by byte: what must be refused, and how, without needing qemu-img. */
class Qcow2CraftedImageTest {
    private static final long MIB = 1 << 20;
    private static final long COPIED = 1L << 63;
    private static final long CLUSTER = 65536;
    /** Where createQcow2 puts the L1 table and the refcount table. */
    private static final long L1_OFFSET = 3 * CLUSTER;
    private static final long REFCOUNT_TABLE_OFFSET = CLUSTER;

    @TempDir
    Path dir;
    private final ExecutorService loop = BlockTesting.deviceLoop();

    @AfterEach
    void stopLoop() {
        loop.shutdownNow();
    }

    private Path image(String name) throws IOException {
        Path file = dir.resolve(name);
        createQcow2(file, 4 * MIB, 16, 3);
        return file;
    }

    @Test
    void roundTripThroughAnImageBuiltHere() throws IOException {
        Path file = image("built.qcow2");
        try (Qcow2Backend q = Qcow2Backend.open(file, false, Cache.WRITEBACK, loop)) {
            assertArrayEquals(new byte[8192], read(q, 0, 8192));
            BlockTesting.write(q, 512, filled(1024, 0x61));
            BlockTesting.write(q, 3 * MIB + 65536 - 512, pattern(4096, 2));
        }
        try (Qcow2Backend q = Qcow2Backend.open(file, true, Cache.WRITEBACK, loop)) {
            assertArrayEquals(filled(1024, 0x61), read(q, 512, 1024));
            assertArrayEquals(new byte[512], read(q, 0, 512));
            assertArrayEquals(pattern(4096, 2), read(q, 3 * MIB + 65536 - 512, 4096));
        }
    }

    /** Each damaged header is refused with the field named, read-only or not, and the file is left as it was. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "magic|0|int|0x514649fc|magic 0x514649fc",
        "version|4|int|4|version 4",
        "cluster_bits|20|int|30|cluster_bits 30",
        "crypt_method|32|int|1|crypt_method 1 (AES",
        "l1_size|36|int|0|l1_size 0 entries",
        "l1_table_offset beyond EOF|40|long|0x10000000000|l1_table_offset 0x10000000000",
        "l1_table_offset misaligned|40|long|0x30200|l1_table_offset 0x30200 is not a cluster-aligned",
        "refcount_table_offset|48|long|0x1000|refcount_table_offset 0x1000",
        "refcount_table_clusters|56|int|0|refcount_table_clusters 0",
        "unknown incompatible bit|72|long|0x400|incompatible_features 0x400: unknown feature (bit 10)",
        "external data file|72|long|0x4|'external data file' (bit 2)",
        "extended L2|72|long|0x10|'extended L2 entries' (bit 4)",
        "refcount_order|96|int|7|refcount_order 7",
        "header_length|100|int|100|header_length 100",
    })
    void damagedHeaderIsRefusedByField(String what, long offset, String type, String value, String named)
            throws IOException {
        Path file = image("damaged.qcow2");
        long v = Long.decode(value);
        if (type.equals("int")) {
            patchInt(file, offset, (int) v);
        } else {
            patchLong(file, offset, v);
        }
        String before = sha256(file);
        for (boolean readOnly : new boolean[] {false, true}) {
            IOException e = assertThrows(IOException.class,
                    () -> Qcow2Backend.open(file, readOnly, Cache.WRITEBACK, loop));
            assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(named), e.getMessage());
        }
        assertEquals(before, sha256(file));
    }

    @Test
    void truncatedHeaderIsRefused() throws IOException {
        Path file = dir.resolve("short.qcow2");
        Files.write(file, new byte[] {'Q', 'F', 'I', (byte) 0xfb, 0, 0, 0, 3});
        IOException e = assertThrows(IOException.class, () -> Qcow2Backend.open(file, true, Cache.WRITEBACK, loop));
        assertTrue(e.getMessage().contains("too short"), e.getMessage());
    }

    @Test
    void unknownIncompatibleFeatureIsNamedFromTheImagesTable() throws IOException {
        Path file = image("future.qcow2");
        ByteBuffer extension = ByteBuffer.allocate(8 + 48 + 8);
        extension.putInt(0x6803f857).putInt(48).put((byte) 0).put((byte) 10)
                .put("time travel".getBytes(StandardCharsets.US_ASCII));
        writeAt(file, 104, extension.array());
        patchLong(file, 72, 1L << 10);
        IOException e = assertThrows(IOException.class, () -> Qcow2Backend.open(file, true, Cache.WRITEBACK, loop));
        assertTrue(e.getMessage().contains("'time travel' (bit 10)"), e.getMessage());
    }

    @Test
    void dirtyOrCorruptImagesOpenReadOnlyOnly() throws IOException {
        for (long bit : new long[] {1, 2}) {
            Path file = image("flagged-" + bit + ".qcow2");
            patchLong(file, 72, bit);
            String before = sha256(file);
            IOException e = assertThrows(IOException.class,
                    () -> Qcow2Backend.open(file, false, Cache.WRITEBACK, loop));
            assertTrue(e.getMessage().contains(bit == 1 ? "'dirty' (bit 0)" : "'corrupt' (bit 1)"), e.getMessage());
            Qcow2Backend.open(file, true, Cache.WRITEBACK, loop).close();
            assertEquals(before, sha256(file));
        }
    }

    @Test
    void autoclearBitsAreClearedWhenOpenedForWriting() throws IOException {
        Path file = image("bitmaps.qcow2");
        patchLong(file, 88, 1);
        Qcow2Backend.open(file, true, Cache.WRITEBACK, loop).close();
        assertEquals(1, readLong(file, 88));
        Qcow2Backend.open(file, false, Cache.WRITEBACK, loop).close();
        assertEquals(0, readLong(file, 88));
    }

    /** A backing file named without a format (older images) is probed; its name is relative to the image. */
    @Test
    void backingFileWithoutFormatIsProbed() throws IOException {
        Path base = dir.resolve("base.img");
        Files.write(base, pattern((int) (4 * MIB), 3));
        Path file = image("overlay.qcow2");
        byte[] name = "base.img".getBytes(StandardCharsets.US_ASCII);
        writeAt(file, 1024, name);
        patchLong(file, 8, 1024);
        patchInt(file, 16, name.length);
        try (Qcow2Backend q = Qcow2Backend.open(file, true, Cache.WRITEBACK, loop)) {
            assertArrayEquals(pattern((int) (4 * MIB), 3), read(q, 0, (int) (4 * MIB)));
        }
        Files.delete(base);
        String before = sha256(file);
        IOException e = assertThrows(IOException.class, () -> Qcow2Backend.open(file, false, Cache.WRITEBACK, loop));
        assertTrue(e.getMessage().contains(file + ": backing file: " + base + ": no such file"), e.getMessage());
        assertEquals(before, sha256(file));
    }

    // --- damage met while serving requests: that request fails, the rest of the disk works, nothing is written ---

    /** An image with guest cluster 0 allocated by us; returns the offset of its L2 table. */
    private long imageWithFirstCluster(Path file) throws IOException {
        createQcow2(file, 4 * MIB, 16, 3);
        try (Qcow2Backend q = Qcow2Backend.open(file, false, Cache.WRITEBACK, loop)) {
            BlockTesting.write(q, 0, filled((int) CLUSTER, 0x42));
        }
        return readLong(file, L1_OFFSET) & 0x00ff_ffff_ffff_fe00L;
    }

    private static BlockError failedRead(BlockBackend q, long offset) {
        return await(done -> q.read(offset, ByteBuffer.allocate(512), done));
    }

    private static BlockError failedWrite(BlockBackend q, long offset) {
        return await(done -> q.write(offset, ByteBuffer.wrap(filled(512, 0x66)), done));
    }

    private static void assertIoError(BlockError error, String named) {
        assertEquals(Kind.IO_ERROR, error.kind(), String.valueOf(error));
        assertTrue(error.message().contains("corrupt qcow2"), error.message());
        assertTrue(error.message().contains(named), error.message());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "L2 table beyond EOF|0x8000010000000000|beyond the end of the file",
        "L2 table misaligned|0x8000000000010200|not cluster-aligned",
        "reserved bits|0x8000000000040001|reserved bits",
    })
    void damagedL1EntryFailsItsRequestsOnly(String what, String entry, String named) throws IOException {
        Path file = dir.resolve("l1.qcow2");
        createQcow2(file, 4 * MIB, 16, 3);
        patchLong(file, L1_OFFSET, Long.parseUnsignedLong(entry.substring(2), 16));
        String before = sha256(file);
        try (Qcow2Backend q = Qcow2Backend.open(file, false, Cache.WRITEBACK, loop)) {
            assertIoError(failedRead(q, 4096), named);
            assertIoError(failedWrite(q, 4096), named);
            assertTrue(q.stats().errors.get() >= 2);
        }
        assertEquals(before, sha256(file));
    }

    @Test
    void dataClusterBeyondEndOfFile() throws IOException {
        Path file = dir.resolve("data.qcow2");
        long l2 = imageWithFirstCluster(file);
        patchLong(file, l2, COPIED | (1L << 40));
        try (Qcow2Backend q = Qcow2Backend.open(file, true, Cache.WRITEBACK, loop)) {
            assertIoError(failedRead(q, 0), "beyond the end of the file");
            assertArrayEquals(new byte[512], read(q, CLUSTER, 512));
        }
    }

    @Test
    void inPlaceWriteNeverLandsOnMetadata() throws IOException {
        Path file = dir.resolve("overlap.qcow2");
        long l2 = imageWithFirstCluster(file);
        patchLong(file, l2, COPIED | L1_OFFSET);
        byte[] l1Before = l1Table(file);
        try (Qcow2Backend q = Qcow2Backend.open(file, false, Cache.WRITEBACK, loop)) {
            assertIoError(failedWrite(q, 0), "holds the image's own metadata");
            BlockTesting.write(q, 2 * MIB, filled(512, 1)); // elsewhere the image still works
        }
        assertArrayEquals(l1Before, l1Table(file));
    }

    private static byte[] l1Table(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        return Arrays.copyOfRange(all, (int) L1_OFFSET, (int) (L1_OFFSET + CLUSTER));
    }

    @Test
    void sharedClusterMarkedAsOwnIsNotWrittenInPlace() throws IOException {
        Path file = dir.resolve("shared.qcow2");
        long l2 = imageWithFirstCluster(file);
        long data = readLong(file, l2) & 0x00ff_ffff_ffff_fe00L;
        long block = readLong(file, REFCOUNT_TABLE_OFFSET);
        writeAt(file, block + 2 * (data / CLUSTER), new byte[] {0, 2});
        String before = sha256(file);
        try (Qcow2Backend q = Qcow2Backend.open(file, false, Cache.WRITEBACK, loop)) {
            assertIoError(failedWrite(q, 0), "refcount is 2");
            assertArrayEquals(filled(512, 0x42), read(q, 0, 512));
        }
        assertEquals(before, sha256(file));
    }

    @Test
    void damagedRefcountTableFailsAllocatingWrites() throws IOException {
        Path file = image("refcounts.qcow2");
        patchLong(file, REFCOUNT_TABLE_OFFSET, 1L << 40);
        String before = sha256(file);
        try (Qcow2Backend q = Qcow2Backend.open(file, false, Cache.WRITEBACK, loop)) {
            BlockError error = failedWrite(q, 0);
            assertEquals(Kind.IO_ERROR, error.kind());
            assertTrue(error.message().contains("corrupt qcow2 refcount table: entry 0"), error.message());
            assertArrayEquals(new byte[512], read(q, 0, 512));
        }
        assertEquals(before, sha256(file));
    }

    @Test
    void compressedClusterBeyondEndOfFile() throws IOException {
        Path file = dir.resolve("compressed.qcow2");
        long l2 = imageWithFirstCluster(file);
        patchLong(file, l2, (1L << 62) | (1L << 40));
        try (Qcow2Backend q = Qcow2Backend.open(file, true, Cache.WRITEBACK, loop)) {
            assertIoError(failedRead(q, 0), "compressed cluster");
        }
    }
}
