package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReproducibleInitramfsTest {

    private static final long MTIME = 1_700_000_000L;
    private static final byte[] INIT = "#!/bin/busybox sh\nexec /bin/stubdm\n".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    /** The same entries every time; the order they are added in is the variable. */
    private List<Consumer<ReproducibleInitramfs>> additions() throws IOException {
        Path source = Files.write(dir.resolve("busybox"), new byte[] {0x7F, 'E', 'L', 'F', 1, 2, 3});
        return List.of(
                image -> image.file("init", 0755, INIT),
                image -> image.file("./bin/busybox", 0755, source),
                image -> image.symlink("bin/sh", "busybox"),
                image -> image.directory("/dev", 0755),
                image -> image.charDevice("dev/console", 0600, 5, 1),
                image -> image.file("etc/odd-length", 0644, new byte[] {1, 2, 3, 4, 5}),
                image -> image.directory("proc", 0555),
                image -> image.file("usr/lib/deep/nested/file", 04711, new byte[] {42}));
    }

    private static byte[] build(List<Consumer<ReproducibleInitramfs>> additions) throws IOException {
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);
        additions.forEach(addition -> addition.accept(image));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        image.writeTo(out);
        return out.toByteArray();
    }

    @Test
    void theSameEntriesAddedInAnotherOrderGiveTheSameBytes() throws IOException {
        List<Consumer<ReproducibleInitramfs>> forward = additions();
        List<Consumer<ReproducibleInitramfs>> backward = new ArrayList<>(forward);
        Collections.reverse(backward);
        List<Consumer<ReproducibleInitramfs>> shuffled = new ArrayList<>(forward);
        Collections.shuffle(shuffled, new java.util.Random(7));

        byte[] first = build(forward);

        assertArrayEquals(first, build(backward));
        assertArrayEquals(first, build(shuffled));
        // gzip header (RFC 1952): magic, deflate, no flags (so no file name), MTIME 0, XFL 2 = best compression
        assertArrayEquals(new byte[] {0x1F, (byte) 0x8B, 8, 0, 0, 0, 0, 0, 2}, java.util.Arrays.copyOf(first, 9));
    }

    @Test
    void roundTripsThroughCommonsCompressCpioReader() throws IOException {
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);
        additions().forEach(addition -> addition.accept(image));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        image.writeTo(out);
        byte[] cpio = new GZIPInputStream(new ByteArrayInputStream(out.toByteArray())).readAllBytes();

        Map<String, CpioArchiveEntry> entries = new LinkedHashMap<>();
        Map<String, byte[]> contents = new LinkedHashMap<>();
        try (CpioArchiveInputStream in = new CpioArchiveInputStream(new ByteArrayInputStream(cpio))) {
            for (CpioArchiveEntry entry; (entry = in.getNextEntry()) != null; ) {
                assertEquals(CpioConstants.FORMAT_NEW, entry.getFormat());
                entries.put(entry.getName(), entry);
                contents.put(entry.getName(), in.readAllBytes());
            }
        }

        assertEquals(List.of("bin", "bin/busybox", "bin/sh", "dev", "dev/console", "etc", "etc/odd-length", "init",
                "proc", "usr", "usr/lib", "usr/lib/deep", "usr/lib/deep/nested", "usr/lib/deep/nested/file"),
                List.copyOf(entries.keySet()));
        assertEquals(cpio.length, image.uncompressedSize());
        assertEquals(14, image.size());
        long inode = 1;
        for (CpioArchiveEntry entry : entries.values()) {
            assertEquals(inode++, entry.getInode(), entry.getName());
            assertEquals(MTIME, entry.getTime(), entry.getName()); // newc mtime, in seconds
            assertEquals(0, entry.getUID(), entry.getName());
            assertEquals(0, entry.getGID(), entry.getName());
            assertEquals(entry.isDirectory() ? 2 : 1, entry.getNumberOfLinks(), entry.getName());
        }
        assertEquals(0100755, entries.get("init").getMode());
        assertArrayEquals(INIT, contents.get("init"));
        assertArrayEquals(new byte[] {0x7F, 'E', 'L', 'F', 1, 2, 3}, contents.get("bin/busybox"));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, contents.get("etc/odd-length"));
        assertEquals(5, entries.get("etc/odd-length").getSize());
        assertEquals(0120777, entries.get("bin/sh").getMode());
        assertEquals("busybox", new String(contents.get("bin/sh"), StandardCharsets.UTF_8));
        assertEquals(020600, entries.get("dev/console").getMode());
        assertEquals(5, entries.get("dev/console").getRemoteDeviceMaj());
        assertEquals(1, entries.get("dev/console").getRemoteDeviceMin());
        assertEquals(040555, entries.get("proc").getMode());
        assertEquals(040755, entries.get("usr/lib/deep").getMode(), "implied parents are 0755 directories");
        assertEquals(0104711, entries.get("usr/lib/deep/nested/file").getMode());
    }

    @Test
    void endsWithATrailerAndPadsToFourBytes() throws IOException {
        ReproducibleInitramfs image = new ReproducibleInitramfs(0);
        image.file("a", 0644, new byte[] {1});
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        image.writeTo(out);
        byte[] cpio = new GZIPInputStream(new ByteArrayInputStream(out.toByteArray())).readAllBytes();
        String ascii = new String(cpio, StandardCharsets.ISO_8859_1);

        // "a": header 110 + name "a\0" 2 = 112, already aligned; 1 data byte + 3 padding
        assertEquals(110 + 2 + 4, ascii.indexOf("070701", 1));
        assertTrue(ascii.startsWith("07070100000001000081A4"), ascii.substring(0, 22));
        assertTrue(ascii.substring(116).startsWith("070701" + "00000000".repeat(4) + "00000001"),
                "trailer: inode 0, mode 0, uid 0, gid 0, nlink 1: " + ascii.substring(116, 162));
        assertTrue(ascii.contains("TRAILER!!!\0"));
        assertEquals(0, cpio.length % 4);
        assertEquals(cpio.length, image.uncompressedSize());
    }

    @Test
    void listsEveryEntryForTheManifest() throws IOException {
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);
        additions().forEach(addition -> addition.accept(image));

        Map<String, String> listing = image.listing();

        assertEquals("file 0755 " + INIT.length, listing.get("init"));
        assertEquals("file 0755 7", listing.get("bin/busybox"));
        assertEquals("symlink -> busybox", listing.get("bin/sh"));
        assertEquals("dir 0555", listing.get("proc"));
        assertEquals("dir 0755", listing.get("usr/lib"));
        assertEquals("chardev 0600 5:1", listing.get("dev/console"));
        assertEquals("file 4711 1", listing.get("usr/lib/deep/nested/file"));
        assertEquals(14, listing.size());
    }

    @Test
    void acceptsTheSameEntryTwiceAndRefusesADifferentOne() throws IOException {
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);
        image.file("bin/x", 0755, new byte[] {1, 2});
        image.file("./bin/x", 0755, new byte[] {1, 2});
        image.symlink("bin/sh", "x");
        image.symlink("bin/sh", "x");
        Path source = Files.write(dir.resolve("x"), new byte[] {1, 2});
        image.file("bin/x", 0755, source);

        for (Runnable conflict : List.<Runnable>of(
                () -> image.file("bin/x", 0700, new byte[] {1, 2}),
                () -> image.file("bin/x", 0755, new byte[] {1, 3}),
                () -> image.symlink("bin/x", "y"),
                () -> image.directory("bin/x", 0755),
                () -> image.symlink("bin/sh", "y"),
                () -> image.file("bin/x/below", 0644, new byte[0]),
                () -> image.file("bin", 0755, new byte[0]))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, conflict::run);
            assertTrue(e.getMessage().contains("bin"), e.getMessage());
        }
        assertEquals(3, image.size(), "bin (implied), bin/x and bin/sh: " + image.listing());
    }

    @Test
    void refusesPathsThatNameNothingOrEscape() {
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);

        for (String path : new String[] {"", "/", ".", "./", "..", "../etc", "a/../../b"}) {
            assertThrows(IllegalArgumentException.class, () -> image.file(path, 0644, new byte[0]), path);
        }
        assertThrows(IllegalArgumentException.class, () -> image.file("a", 0100644, new byte[0]), "type bits");
        assertThrows(IllegalArgumentException.class, () -> new ReproducibleInitramfs(-1));
        assertEquals(0, image.size());
    }

    @Test
    void aSourceThatChangedSizeFailsTheWrite() throws IOException {
        Path source = Files.write(dir.resolve("grows"), new byte[] {1});
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);
        image.file("grows", 0644, source);
        Files.write(source, new byte[] {1, 2});

        IOException e = assertThrows(IOException.class, () -> image.writeTo(new ByteArrayOutputStream()));

        assertTrue(e.getMessage().contains("grows"), e.getMessage());
    }

    @Test
    void cpioAndGzipToolsAcceptTheArchive() throws Exception {
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);
        additions().forEach(addition -> addition.accept(image));
        Path archive = dir.resolve("initramfs.cpio.gz");
        try (var out = Files.newOutputStream(archive)) {
            image.writeTo(out);
        }
        boolean anyTool = false;
        if (Files.isExecutable(Path.of("/usr/bin/gzip"))) {
            anyTool = true;
            assertEquals("", run("/usr/bin/gzip", "-t", archive.toString()));
        }
        if (Files.isExecutable(Path.of("/usr/bin/cpio"))) {
            anyTool = true;
            Path cpio = dir.resolve("initramfs.cpio");
            Files.write(cpio, new GZIPInputStream(Files.newInputStream(archive)).readAllBytes());
            String listing = run("/bin/sh", "-c", "/usr/bin/cpio -t --quiet < '" + cpio + "'");
            assertEquals(String.join("\n", image.listing().keySet()) + "\n", listing);
        }
        assumeTrue(anyTool, "neither /usr/bin/gzip nor /usr/bin/cpio on this machine");
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, process.exitValue(), String.join(" ", command) + ": " + output);
        return output;
    }

    @Test
    void anImageWithNothingIsJustTheTrailer() throws IOException {
        ReproducibleInitramfs image = new ReproducibleInitramfs(MTIME);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        image.writeTo(out);

        try (CpioArchiveInputStream in = new CpioArchiveInputStream(
                new GZIPInputStream(new ByteArrayInputStream(out.toByteArray())))) {
            assertNull(in.getNextEntry());
        }
        assertEquals(0, image.size());
        assertEquals(124, image.uncompressedSize(), "110 + \"TRAILER!!!\\0\" 11, padded to 124");
    }
}
