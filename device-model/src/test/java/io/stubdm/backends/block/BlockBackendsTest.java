package io.stubdm.backends.block;

import static io.stubdm.backends.block.BlockTesting.await;
import static io.stubdm.backends.block.BlockTesting.createQcow2;
import static io.stubdm.backends.block.BlockTesting.filled;
import static io.stubdm.backends.block.BlockTesting.pattern;
import static io.stubdm.backends.block.BlockTesting.read;
import static io.stubdm.backends.block.BlockTesting.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.backends.block.BlockBackend.BlockError;
import io.stubdm.backends.block.BlockBackend.BlockError.Kind;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockBackendsTest {
    @TempDir
    Path dir;
    private final ExecutorService loop = BlockTesting.deviceLoop();

    @AfterEach
    void stopLoop() {
        loop.shutdownNow();
    }

    private BlockBackend open(String drive) throws IOException {
        return BlockBackends.open(DriveSpec.parse(drive), loop).orElseThrow();
    }

    @Test
    void formatIsProbedWhenNotGiven() throws IOException {
        Path qcow2 = dir.resolve("a.img");
        createQcow2(qcow2, 1 << 20, 16, 3);
        Path raw = dir.resolve("b.img");
        Files.write(raw, pattern(1 << 16, 1));
        try (BlockBackend q = open("file=" + qcow2 + ",if=ide,index=0")) {
            assertInstanceOf(Qcow2Backend.class, q);
            assertEquals(1 << 20, q.sizeBytes());
        }
        try (BlockBackend r = open("file=" + raw + ",if=ide,index=1")) {
            assertInstanceOf(RawFileBackend.class, r);
            assertArrayEquals(pattern(512, 1), read(r, 0, 512));
        }
    }

    /** QEMU's rule for probed raw images: the guest may not give sector 0 another format's magic. */
    @Test
    void probedRawImageCannotBecomeQcow2() throws IOException {
        Path raw = dir.resolve("guest.img");
        Files.write(raw, new byte[1 << 16]);
        byte[] qcow2Header = filled(512, 0);
        qcow2Header[0] = 'Q';
        qcow2Header[1] = 'F';
        qcow2Header[2] = 'I';
        qcow2Header[3] = (byte) 0xfb;
        try (BlockBackend r = open("file=" + raw)) {
            BlockError e = await(done -> r.write(0, ByteBuffer.wrap(qcow2Header), done));
            assertEquals(Kind.IO_ERROR, e.kind());
            assertTrue(e.message().contains("format=raw"), e.message());
            BlockTesting.write(r, 512, qcow2Header);
        }
        try (BlockBackend r = open("file=" + raw + ",format=raw")) {
            BlockTesting.write(r, 0, qcow2Header);
        }
    }

    @Test
    void cdromIsReadOnlyAndEmptyDriveHasNoBackend() throws IOException {
        Path iso = dir.resolve("install.iso");
        Files.write(iso, pattern(1 << 16, 2));
        String before = sha256(iso);
        try (BlockBackend cd = open("if=none,readonly=on,id=ide-5632,file=" + iso + ",format=raw")) {
            assertTrue(cd.readOnly());
            assertEquals(Kind.READ_ONLY, await(done -> cd.write(0, ByteBuffer.allocate(2048), done)).kind());
        }
        assertEquals(before, sha256(iso));
        assertEquals(Optional.empty(), BlockBackends.open(DriveSpec.parse("if=none,readonly=on,id=ide-5632"), loop));
    }

    @Test
    void compressedImageIsOpenedThroughItsCopy() throws IOException {
        byte[] content = new byte[1 << 20];
        new Random(5).nextBytes(content);
        Arrays.fill(content, 4096, content.length, (byte) 0);
        Path source = dir.resolve("OPNsense-vga-amd64.img.bz2");
        try (OutputStream out = new BZip2CompressorOutputStream(Files.newOutputStream(source), 1)) {
            out.write(content);
        }
        try (BlockBackend disk = open("file=" + source + ",if=ide,index=0,media=disk,format=raw,cache=writeback")) {
            assertInstanceOf(RawFileBackend.class, disk);
            assertEquals(content.length, disk.sizeBytes());
            assertArrayEquals(content, read(disk, 0, content.length));
            assertTrue(disk.describe().startsWith(source + " (raw, decompressed into "), disk.describe());
        }
    }

    @Test
    void openErrorsNameTheDriveAndTheFile() throws IOException {
        IOException missing = assertThrows(IOException.class,
                () -> open("file=" + dir.resolve("none.qcow2") + ",if=ide,index=0,format=qcow2"));
        assertEquals("drive ide0-hd0: " + dir.resolve("none.qcow2") + ": no such file", missing.getMessage());

        Path notQcow2 = dir.resolve("raw.img");
        Files.write(notQcow2, new byte[4096]);
        IOException wrongFormat = assertThrows(IOException.class,
                () -> open("file=" + notQcow2 + ",if=none,id=disk1,format=qcow2"));
        assertTrue(wrongFormat.getMessage().startsWith("drive disk1: " + notQcow2 + ": unusable qcow2 header: magic"),
                wrongFormat.getMessage());

        IOException notDevice = assertThrows(IOException.class,
                () -> open("file=" + notQcow2 + ",if=ide,index=1,format=host_device"));
        assertTrue(notDevice.getMessage().contains("host_device needs a block or character device"),
                notDevice.getMessage());

        IOException noDevice = assertThrows(IOException.class,
                () -> open("file=/dev/xvdq-not-here,if=ide,index=1,format=host_device"));
        assertEquals("drive ide0-hd1: /dev/xvdq-not-here: no such file", noDevice.getMessage());
    }

    /** A qcow2 image that fails to open for writing is left byte for byte as it was. */
    @Test
    void nothingIsWrittenToAnImageThatFailedToOpen() throws IOException {
        Path image = dir.resolve("broken.qcow2");
        createQcow2(image, 1 << 20, 16, 3);
        BlockTesting.patchLong(image, 88, 1); // an auto-clear bit: a successful writable open would clear it
        BlockTesting.patchLong(image, 72, 1L << 20);
        String before = sha256(image);
        assertThrows(IOException.class, () -> open("file=" + image + ",format=qcow2"));
        assertThrows(IOException.class, () -> open("file=" + image));
        assertEquals(before, sha256(image));
    }
}
