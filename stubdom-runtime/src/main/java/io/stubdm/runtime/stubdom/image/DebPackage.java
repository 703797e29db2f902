package io.stubdm.runtime.stubdom.image;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

import org.apache.commons.compress.archivers.ar.ArArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.lzma.LZMACompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * A Debian binary package read straight from its .deb, without dpkg.
 *
 * <p>The format is deb(5): an ar archive whose first member is {@code debian-binary} ("2.0\n"), then
 * {@code control.tar[.gz|.xz|.zst]} and {@code data.tar[.gz|.xz|.bz2|.lzma|.zst]}. The control member is small and
 * read once by {@link #open}; the data member is only decompressed by {@link #entries()} and {@link #read}, each a
 * single pass, because a kernel package's data.tar.xz is ~70 MB and costs seconds to inflate.
 *
 * <p>zstd members (Ubuntu's default since 21.10) are refused with an IOException: Commons Compress decodes zstd only
 * through the native zstd-jni library, and this reader stays pure Java.
 */
public final class DebPackage {

    /** ar(5): every archive starts with these 8 bytes. */
    private static final byte[] AR_MAGIC = "!<arch>\n".getBytes(StandardCharsets.US_ASCII);
    /** ar(5): each member has a 60-byte header, and its data is padded to an even length. */
    private static final int AR_HEADER_LENGTH = 60;

    private final Path deb;
    private final String dataMember;
    private final Map<String, String> control;
    private SortedMap<String, DebEntry> entries;

    private DebPackage(Path deb, String dataMember, Map<String, String> control) {
        this.deb = deb;
        this.dataMember = dataMember;
        this.control = control;
    }

    /**
     * Checks the ar magic, that every member lies within the file (so a truncated download fails here and not halfway
     * through a later {@link #read}), the {@code debian-binary} major version, and parses the control file.
     *
     * @throws IOException naming {@code deb} for anything malformed, truncated or unsupported
     */
    public static DebPackage open(Path deb) throws IOException {
        long fileSize = Files.size(deb);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(deb))) {
            byte[] magic = in.readNBytes(AR_MAGIC.length);
            if (!Arrays.equals(magic, AR_MAGIC)) {
                throw new IOException(deb + ": not a .deb: no ar archive magic \"!<arch>\\n\" at the start");
            }
        }
        String dataMember = null;
        Map<String, String> control = null;
        try (ArArchiveInputStream ar = new ArArchiveInputStream(new BufferedInputStream(Files.newInputStream(deb)))) {
            long memberOffset = AR_MAGIC.length;
            boolean first = true;
            for (ArArchiveEntry member; (member = ar.getNextEntry()) != null; first = false) {
                String name = memberName(member);
                long dataEnd = memberOffset + AR_HEADER_LENGTH + member.getLength();
                if (member.getLength() < 0 || dataEnd > fileSize) {
                    throw new IOException(deb + ": truncated: member " + name + " declares " + member.getLength()
                            + " bytes but the file ends at byte " + fileSize);
                }
                memberOffset = dataEnd + (member.getLength() & 1);
                if (first) {
                    if (!name.equals("debian-binary")) {
                        throw new IOException(deb + ": not a .deb: first member is " + name + ", not debian-binary");
                    }
                    checkFormatVersion(deb, readMember(deb, ar, member));
                } else if (name.startsWith("control.tar")) {
                    control = parseControl(deb, findControlFile(deb, name, readMember(deb, ar, member)));
                } else if (name.startsWith("data.tar")) {
                    dataMember = name;
                }
            }
        } catch (IOException e) {
            throw withFileName(deb, e);
        }
        if (control == null) {
            throw new IOException(deb + ": no control.tar member");
        }
        if (dataMember == null) {
            throw new IOException(deb + ": no data.tar member");
        }
        for (String required : new String[] {"Package", "Version", "Architecture"}) {
            if (!control.containsKey(required)) {
                throw new IOException(deb + ": control file has no " + required + " field");
            }
        }
        return new DebPackage(deb, dataMember, Collections.unmodifiableMap(control));
    }

    public String name() {
        return control.get("Package");
    }

    public String version() {
        return control.get("Version");
    }

    public String architecture() {
        return control.get("Architecture");
    }

    /**
     * The control file's fields in file order, names as written; a multi-line value (Description, Conffiles) keeps
     * its continuation lines verbatim, leading space included, joined by "\n".
     */
    public Map<String, String> control() {
        return control;
    }

    /**
     * Every member of data.tar but the root directory itself, by normalised path in byte-wise order. One pass over
     * data.tar the first time, cached after.
     *
     * @throws IOException for a corrupt or truncated data.tar, a path with "..", or a member that is neither file,
     *                     directory nor link
     */
    public synchronized SortedMap<String, DebEntry> entries() throws IOException {
        if (entries == null) {
            scanData(Set.of(), new HashMap<>());
        }
        return entries;
    }

    /**
     * The contents of the named regular files (hard links resolved to their target's content) in one pass over
     * data.tar. Names are normalised like {@link #entries()} keys, and the result is keyed by the names as given.
     *
     * <p>tar stores a hard link's content only at its target, which precedes it. If {@link #entries()} has not been
     * called yet, the target of a requested hard link is not known in advance; when it was not itself requested, a
     * second pass fetches it. After {@code entries()} the one pass always suffices.
     *
     * @throws IOException listing every name that is missing or not a regular file or hard link
     */
    public synchronized Map<String, byte[]> read(Collection<String> paths) throws IOException {
        Map<String, String> requested = new LinkedHashMap<>();
        for (String path : paths) {
            requested.put(path, normalise(path));
        }
        Set<String> wanted = new HashSet<>(requested.values());
        if (entries != null) {
            for (String path : requested.values()) {
                DebEntry entry = entries.get(path);
                if (entry != null && entry.type() == DebEntry.Type.HARDLINK) {
                    wanted.add(entry.linkTarget());
                }
            }
        }
        Map<String, byte[]> contents = new HashMap<>();
        scanData(wanted, contents);
        Set<String> targetsNotRetained = new HashSet<>();
        for (String path : requested.values()) {
            DebEntry entry = entries.get(path);
            if (entry != null && entry.type() == DebEntry.Type.HARDLINK && !contents.containsKey(entry.linkTarget())) {
                targetsNotRetained.add(entry.linkTarget());
            }
        }
        if (!targetsNotRetained.isEmpty()) {
            scanData(targetsNotRetained, contents);
        }

        Map<String, byte[]> result = new LinkedHashMap<>();
        Set<String> unreadable = new TreeSet<>(ArchivePaths.BYTEWISE);
        for (Map.Entry<String, String> request : requested.entrySet()) {
            DebEntry entry = entries.get(request.getValue());
            byte[] content = null;
            if (entry != null && entry.type() == DebEntry.Type.FILE) {
                content = contents.get(entry.path());
            } else if (entry != null && entry.type() == DebEntry.Type.HARDLINK) {
                content = contents.get(entry.linkTarget());
            }
            if (content == null) {
                unreadable.add(request.getKey() + (entry == null ? " (missing)" : " (" + entry.type() + ")"));
            } else {
                result.put(request.getKey(), content);
            }
        }
        if (!unreadable.isEmpty()) {
            throw new IOException(deb + ": not regular files in data.tar: " + String.join(", ", unreadable));
        }
        return result;
    }

    @Override
    public String toString() {
        return name() + "_" + version() + "_" + architecture() + " (" + deb + ")";
    }

    /**
     * One pass over data.tar: builds the entry cache if absent, and keeps the content of each regular file whose
     * path is in {@code wanted}.
     */
    private void scanData(Set<String> wanted, Map<String, byte[]> contents) throws IOException {
        SortedMap<String, DebEntry> scanned = new TreeMap<>(ArchivePaths.BYTEWISE);
        try (ArArchiveInputStream ar = new ArArchiveInputStream(new BufferedInputStream(Files.newInputStream(deb)))) {
            ArArchiveEntry member;
            while ((member = ar.getNextEntry()) != null && !memberName(member).equals(dataMember)) {
                // skipped: getNextEntry moves past the unread data of the previous member
            }
            if (member == null) {
                throw new IOException("member " + dataMember + " vanished since the package was opened");
            }
            TarArchiveInputStream tar = new TarArchiveInputStream(decompressor(dataMember, ar));
            for (TarArchiveEntry tarEntry; (tarEntry = tar.getNextEntry()) != null; ) {
                DebEntry entry = toDebEntry(tarEntry, scanned);
                if (entry == null) {
                    continue;
                }
                scanned.put(entry.path(), entry);
                if (entry.type() == DebEntry.Type.FILE && wanted.contains(entry.path())) {
                    byte[] content = tar.readAllBytes();
                    if (content.length != entry.size()) {
                        throw new IOException(dataMember + ": " + entry.path() + " truncated: " + content.length
                                + " of " + entry.size() + " bytes");
                    }
                    contents.put(entry.path(), content);
                }
            }
        } catch (IOException e) {
            throw withFileName(deb, e);
        }
        if (entries == null) {
            entries = Collections.unmodifiableSortedMap(scanned);
        }
    }

    /** Null for the archive root; hard links take their target's size, which tar itself records as 0. */
    private DebEntry toDebEntry(TarArchiveEntry tarEntry, Map<String, DebEntry> earlier) throws IOException {
        String path = normalise(tarEntry.getName());
        if (path.isEmpty()) {
            return null;
        }
        int mode = tarEntry.getMode() & 07777;
        if (tarEntry.isSymbolicLink()) {
            return new DebEntry(path, DebEntry.Type.SYMLINK, mode, 0, tarEntry.getLinkName());
        }
        if (tarEntry.isLink()) {
            String target = normalise(tarEntry.getLinkName());
            DebEntry targetEntry = earlier.get(target);
            if (targetEntry == null || targetEntry.type() != DebEntry.Type.FILE) {
                throw new IOException(dataMember + ": hard link " + path + " -> " + target
                        + " does not point to an earlier regular file");
            }
            return new DebEntry(path, DebEntry.Type.HARDLINK, mode, targetEntry.size(), target);
        }
        if (tarEntry.isDirectory()) {
            return new DebEntry(path, DebEntry.Type.DIRECTORY, mode, 0, null);
        }
        if (tarEntry.isFile()) {
            return new DebEntry(path, DebEntry.Type.FILE, mode, tarEntry.getSize(), null);
        }
        throw new IOException(dataMember + ": " + path + " is of tar type '" + (char) tarEntry.getLinkFlag()
                + "', not a file, directory or link");
    }

    private String normalise(String path) throws IOException {
        try {
            return ArchivePaths.normalise(path);
        } catch (IllegalArgumentException e) {
            throw new IOException(deb + ": " + e.getMessage(), e);
        }
    }

    /** GNU ar terminates member names with "/", BSD ar and dpkg-deb pad with spaces; either way the name is before. */
    private static String memberName(ArArchiveEntry member) {
        String name = member.getName().strip();
        return name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
    }

    private static byte[] readMember(Path deb, ArArchiveInputStream ar, ArArchiveEntry member) throws IOException {
        byte[] data = ar.readAllBytes();
        if (data.length != member.getLength()) {
            throw new IOException(deb + ": truncated: member " + memberName(member) + " has " + data.length + " of "
                    + member.getLength() + " bytes");
        }
        return data;
    }

    /** deb(5): "2.0\n"; dpkg accepts any 2.x and refuses other majors, and so does this. */
    private static void checkFormatVersion(Path deb, byte[] debianBinary) throws IOException {
        String version = new String(debianBinary, StandardCharsets.US_ASCII).strip();
        if (!version.matches("2\\.\\d+")) {
            throw new IOException(deb + ": unsupported .deb format version \"" + version + "\" (expected 2.x)");
        }
    }

    /** The decompressor deb(5) implies by the member name's suffix. */
    private static InputStream decompressor(String member, InputStream in) throws IOException {
        if (member.endsWith(".tar")) {
            return in;
        } else if (member.endsWith(".tar.xz")) {
            return new XZCompressorInputStream(in);
        } else if (member.endsWith(".tar.gz")) {
            return new GzipCompressorInputStream(in);
        } else if (member.endsWith(".tar.bz2")) {
            return new BZip2CompressorInputStream(in);
        } else if (member.endsWith(".tar.lzma")) {
            return new LZMACompressorInputStream(in);
        } else if (member.endsWith(".tar.zst")) {
            throw new IOException("member " + member + ": zstd compression is unsupported (Commons Compress decodes"
                    + " zstd only through the native zstd-jni library)");
        }
        throw new IOException("member " + member + ": unknown compression");
    }

    private static byte[] findControlFile(Path deb, String member, byte[] controlTar) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(decompressor(member, new ByteArrayInputStream(controlTar)));
        for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
            if (entry.isFile() && ArchivePaths.normalise(entry.getName()).equals("control")) {
                byte[] control = tar.readAllBytes();
                if (control.length != entry.getSize()) {
                    throw new IOException(deb + ": " + member + ": control file truncated");
                }
                return control;
            }
        }
        throw new IOException(deb + ": " + member + " has no control file");
    }

    /**
     * deb-control(5) / deb822(5): "Field: value" lines, a line starting with space or tab continues the previous
     * field. A binary package's control file is a single paragraph; blank lines may only trail it.
     */
    private static Map<String, String> parseControl(Path deb, byte[] controlFile) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        String field = null;
        boolean paragraphEnded = false;
        String[] lines = new String(controlFile, StandardCharsets.UTF_8).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank()) {
                paragraphEnded = field != null;
                continue;
            }
            if (paragraphEnded) {
                throw new IOException(deb + ": control file line " + (i + 1) + ": a second paragraph");
            }
            if (line.startsWith(" ") || line.startsWith("\t")) {
                if (field == null) {
                    throw new IOException(deb + ": control file line " + (i + 1) + ": continuation without a field");
                }
                fields.put(field, fields.get(field) + "\n" + line);
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException(deb + ": control file line " + (i + 1) + ": not \"Field: value\": " + line);
            }
            field = line.substring(0, colon);
            if (fields.put(field, line.substring(colon + 1).strip()) != null) {
                throw new IOException(deb + ": control file line " + (i + 1) + ": field " + field + " repeated");
            }
        }
        return fields;
    }

    private static IOException withFileName(Path deb, IOException e) {
        String message = String.valueOf(e.getMessage());
        return message.contains(deb.toString()) ? e : new IOException(deb + ": " + message, e);
    }
}
