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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.backends.block.DriveSpec.Cache;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Overlays made by stubdm, read and written by Qcow2Backend and checked by QEMU's qemu-img. */
class Qcow2OverlayTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;
    private final ExecutorService loop = BlockTesting.deviceLoop();

    @AfterEach
    void stopLoop() {
        loop.shutdownNow();
    }

    @Test
    void anOverlayReadsItsRawBaseAndKeepsTheGuestsWritesToItself() throws IOException {
        Path base = dir.resolve("FreeBSD-14.1-RELEASE-amd64.raw");
        Files.write(base, pattern((int) (5 * MIB + 512), 3)); // not a whole number of clusters, as .img files are
        String baseHash = sha256(base);
        Path overlay = dir.resolve("run/overlay.qcow2");
        Files.createDirectories(overlay.getParent());

        Qcow2Overlay.create(overlay, base, "raw");
        Path expected = dir.resolve("expected.raw");
        Files.copy(base, expected);
        try (Qcow2Backend q = Qcow2Backend.open(overlay, false, Cache.WRITEBACK, loop)) {
            assertEquals(Files.size(base), q.sizeBytes());
            assertArrayEquals(Files.readAllBytes(base), read(q, 0, (int) Files.size(base)));
            // What a booting FreeBSD writes: its loader's nextboot state near the start, UFS metadata further on.
            BlockTesting.write(q, 8192, filled(512, 0x42));
            writeAt(expected, 8192, filled(512, 0x42));
            BlockTesting.write(q, 3 * MIB + 65536 - 1024, pattern(2048, 4));
            writeAt(expected, 3 * MIB + 65536 - 1024, pattern(2048, 4));
            BlockTesting.write(q, Files.size(base) - 512, filled(512, 0x43));
            writeAt(expected, Files.size(base) - 512, filled(512, 0x43));
        }
        assertEquals(baseHash, sha256(base), "the image under test is never modified");
        BlockTesting.assumeQemuTools();
        assertCheckClean(overlay);
        assertSameDisk(overlay, expected);
        String info = ok(dir, "qemu-img", "info", overlay.toString());
        assertTrue(info.contains("backing file: " + base), info);
        assertTrue(info.contains("backing file format: raw"), info);
    }

    @Test
    void anOverlayOverAQcow2ImageOfAnyVirtualSize() throws IOException {
        BlockTesting.assumeQemuTools();
        Path base = dir.resolve("opnsense.qcow2");
        ok(dir, "qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "1100M"); // more than two L2 tables
        qemuIo(base, "qcow2", "write -P 0x77 1000M 64k");
        Path overlay = dir.resolve("overlay.qcow2");
        Qcow2Overlay.create(overlay, base, "qcow2");
        try (Qcow2Backend q = Qcow2Backend.open(overlay, false, Cache.WRITEBACK, loop)) {
            assertEquals(1100 * MIB, q.sizeBytes());
            assertArrayEquals(filled(65536, 0x77), read(q, 1000 * MIB, 65536));
            BlockTesting.write(q, 1090 * MIB, filled(4096, 0x78));
            assertArrayEquals(filled(4096, 0x78), read(q, 1090 * MIB, 4096));
        }
        assertCheckClean(overlay);
        String out = ok(dir, "qemu-io", "-f", "qcow2", "-c", "read -P 0x78 1090M 4k", "-c", "read -P 0x77 1000M 64k",
                overlay.toString());
        assertFalse(out.contains("Pattern verification failed"), out);
    }

    @Test
    void anExistingOverlayIsNeverReplacedAndABadBaseIsNamed() throws IOException {
        Path base = dir.resolve("base.raw");
        Files.write(base, filled(65536, 1));
        Path overlay = dir.resolve("o.qcow2");
        Qcow2Overlay.create(overlay, base, "raw");
        byte[] before = Files.readAllBytes(overlay);
        assertThrows(FileAlreadyExistsException.class, () -> Qcow2Overlay.create(overlay, base, "raw"));
        assertArrayEquals(before, Files.readAllBytes(overlay));

        Files.write(dir.resolve("empty.raw"), new byte[0]);
        IOException e = assertThrows(IOException.class,
                () -> Qcow2Overlay.create(dir.resolve("o2.qcow2"), dir.resolve("empty.raw"), "raw"));
        assertTrue(e.getMessage().contains("empty.raw"), e.getMessage());
        e = assertThrows(IOException.class,
                () -> Qcow2Overlay.create(dir.resolve("o3.qcow2"), base, "qcow2")); // raw bytes, not a qcow2 header
        assertTrue(e.getMessage().contains("base.raw"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("o2.qcow2")) || Files.exists(dir.resolve("o3.qcow2")));
    }
}
