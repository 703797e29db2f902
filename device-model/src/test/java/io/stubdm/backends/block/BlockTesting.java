package io.stubdm.backends.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.stubdm.backends.block.BlockBackend.BlockError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * What the block backend tests share: a device loop to complete requests on, synchronous wrappers that check each
 * completion arrives there, the qemu-img gate, and a minimal qcow2 writer for images crafted byte by byte.
 */
final class BlockTesting {
    static final String LOOP_THREAD = "test-device-loop";

    private BlockTesting() {
    }

    /** A single-thread executor standing in for the device loop. */
    static ExecutorService deviceLoop() {
        return Executors.newSingleThreadExecutor(r -> new Thread(r, LOOP_THREAD));
    }

    /** Issues a request and waits for its completion, which must run on the device loop. */
    static BlockError await(Consumer<BlockBackend.Completion> request) {
        CompletableFuture<BlockError> result = new CompletableFuture<>();
        request.accept(error -> {
            if (!Thread.currentThread().getName().equals(LOOP_THREAD)) {
                result.completeExceptionally(new AssertionError("completion ran on "
                        + Thread.currentThread().getName()));
            }
            result.complete(error);
        });
        try {
            return result.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static byte[] read(BlockBackend backend, long offset, int length) {
        ByteBuffer dst = ByteBuffer.allocateDirect(length);
        BlockError error = await(done -> backend.read(offset, dst, done));
        assertNull(error, () -> "read at " + offset + ": " + error);
        assertEquals(0, dst.remaining());
        byte[] bytes = new byte[length];
        dst.flip().get(bytes);
        return bytes;
    }

    static void write(BlockBackend backend, long offset, byte[] data) {
        BlockError error = await(done -> backend.write(offset, ByteBuffer.wrap(data), done));
        assertNull(error, () -> "write at " + offset + ": " + error);
    }

    static void flush(BlockBackend backend) {
        BlockError error = await(backend::flush);
        assertNull(error, () -> "flush: " + error);
    }

    static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    /** Bytes that differ from sector to sector and compress well. */
    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) ((i / 512) * 31 + seed + (i % 7));
        }
        return b;
    }

    static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static void writeAt(Path file, long offset, byte[] data) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE)) {
            c.write(ByteBuffer.wrap(data), offset);
        }
    }

    static void patchLong(Path file, long offset, long value) throws IOException {
        writeAt(file, offset, ByteBuffer.allocate(8).putLong(value).array());
    }

    static void patchInt(Path file, long offset, int value) throws IOException {
        writeAt(file, offset, ByteBuffer.allocate(4).putInt(value).array());
    }

    static long readLong(Path file, long offset) throws IOException {
        try (FileChannel c = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            c.read(b, offset);
            return b.getLong(0);
        }
    }

    // --- qemu-img and qemu-io (Debian package qemu-utils) ---

    private static Boolean qemuTools;

    /** Skips the test without qemu-utils, except on CI, which must have it. */
    static synchronized void assumeQemuTools() {
        if (qemuTools == null) {
            qemuTools = works("qemu-img", "--version") && works("qemu-io", "--version");
        }
        if (!qemuTools) {
            assertNotEquals("true", System.getenv("CI"),
                    "CI must install Debian package qemu-utils (qemu-img and qemu-io) for the qcow2 cross-checks");
            assumeTrue(false, "qemu-img/qemu-io not installed (Debian package qemu-utils)");
        }
    }

    private static boolean works(String... command) {
        try {
            return new ProcessBuilder(command).redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Runs a command in {@code directory}; returns its exit code and combined output. */
    static Result run(Path directory, String... command) {
        try {
            Process p = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Result(p.waitFor(), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs a command that must succeed. */
    static String ok(Path directory, String... command) {
        Result r = run(directory, command);
        assertEquals(0, r.exit(), () -> String.join(" ", command) + " failed:\n" + r.output());
        return r.output();
    }

    /** {@code qemu-io} with one {@code -c} per command. */
    static void qemuIo(Path image, String format, String... commands) {
        List<String> argv = new ArrayList<>(List.of("qemu-io", "-f", format));
        for (String c : commands) {
            argv.add("-c");
            argv.add(c);
        }
        argv.add(image.toString());
        String output = ok(image.getParent(), argv.toArray(String[]::new));
        assertEquals(-1, output.indexOf("failed"), output);
    }

    /** {@code qemu-img check} reports no errors and no leaks. */
    static void assertCheckClean(Path image) {
        Result r = run(image.getParent(), "qemu-img", "check", image.toString());
        assertEquals(0, r.exit(), () -> "qemu-img check " + image + ":\n" + r.output());
        assertEquals(true, r.output().contains("No errors were found"), r.output());
    }

    /** {@code qemu-img compare} says the qcow2 image and the raw file hold the same disk. */
    static void assertSameDisk(Path qcow2, Path raw) {
        Result r = run(qcow2.getParent(), "qemu-img", "compare", "-f", "qcow2", "-F", "raw", qcow2.toString(),
                raw.toString());
        assertEquals(0, r.exit(), () -> "qemu-img compare:\n" + r.output());
        assertEquals(true, r.output().contains("Images are identical"), r.output());
    }

    record Result(int exit, String output) {
    }

    // --- qcow2 images built here, for tests that need exact bytes and must run without qemu-img ---

    /**
     * Writes an empty qcow2 image laid out as qemu-img does: header in cluster 0, refcount table in cluster 1, its
     * one refcount block in cluster 2, the L1 table from cluster 3.
     */
    static void createQcow2(Path file, long size, int clusterBits, int version) throws IOException {
        long cluster = 1L << clusterBits;
        long l1Entries = (size + cluster * (cluster / 8) - 1) / (cluster * (cluster / 8));
        long l1Clusters = Math.max(1, (l1Entries * 8 + cluster - 1) / cluster);
        ByteBuffer header = ByteBuffer.allocate((int) cluster);
        header.putInt(0, Qcow2Header.MAGIC).putInt(4, version).putInt(20, clusterBits).putLong(24, size)
                .putInt(36, (int) l1Entries).putLong(40, 3 * cluster).putLong(48, cluster).putInt(56, 1);
        if (version == 3) {
            header.putInt(96, 4).putInt(100, 104);
        }
        ByteBuffer refcountBlock = ByteBuffer.allocate((int) cluster);
        for (int c = 0; c < 3 + l1Clusters; c++) {
            refcountBlock.putShort(c * 2, (short) 1);
        }
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            c.write(header, 0);
            c.write(ByteBuffer.allocate(8).putLong(0, 2 * cluster), cluster);
            c.write(refcountBlock, 2 * cluster);
            c.write(ByteBuffer.allocate((int) (l1Clusters * cluster)), 3 * cluster);
        }
    }
}
