package io.stubdm.backends.block;

import static io.stubdm.backends.block.BlockTesting.await;
import static io.stubdm.backends.block.BlockTesting.filled;
import static io.stubdm.backends.block.BlockTesting.pattern;
import static io.stubdm.backends.block.BlockTesting.read;
import static io.stubdm.backends.block.BlockTesting.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stubdm.backends.block.BlockBackend.BlockError;
import io.stubdm.backends.block.BlockBackend.BlockError.Kind;
import io.stubdm.backends.block.DriveSpec.Cache;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RawFileBackendTest {
    private static final int SIZE = 1 << 20;

    @TempDir
    Path dir;
    private final ExecutorService loop = BlockTesting.deviceLoop();

    @AfterEach
    void stopLoop() {
        loop.shutdownNow();
    }

    private Path image(byte[] content) throws IOException {
        Path file = dir.resolve("disk.img");
        Files.write(file, content);
        return file;
    }

    @Test
    void readsWhatTheFileHolds() throws IOException {
        byte[] content = pattern(SIZE, 3);
        try (RawFileBackend disk = RawFileBackend.open(image(content), true, Cache.WRITEBACK, loop)) {
            assertEquals(SIZE, disk.sizeBytes());
            assertTrue(disk.readOnly());
            assertArrayEquals(Arrays.copyOfRange(content, 4096, 4096 + 65536), read(disk, 4096, 65536));
            assertEquals(1, disk.stats().readOps.get());
            assertEquals(65536, disk.stats().readBytes.get());
            assertTrue(disk.describe().endsWith("disk.img (raw)"), disk.describe());
        }
    }

    @ParameterizedTest
    @EnumSource(Cache.class)
    void writesReachTheFileInEveryCacheMode(Cache cache) throws IOException {
        Path file = image(new byte[SIZE]);
        try (RawFileBackend disk = RawFileBackend.open(file, false, cache, loop)) {
            write(disk, 512, filled(1024, 0x5a));
            BlockTesting.flush(disk);
            assertArrayEquals(filled(1024, 0x5a), read(disk, 512, 1024));
            assertEquals(1, disk.stats().flushOps.get());
        }
        byte[] after = Files.readAllBytes(file);
        assertArrayEquals(filled(1024, 0x5a), Arrays.copyOfRange(after, 512, 1536));
        assertEquals(0, after[511]);
        assertEquals(0, after[1536]);
    }

    /** A PRD table's regions: one request fills them in order from consecutive image bytes. */
    @Test
    void scatteredReadFillsRegionsInOrderAsOneRequest() throws IOException {
        byte[] content = pattern(SIZE, 5);
        try (RawFileBackend disk = RawFileBackend.open(image(content), true, Cache.WRITEBACK, loop)) {
            ByteBuffer[] regions = {ByteBuffer.allocate(4096), ByteBuffer.allocateDirect(512), ByteBuffer.allocate(65536)};
            assertNull(await(done -> disk.readScattered(8192, List.of(regions), done)));
            int at = 8192;
            for (ByteBuffer r : regions) {
                assertEquals(r.limit(), r.position(), "each region is filled to its limit");
                byte[] got = new byte[r.capacity()];
                r.get(0, got);
                assertArrayEquals(Arrays.copyOfRange(content, at, at + got.length), got);
                at += got.length;
            }
            assertEquals(1, disk.stats().readOps.get());
            assertEquals(4096 + 512 + 65536, disk.stats().readBytes.get());
        }
    }

    @Test
    void gatheredWriteLandsAtConsecutiveOffsets() throws IOException {
        Path file = image(new byte[SIZE]);
        try (RawFileBackend disk = RawFileBackend.open(file, false, Cache.WRITETHROUGH, loop)) {
            assertNull(await(done -> disk.writeGathered(1024, List.of(ByteBuffer.wrap(filled(512, 1)),
                    ByteBuffer.wrap(filled(1536, 2))), done)));
            assertEquals(1, disk.stats().writeOps.get());
        }
        byte[] after = Files.readAllBytes(file);
        assertArrayEquals(filled(512, 1), Arrays.copyOfRange(after, 1024, 1536));
        assertArrayEquals(filled(1536, 2), Arrays.copyOfRange(after, 1536, 3072));
        assertEquals(0, after[1023]);
        assertEquals(0, after[3072]);
    }

    /** Refused as a whole, before any I/O: a region that is not whole sectors, or a transfer past the end. */
    @Test
    void scatteredRequestsThatDoNotFitTouchNothing() throws IOException {
        Path file = image(new byte[SIZE]);
        try (RawFileBackend disk = RawFileBackend.open(file, false, Cache.WRITEBACK, loop)) {
            BlockError odd = await(done -> disk.writeGathered(0, List.of(ByteBuffer.wrap(filled(512, 9)),
                    ByteBuffer.wrap(filled(100, 9))), done));
            assertEquals(Kind.OUT_OF_RANGE, odd.kind());
            assertTrue(odd.message().contains("whole 512-byte sectors"), odd.message());
            BlockError beyond = await(done -> disk.writeGathered(SIZE - 1024, List.of(ByteBuffer.wrap(filled(1024, 9)),
                    ByteBuffer.wrap(filled(512, 9))), done));
            assertEquals(Kind.OUT_OF_RANGE, beyond.kind());
            ByteBuffer untouched = ByteBuffer.wrap(filled(512, 0x77));
            assertEquals(Kind.OUT_OF_RANGE, await(done -> disk.readScattered(SIZE - 512, List.of(untouched,
                    ByteBuffer.allocate(512)), done)).kind());
            assertEquals(0, untouched.position());
            assertArrayEquals(filled(512, 0x77), untouched.array());
        }
        assertArrayEquals(new byte[SIZE], Files.readAllBytes(file));
    }

    @Test
    void completionsRunOnTheDeviceLoopNeverInsideTheCall() throws Exception {
        try (RawFileBackend disk = RawFileBackend.open(image(new byte[SIZE]), false, Cache.WRITEBACK, loop)) {
            // Hold the loop: a completion that ran inside read() would run on this thread and count down at once.
            CountDownLatch release = new CountDownLatch(1);
            loop.execute(() -> awaitQuietly(release));
            AtomicReference<String> thread = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(2);
            disk.read(0, ByteBuffer.allocate(512), error -> {
                thread.set(Thread.currentThread().getName());
                done.countDown();
            });
            disk.write(SIZE, ByteBuffer.allocate(512), error -> done.countDown()); // refused without I/O
            assertEquals(2, done.getCount());
            release.countDown();
            assertTrue(done.await(10, TimeUnit.SECONDS));
            assertEquals(BlockTesting.LOOP_THREAD, thread.get());
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void outOfRangeRequestsTouchNothing() throws IOException {
        Path file = image(new byte[SIZE]);
        try (RawFileBackend disk = RawFileBackend.open(file, false, Cache.WRITEBACK, loop)) {
            BlockError beyond = await(done -> disk.write(SIZE - 512, ByteBuffer.wrap(filled(1024, 1)), done));
            assertEquals(Kind.OUT_OF_RANGE, beyond.kind());
            assertTrue(beyond.message().contains(Long.toString(SIZE)), beyond.message());
            assertEquals(Kind.OUT_OF_RANGE, await(done -> disk.read(-512, ByteBuffer.allocate(512), done)).kind());
            assertEquals(Kind.OUT_OF_RANGE, await(done -> disk.read(Long.MAX_VALUE - 511, ByteBuffer.allocate(512),
                    done)).kind());
            assertEquals(Kind.OUT_OF_RANGE, await(done -> disk.read(100, ByteBuffer.allocate(512), done)).kind());
            assertEquals(4, disk.stats().errors.get());
        }
        assertArrayEquals(new byte[SIZE], Files.readAllBytes(file));
    }

    @Test
    void readOnlyDriveRefusesWrites() throws IOException {
        Path file = image(new byte[SIZE]);
        try (RawFileBackend disk = RawFileBackend.open(file, true, Cache.WRITEBACK, loop)) {
            BlockError error = await(done -> disk.write(0, ByteBuffer.wrap(filled(512, 7)), done));
            assertEquals(Kind.READ_ONLY, error.kind());
            assertTrue(error.message().contains("disk.img"), error.message());
            BlockTesting.flush(disk);
        }
        assertArrayEquals(new byte[SIZE], Files.readAllBytes(file));
    }

    @Test
    void oddSizedFileIsRoundedUpWithZeros() throws IOException {
        byte[] content = filled(1000, 0x11);
        try (RawFileBackend disk = RawFileBackend.open(image(content), true, Cache.WRITEBACK, loop)) {
            assertEquals(1024, disk.sizeBytes());
            byte[] tail = read(disk, 512, 512);
            assertArrayEquals(filled(488, 0x11), Arrays.copyOf(tail, 488));
            assertArrayEquals(new byte[24], Arrays.copyOfRange(tail, 488, 512));
        }
    }

    @Test
    void requestsAfterCloseFailCleanly() throws IOException {
        RawFileBackend disk = RawFileBackend.open(image(new byte[SIZE]), false, Cache.WRITEBACK, loop);
        disk.close();
        BlockError error = await(done -> disk.read(0, ByteBuffer.allocate(512), done));
        assertEquals(Kind.IO_ERROR, error.kind());
        assertTrue(error.message().contains("closed"), error.message());
    }

    @Test
    void openErrorsNameTheFile() throws IOException {
        IOException missing = assertThrows(IOException.class,
                () -> RawFileBackend.open(dir.resolve("nope.img"), true, Cache.WRITEBACK, loop));
        assertTrue(missing.getMessage().contains("nope.img: no such file"), missing.getMessage());
        IOException directory = assertThrows(IOException.class,
                () -> RawFileBackend.open(dir, true, Cache.WRITEBACK, loop));
        assertTrue(directory.getMessage().contains("is a directory"), directory.getMessage());
    }

    @Test
    void unreadableFileIsNamed() throws IOException {
        Path file = image(new byte[512]);
        assumeTrue(file.toFile().setReadable(false, false) && !Files.isReadable(file),
                "running as root: permissions do not apply");
        IOException e = assertThrows(IOException.class, () -> RawFileBackend.open(file, true, Cache.WRITEBACK, loop));
        assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
    }

    /** The stub domain's disks are block devices, whose size FileChannel.size() must report (not 0). */
    @Test
    void hostBlockDevice() throws IOException, InterruptedException {
        Path backingFile = image(pattern(SIZE, 9));
        BlockTesting.Result attach = BlockTesting.run(dir, "losetup", "--find", "--show", backingFile.toString());
        assumeTrue(attach.exit() == 0, "no loop device available (needs root): " + attach.output());
        Path device = Path.of(attach.output().trim());
        try (RawFileBackend disk = RawFileBackend.open(device, false, Cache.WRITETHROUGH, loop)) {
            assertTrue(RawFileBackend.isDevice(device));
            assertEquals(SIZE, disk.sizeBytes());
            assertTrue(disk.describe().endsWith("(host_device)"), disk.describe());
            write(disk, 4096, filled(512, 0x77));
            assertArrayEquals(filled(512, 0x77), read(disk, 4096, 512));
        } finally {
            BlockTesting.run(dir, "losetup", "-d", device.toString());
        }
        assertEquals(0x77, Files.readAllBytes(backingFile)[4096]);
    }
}
