package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.stubdm.runtime.stubdom.image.TestDebs.Member;

class DebPackageTest {

    private static final List<Member> TREE = List.of(
            Member.directory("./"),
            Member.directory("./usr/"),
            Member.directory("./usr/bin/"),
            Member.file("./usr/bin/hello", 04755, "#!/bin/sh\necho hello\n"),
            Member.symlink("./usr/bin/hi", "hello"),
            Member.hardLink("./usr/bin/hello-again", "./usr/bin/hello"),
            Member.directory("./etc/"),
            Member.file("./etc/hello.conf", 0644, "greeting=hello\n"),
            Member.file("/etc/absolute.conf", 0600, "leading slash\n"));

    @TempDir
    Path dir;

    @Test
    void readsControlFieldsIncludingContinuationLines() throws IOException {
        DebPackage deb = DebPackage.open(TestDebs.standard(TestDebs.CONTROL, TREE).writeTo(dir.resolve("a.deb")));

        assertEquals("hello-stub", deb.name());
        assertEquals("1.2-3", deb.version());
        assertEquals("amd64", deb.architecture());
        assertEquals(List.of("Package", "Version", "Architecture", "Maintainer", "Description"),
                List.copyOf(deb.control().keySet()));
        assertEquals("a test package\n built by the test itself.\n .\n Second paragraph of the description.",
                deb.control().get("Description"));
    }

    @Test
    void listsEntriesWithNormalisedPathsTypesAndModes() throws IOException {
        DebPackage deb = DebPackage.open(TestDebs.standard(TestDebs.CONTROL, TREE).writeTo(dir.resolve("a.deb")));

        SortedMap<String, DebEntry> entries = deb.entries();

        assertEquals(List.of("etc", "etc/absolute.conf", "etc/hello.conf", "usr", "usr/bin", "usr/bin/hello",
                "usr/bin/hello-again", "usr/bin/hi"), List.copyOf(entries.keySet()));
        assertEquals(new DebEntry("usr/bin/hello", DebEntry.Type.FILE, 04755, 21, null), entries.get("usr/bin/hello"));
        assertEquals(new DebEntry("usr/bin/hi", DebEntry.Type.SYMLINK, 0777, 0, "hello"), entries.get("usr/bin/hi"));
        assertEquals(new DebEntry("usr/bin/hello-again", DebEntry.Type.HARDLINK, 0755, 21, "usr/bin/hello"),
                entries.get("usr/bin/hello-again"));
        assertEquals(new DebEntry("usr", DebEntry.Type.DIRECTORY, 0755, 0, null), entries.get("usr"));
        assertEquals(0600, entries.get("etc/absolute.conf").mode());
        assertTrue(entries == deb.entries(), "entries are cached, not read again");
    }

    @Test
    void readsFilesAndHardLinksKeyedAsRequested() throws IOException {
        DebPackage deb = DebPackage.open(TestDebs.standard(TestDebs.CONTROL, TREE).writeTo(dir.resolve("a.deb")));

        Map<String, byte[]> contents = deb.read(List.of("./usr/bin/hello-again", "etc/hello.conf", "/etc/absolute.conf"));

        assertEquals(List.of("./usr/bin/hello-again", "etc/hello.conf", "/etc/absolute.conf"),
                List.copyOf(contents.keySet()));
        assertEquals("#!/bin/sh\necho hello\n", utf8(contents.get("./usr/bin/hello-again")));
        assertEquals("greeting=hello\n", utf8(contents.get("etc/hello.conf")));
        assertEquals("leading slash\n", utf8(contents.get("/etc/absolute.conf")));
    }

    @Test
    void readsAHardLinkWhoseTargetIsKnownFromEntries() throws IOException {
        DebPackage deb = DebPackage.open(TestDebs.standard(TestDebs.CONTROL, TREE).writeTo(dir.resolve("a.deb")));
        deb.entries();

        assertEquals("#!/bin/sh\necho hello\n", utf8(deb.read(List.of("usr/bin/hello-again")).get("usr/bin/hello-again")));
    }

    @Test
    void readsGzipAndUncompressedDataMembers() throws IOException {
        byte[] tar = TestDebs.tar(TREE);
        for (Map.Entry<String, byte[]> member : Map.of("data.tar.gz", TestDebs.gzip(tar), "data.tar", tar).entrySet()) {
            Path file = new TestDebs().debianBinary("2.0\n").controlTarGz(TestDebs.CONTROL)
                    .member(member.getKey(), member.getValue()).writeTo(dir.resolve(member.getKey() + ".deb"));

            assertEquals("greeting=hello\n", utf8(DebPackage.open(file).read(List.of("etc/hello.conf"))
                    .get("etc/hello.conf")), member.getKey());
        }
    }

    @Test
    void missingAndNonRegularRequestsAreAllNamed() throws IOException {
        Path file = TestDebs.standard(TestDebs.CONTROL, TREE).writeTo(dir.resolve("a.deb"));
        DebPackage deb = DebPackage.open(file);

        IOException e = assertThrows(IOException.class,
                () -> deb.read(List.of("etc/hello.conf", "usr/bin/nothing", "usr/bin/hi", "usr")));

        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("usr/bin/nothing (missing)"), e.getMessage());
        assertTrue(e.getMessage().contains("usr/bin/hi (SYMLINK)"), e.getMessage());
        assertTrue(e.getMessage().contains("usr (DIRECTORY)"), e.getMessage());
        assertTrue(!e.getMessage().contains("hello.conf"), e.getMessage());
    }

    @Test
    void refusesAPathEscapingWithDotDot() throws IOException {
        List<Member> escaping = List.of(Member.directory("./usr/"), Member.file("./usr/../../etc/shadow", 0644, "x"));
        DebPackage deb = DebPackage.open(TestDebs.standard(TestDebs.CONTROL, escaping).writeTo(dir.resolve("e.deb")));

        IOException e = assertThrows(IOException.class, deb::entries);

        assertTrue(e.getMessage().contains("e.deb") && e.getMessage().contains("'..'"), e.getMessage());
        assertThrows(IOException.class, () -> deb.read(List.of("usr")));
    }

    @Test
    void refusesAWrongMagic() throws IOException {
        Path file = Files.write(dir.resolve("not.deb"), "PK\3\4 this is a zip".getBytes(StandardCharsets.US_ASCII));

        IOException e = assertThrows(IOException.class, () -> DebPackage.open(file));

        assertTrue(e.getMessage().contains("not.deb") && e.getMessage().contains("ar archive magic"), e.getMessage());
    }

    @Test
    void refusesTruncatedDebsAtEveryCut() throws IOException {
        byte[] whole = Files.readAllBytes(TestDebs.standard(TestDebs.CONTROL, TREE).writeTo(dir.resolve("a.deb")));
        // A cut inside the ar header area, inside debian-binary, inside control.tar.gz and inside data.tar.xz.
        for (int length : new int[] {0, 7, 30, 70, 130, 300, whole.length / 2, whole.length - 10, whole.length - 2}) {
            Path cut = Files.write(dir.resolve("cut-" + length + ".deb"), Arrays.copyOf(whole, length));

            IOException e = assertThrows(IOException.class, () -> DebPackage.open(cut).entries(), "cut at " + length);

            assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        }
    }

    @Test
    void refusesAnotherFormatVersion() throws IOException {
        Path file = new TestDebs().debianBinary("3.0\n").controlTarGz(TestDebs.CONTROL)
                .member("data.tar.xz", TestDebs.xz(TestDebs.tar(TREE))).writeTo(dir.resolve("v3.deb"));

        IOException e = assertThrows(IOException.class, () -> DebPackage.open(file));

        assertTrue(e.getMessage().contains("v3.deb") && e.getMessage().contains("\"3.0\""), e.getMessage());
    }

    @Test
    void refusesAMalformedControlFile() throws IOException {
        for (String control : new String[] {
            " continuation first\nPackage: x\n",
            "Package: x\nno colon here\n",
            "Package: x\nVersion: 1\n",
            "Package: x\nVersion: 1\nArchitecture: all\n\nPackage: y\n",
        }) {
            Path file = TestDebs.standard(control, TREE).writeTo(dir.resolve("c.deb"));

            IOException e = assertThrows(IOException.class, () -> DebPackage.open(file), control);

            assertTrue(e.getMessage().contains("c.deb") && e.getMessage().contains("control"), e.getMessage());
        }
    }

    @Test
    void refusesZstdMembersByName() throws IOException {
        Path file = new TestDebs().debianBinary("2.0\n").controlTarGz(TestDebs.CONTROL)
                .member("data.tar.zst", new byte[] {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD}).writeTo(dir.resolve("z.deb"));
        DebPackage deb = DebPackage.open(file);

        IOException e = assertThrows(IOException.class, deb::entries);

        assertTrue(e.getMessage().contains("data.tar.zst") && e.getMessage().contains("zstd"), e.getMessage());
    }

    @Test
    void readsTheRealBusyboxStaticPackage() throws IOException {
        Path file = TestDebs.labBusyboxDeb();
        assumeTrue(file != null, "no busybox-static .deb in /work/lab-cache/debs");
        DebPackage deb = DebPackage.open(file);

        assertEquals("busybox-static", deb.name());
        assertEquals("amd64", deb.architecture());
        assertEquals(DebEntry.Type.FILE, deb.entries().get("bin/busybox").type());
        byte[] busybox = deb.read(List.of("bin/busybox")).get("bin/busybox");
        assertArrayEquals(new byte[] {0x7F, 'E', 'L', 'F'}, Arrays.copyOf(busybox, 4));
        assertEquals(deb.entries().get("bin/busybox").size(), busybox.length);
    }

    private static String utf8(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
