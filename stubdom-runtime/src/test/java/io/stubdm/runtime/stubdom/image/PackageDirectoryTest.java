package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PackageDirectory only looks at file names, so empty files stand in for the .debs. */
class PackageDirectoryTest {

    @TempDir
    Path dir;

    @Test
    void findPicksTheNewestVersionByDebianOrderingNotByFileName() throws IOException {
        touch("zlib1g_1%3a1.2.13.dfsg-1_amd64.deb");
        touch("zlib1g_1%3a1.2.13.dfsg-1+deb12u1_amd64.deb");
        touch("zlib1g_1.3.0-99_amd64.deb"); // no epoch: older than any 1:..., though its name sorts last
        touch("zlib1g_1%3a1.2.13~rc1-1_amd64.deb");

        assertEquals(dir.resolve("zlib1g_1%3a1.2.13.dfsg-1+deb12u1_amd64.deb"), PackageDirectory.find(dir, "zlib1g"));
    }

    @Test
    void findComparesNumericallyWithinAVersion() throws IOException {
        touch("libxenstore4_4.17.7+9-g1_amd64.deb");
        touch("libxenstore4_4.17.7+13-g2445b30a44-0+deb12u1_amd64.deb");
        touch("libxenstore4_4.17.7+13-g2445b30a44-0+deb12u2_amd64.deb");

        assertEquals(dir.resolve("libxenstore4_4.17.7+13-g2445b30a44-0+deb12u2_amd64.deb"),
                PackageDirectory.find(dir, "libxenstore4"));
    }

    @Test
    void findIgnoresOtherArchitecturesOtherPackagesAndNonAptNames() throws IOException {
        touch("libc6_2.36-9_amd64.deb");
        touch("libc6_2.99-1_i386.deb");
        touch("libc6_2.99-1_arm64.deb");
        touch("libc6-dev_2.99-1_amd64.deb");
        touch("libc6_2.99-1.deb"); // no architecture
        touch("libc6_2.99_1_amd64.deb"); // one underscore too many
        touch("libc6_2.99-1_amd64.deb.part"); // an interrupted download
        touch("libc6.deb");

        assertEquals(dir.resolve("libc6_2.36-9_amd64.deb"), PackageDirectory.find(dir, "libc6"));
    }

    @Test
    void findTakesArchitectureIndependentPackages() throws IOException {
        touch("tzdata_2024a-0_all.deb");

        assertEquals(dir.resolve("tzdata_2024a-0_all.deb"), PackageDirectory.find(dir, "tzdata"));
    }

    @Test
    void aMissingPackageIsAnIOExceptionNamingIt() throws IOException {
        touch("libc6_2.36-9_amd64.deb");
        touch("busybox-static_1%3a1.35.0-4_i386.deb");

        IOException e = assertThrows(IOException.class, () -> PackageDirectory.find(dir, "busybox-static"));

        assertTrue(e.getMessage().contains("busybox-static"), e.getMessage());
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void aMissingDirectoryIsAnIOExceptionNamingIt() {
        Path missing = dir.resolve("nowhere");

        IOException e = assertThrows(IOException.class, () -> PackageDirectory.find(missing, "libc6"));

        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void newestKernelIgnoresTheMetapackageDebugAndUnsignedBuilds() throws IOException {
        touch("linux-image-amd64_6.1.999-1_amd64.deb");
        touch("linux-image-6.1.0-57-amd64-dbg_6.1.999-1_amd64.deb");
        touch("linux-image-6.1.0-57-amd64-unsigned_6.1.999-1_amd64.deb");
        touch("linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb");
        touch("linux-image-6.1.0-41-amd64_6.1.158-1_amd64.deb");
        touch("linux-headers-6.1.0-58-amd64_6.1.200-1_amd64.deb");

        assertEquals(Optional.of("linux-image-6.1.0-57-amd64"),
                PackageDirectory.newestMatching(dir, "linux-image-[0-9].*-amd64"));
    }

    @Test
    void newestKernelIgnoresOtherArchitectures() throws IOException {
        // Debian's i386 archive has linux-image-*-amd64 packages too (a 64-bit kernel under a 32-bit userland);
        // find() would not take one, so newestMatching must not name one either.
        touch("linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb");
        touch("linux-image-6.1.0-58-amd64_6.1.200-1_i386.deb");

        String newest = PackageDirectory.newestMatching(dir, "linux-image-[0-9].*-amd64").orElseThrow();

        assertEquals("linux-image-6.1.0-57-amd64", newest);
        assertEquals(dir.resolve("linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb"), PackageDirectory.find(dir, newest));
    }

    @Test
    void newestMatchingIsEmptyWithoutAMatch() throws IOException {
        touch("linux-image-amd64_6.1.999-1_amd64.deb");

        assertEquals(Optional.empty(), PackageDirectory.newestMatching(dir, "linux-image-[0-9].*-amd64"));
    }

    @Test
    void splitDecodesTheEpochOnly() {
        assertEquals(List.of("zlib1g", "1:1.2.13.dfsg-1+deb12u1", "amd64"),
                List.of(PackageDirectory.split(Path.of("zlib1g_1%3a1.2.13.dfsg-1+deb12u1_amd64.deb"))));
    }

    @Test
    void namesWithOtherPercentEscapesAreNotPackages() throws IOException {
        // apt writes only %3a (the epoch colon); a name with another escape is somebody else's file: neither a
        // reason to stop the build nor a candidate (were "2.99%zz" a version, it would be the newest).
        touch("libc6_2.36-9_amd64.deb");
        touch("libc6_2.99%zz_amd64.deb");
        touch("libc6_2.99%_amd64.deb");

        assertEquals(dir.resolve("libc6_2.36-9_amd64.deb"), PackageDirectory.find(dir, "libc6"));
    }

    private void touch(String name) throws IOException {
        Files.createFile(dir.resolve(name));
    }
}
