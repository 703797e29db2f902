package io.stubdm.runtime.stubdom.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.compress.archivers.ar.ArArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;

/** Writes small .deb files the way dpkg-deb lays them out, so the reader is tested against known contents. */
final class TestDebs {

    /** A tar member to write: a file when content is set, else a directory, or a symlink/hard link to linkTarget. */
    record Member(String name, byte linkFlag, int mode, byte[] content, String linkTarget) {

        static Member directory(String name) {
            return new Member(name, TarConstants.LF_DIR, 0755, null, null);
        }

        static Member file(String name, int mode, String content) {
            return new Member(name, TarConstants.LF_NORMAL, mode, content.getBytes(StandardCharsets.UTF_8), null);
        }

        static Member file(String name, int mode, byte[] content) {
            return new Member(name, TarConstants.LF_NORMAL, mode, content, null);
        }

        static Member symlink(String name, String target) {
            return new Member(name, TarConstants.LF_SYMLINK, 0777, null, target);
        }

        static Member hardLink(String name, String target) {
            return new Member(name, TarConstants.LF_LINK, 0755, null, target);
        }
    }

    static final String CONTROL = """
            Package: hello-stub
            Version: 1.2-3
            Architecture: amd64
            Maintainer: Nobody <nobody@example.org>
            Description: a test package
             built by the test itself.
             .
             Second paragraph of the description.
            """;

    private final Map<String, byte[]> arMembers = new LinkedHashMap<>();

    TestDebs debianBinary(String content) {
        arMembers.put("debian-binary", content.getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    TestDebs controlTarGz(String control) throws IOException {
        arMembers.put("control.tar.gz",
                gzip(tar(List.of(Member.file("./control", 0644, control)))));
        return this;
    }

    TestDebs member(String name, byte[] content) {
        arMembers.put(name, content);
        return this;
    }

    /** The usual three members: "2.0\n", the given control file, and a data.tar.xz of the given entries. */
    static TestDebs standard(String control, List<Member> data) throws IOException {
        return new TestDebs().debianBinary("2.0\n").controlTarGz(control).member("data.tar.xz", xz(tar(data)));
    }

    /**
     * A package {@code name} of {@code version} for amd64 in {@code directory}, named as apt-get download names it
     * (the epoch's colon as %3a). data.tar is left uncompressed: the image tests put megabytes of real libraries in.
     */
    static Path writePackage(Path directory, String name, String version, List<Member> data) throws IOException {
        String control = "Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\n"
                + "Maintainer: Nobody <nobody@example.org>\nDescription: " + name + " for a test\n";
        String file = name + "_" + version.replace(":", "%3a") + "_amd64.deb";
        return new TestDebs().debianBinary("2.0\n").controlTarGz(control).member("data.tar", tar(data))
                .writeTo(directory.resolve(file));
    }

    Path writeTo(Path deb) throws IOException {
        try (ArArchiveOutputStream ar = new ArArchiveOutputStream(Files.newOutputStream(deb))) {
            for (Map.Entry<String, byte[]> member : arMembers.entrySet()) {
                ar.putArchiveEntry(new ArArchiveEntry(member.getKey(), member.getValue().length));
                ar.write(member.getValue());
                ar.closeArchiveEntry();
            }
        }
        return deb;
    }

    static byte[] tar(List<Member> members) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
            for (Member member : members) {
                TarArchiveEntry entry = new TarArchiveEntry(member.name(), member.linkFlag(), true);
                entry.setMode(member.mode());
                if (member.linkTarget() != null) {
                    entry.setLinkName(member.linkTarget());
                }
                if (member.content() != null) {
                    entry.setSize(member.content().length);
                }
                tar.putArchiveEntry(entry);
                if (member.content() != null) {
                    tar.write(member.content());
                }
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = new GzipCompressorOutputStream(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    static byte[] xz(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = new XZCompressorOutputStream(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    /** The first busybox-static .deb in the lab cache, or null on machines that have none. */
    static Path labBusyboxDeb() throws IOException {
        return labDeb("busybox-static_*.deb");
    }

    /** The first .deb in the lab cache whose name matches the glob, or null on machines that have none. */
    static Path labDeb(String glob) throws IOException {
        Path debs = Path.of("/work/lab-cache/debs");
        if (!Files.isDirectory(debs)) {
            return null;
        }
        List<Path> found = new ArrayList<>();
        try (var listing = Files.newDirectoryStream(debs, glob)) {
            listing.forEach(found::add);
        }
        return found.stream().sorted().findFirst().orElse(null);
    }
}
