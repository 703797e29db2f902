package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.stubdm.runtime.stubdom.image.StubdomFixture.Rootfs;

/** {@code stubdm stubdom-image} and {@code stubdm stubdom-install} as an administrator meets them. */
class StubdomImageCommandTest {
    private static final List<String> FILES = List.of(StubdomImageBuilder.KERNEL_FILE, StubdomImageBuilder.ROOTFS_FILE,
            StubdomImageBuilder.MANIFEST_FILE);

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @TempDir
    Path dir;

    // --- stubdom-image: arguments ---

    @Test
    void anUnknownOptionIsNamedWithTheUsageAndExit2() {
        assertEquals(2, image("--debs", "x", "--frobnicate"));
        assertTrue(err().contains("stubdm stubdom-image: unknown option --frobnicate"), err());
        assertTrue(err().contains("usage: stubdm stubdom-image"), err());
    }

    @Test
    void anOptionWithoutItsValueIsExit2() {
        for (String option : List.of("--debs", "--out", "--jdk", "--jars", "--kernel-package", "--mtime")) {
            err.reset();
            assertEquals(2, image(option), option);
            assertTrue(err().contains(option + " needs a value"), err());
        }
    }

    @Test
    void aNegativeMtimeIsExit2() {
        assertEquals(2, image("--mtime", "-1"));
        assertTrue(err().contains("--mtime must not be negative"), err());
    }

    @Test
    void aMtimeThatIsNoNumberIsNamedAndExit2() {
        assertEquals(2, image("--mtime", "yesterday"));
        // The first line, not the usage after it (which mentions --mtime anyway), must say what is wrong.
        String message = err().lines().findFirst().orElse("");
        assertTrue(message.contains("--mtime") && message.contains("yesterday"), message);
    }

    @Test
    void aMissingPackageDirectoryIsExit1NamingIt() {
        Path missing = dir.resolve("no-debs");

        assertEquals(1, image("--debs", missing.toString(), "--jars", dir.toString(), "--out", dir.toString()));
        assertTrue(err().contains(missing.toString()), err());
        assertFalse(Files.exists(dir.resolve(StubdomImageBuilder.ROOTFS_FILE)));
    }

    // --- stubdom-image: end to end, through the same argv Stubdm.run passes ---

    @Test
    void buildsIntoTheOutputDirectoryWithTheGivenMtime() throws IOException {
        StubdomFixture.Built standard = StubdomFixture.standardImage();
        Path output = dir.resolve("out");
        long mtime = StubdomFixture.MTIME + 3600;

        int status = image("--debs", standard.fixture().debs.toString(), "--jars", standard.fixture().jars.toString(),
                "--jdk", StubdomFixture.JDK.toString(), "--out", output.toString(), "--mtime", Long.toString(mtime));

        assertEquals(0, status, err());
        assertTrue(out().contains(output.resolve(StubdomImageBuilder.ROOTFS_FILE).toString()), out());
        assertArrayEquals(Files.readAllBytes(standard.result().kernel()),
                Files.readAllBytes(output.resolve(StubdomImageBuilder.KERNEL_FILE)));
        // The same files as the standard image, only younger: so other bytes, and every entry says so.
        Rootfs rootfs = Rootfs.read(output.resolve(StubdomImageBuilder.ROOTFS_FILE));
        assertEquals(List.copyOf(standard.rootfs().entries().keySet()), List.copyOf(rootfs.entries().keySet()));
        for (CpioArchiveEntry entry : rootfs.entries().values()) {
            assertEquals(mtime, entry.getTime(), entry.getName());
        }
        assertNotEquals(standard.result().rootfsSha256(),
                StubdomImageBuilder.sha256(output.resolve(StubdomImageBuilder.ROOTFS_FILE)));
    }

    // --- stubdom-install ---

    @Test
    void installCopiesTheThreeFiles() throws IOException {
        Path from = madeImage(FILES);
        Path to = dir.resolve("usr/lib/xen-4.17/boot");

        assertEquals(0, install("--from", from.toString(), "--to", to.toString()), err());

        for (String name : FILES) {
            assertEquals(name + " contents", Files.readString(to.resolve(name)));
            assertTrue(out().contains(to.resolve(name).toString()), out());
        }
        assertEquals(Set.copyOf(FILES), listing(to), "no .part file left behind");
    }

    @Test
    void installReplacesEarlierFiles() throws IOException {
        Path from = madeImage(FILES);
        Path to = Files.createDirectories(dir.resolve("boot"));
        Files.writeString(to.resolve(StubdomImageBuilder.ROOTFS_FILE), "last week's rootfs");

        assertEquals(0, install("--from", from.toString(), "--to", to.toString()), err());

        assertEquals(StubdomImageBuilder.ROOTFS_FILE + " contents",
                Files.readString(to.resolve(StubdomImageBuilder.ROOTFS_FILE)));
    }

    @Test
    void installWithoutAManifestStillInstallsTheImage() throws IOException {
        Path from = madeImage(FILES.subList(0, 2));
        Path to = dir.resolve("boot");

        assertEquals(0, install("--from", from.toString(), "--to", to.toString()), err());

        assertEquals(Set.copyOf(FILES.subList(0, 2)), listing(to));
    }

    @Test
    void installWithoutARootfsIsExit1AndSaysWhatToRun() throws IOException {
        Path from = madeImage(List.of(StubdomImageBuilder.KERNEL_FILE));
        Path to = dir.resolve("boot");

        assertEquals(1, install("--from", from.toString(), "--to", to.toString()));

        assertTrue(err().contains("no " + from.resolve(StubdomImageBuilder.ROOTFS_FILE)), err());
        assertTrue(err().contains("run stubdm stubdom-image first"), err());
    }

    @Test
    void installArgumentErrorsAreExit2() {
        assertEquals(2, install("--to"));
        assertTrue(err().contains("stubdm stubdom-install: --to needs a value"), err());
        err.reset();
        assertEquals(2, install("--into", "/boot"));
        assertTrue(err().contains("stubdm stubdom-install: unknown option --into"), err());
    }

    private Path madeImage(List<String> names) throws IOException {
        Path from = Files.createDirectories(dir.resolve("built"));
        for (String name : names) {
            Files.writeString(from.resolve(name), name + " contents");
        }
        return from;
    }

    private static Set<String> listing(Path directory) throws IOException {
        try (var list = Files.list(directory)) {
            return Set.copyOf(list.map(p -> p.getFileName().toString()).toList());
        }
    }

    private int image(String... args) {
        return StubdomImageCommand.image(argv("stubdom-image", args), print(out), print(err));
    }

    private int install(String... args) {
        return StubdomImageCommand.install(argv("stubdom-install", args), print(out), print(err));
    }

    private static List<String> argv(String command, String... args) {
        List<String> argv = new ArrayList<>(List.of(command));
        argv.addAll(List.of(args));
        return argv;
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
