package io.stubdm.runtime.stubdom.image;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipParameters;

/**
 * A gzip-compressed newc cpio archive the way the Linux kernel unpacks an initramfs, built so that the same inputs
 * always give the same bytes.
 *
 * <p>Format: newc cpio, man 5 cpio and Linux Documentation/driver-api/early-userspace/buffer-format.rst: per entry a
 * 110-byte ASCII header ("070701" and thirteen 8-digit hex fields), the NUL-terminated name padded so that header
 * plus name is a multiple of 4, then the data padded to a multiple of 4; a final entry named "TRAILER!!!".
 *
 * <p>Reproducibility: everything that would vary between builds is fixed. Entries are written in byte-wise path order
 * whatever the order they were added in; mtime is the constructor's for all, owner root:root, inode numbers count
 * 1, 2, 3... in output order, and the gzip header carries mtime 0 and no file name.
 *
 * <p>Parent directories that were not added are created with mode 0755, because the kernel's unpacker (init/initramfs.c)
 * does not create them and would drop a file whose directory does not exist.
 */
public final class ReproducibleInitramfs {

    private static final String NEWC_MAGIC = "070701";
    private static final int NEWC_HEADER_LENGTH = 110;
    private static final String TRAILER_NAME = "TRAILER!!!";
    private static final int IMPLIED_DIRECTORY_MODE = 0755;

    /** File-type bits of st_mode (inode(7)), which newc stores together with the permission bits. */
    private enum Kind {
        FILE(0100000, "file"), DIRECTORY(0040000, "dir"), SYMLINK(0120000, "symlink"), CHAR_DEVICE(0020000, "chardev");

        final int typeBits;
        final String word;

        Kind(int typeBits, String word) {
            this.typeBits = typeBits;
            this.word = word;
        }
    }

    /**
     * One entry to write. A file's content is either {@code bytes} or {@code source} (read when writing,
     * {@code size} bytes long); a symlink's target is its content, as newc stores it.
     */
    private record Node(Kind kind, int mode, byte[] bytes, Path source, long size, int major, int minor) {

        long dataLength() {
            return kind == Kind.FILE || kind == Kind.SYMLINK ? size : 0;
        }

        String symlinkTarget() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private final long mtimeSeconds;
    private final TreeMap<String, Node> nodes = new TreeMap<>(ArchivePaths.BYTEWISE);

    /** @param mtimeSeconds the mtime every entry gets, e.g. SOURCE_DATE_EPOCH; 0 to 0xFFFFFFFF as newc stores 8 hex digits */
    public ReproducibleInitramfs(long mtimeSeconds) {
        requireHexField("mtime", mtimeSeconds);
        this.mtimeSeconds = mtimeSeconds;
    }

    public void directory(String path, int mode) {
        add(path, new Node(Kind.DIRECTORY, permissions(path, mode), null, null, 0, 0, 0));
    }

    public void file(String path, int mode, byte[] content) {
        byte[] copy = content.clone();
        add(path, new Node(Kind.FILE, permissions(path, mode), copy, null, copy.length, 0, 0));
    }

    /**
     * A file whose content is read from {@code source} by {@link #writeTo}. Its size is taken now, for
     * {@link #uncompressedSize()} and the listing, and checked again when it is read.
     *
     * @throws UncheckedIOException if {@code source} cannot be examined
     */
    public void file(String path, int mode, Path source) {
        long size;
        try {
            size = Files.size(source);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot read the size of " + source, e);
        }
        add(path, new Node(Kind.FILE, permissions(path, mode), null, source, size, 0, 0));
    }

    public void symlink(String path, String target) {
        if (target.isEmpty() || target.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(path + ": symlink target must be non-empty and without NUL bytes");
        }
        byte[] bytes = target.getBytes(StandardCharsets.UTF_8);
        add(path, new Node(Kind.SYMLINK, 0777, bytes, null, bytes.length, 0, 0));
    }

    /** A character device, e.g. dev/console 5:1, which the kernel opens for init's stdio before devtmpfs exists. */
    public void charDevice(String path, int mode, int major, int minor) {
        requireHexField(path + ": major", major);
        requireHexField(path + ": minor", minor);
        add(path, new Node(Kind.CHAR_DEVICE, permissions(path, mode), null, null, 0, major, minor));
    }

    /**
     * Writes the archive, gzip level 9 with a fixed header; {@code out} is flushed, not closed.
     *
     * @throws IOException from {@code out}, or if a file added from a {@link Path} cannot be read or changed size
     */
    public void writeTo(OutputStream out) throws IOException {
        GzipParameters gzip = new GzipParameters();
        gzip.setCompressionLevel(9);
        gzip.setModificationTime(0);
        try (OutputStream compressed = new GzipCompressorOutputStream(new UnclosedOutputStream(out), gzip)) {
            long inode = 1;
            for (Map.Entry<String, Node> entry : plan().entrySet()) {
                Node node = entry.getValue();
                writeEntry(compressed, entry.getKey(), node, inode++, content(entry.getKey(), node));
            }
            writeEntry(compressed, TRAILER_NAME, new Node(Kind.FILE, 0, new byte[0], null, 0, 0, 0), 0, new byte[0]);
        }
    }

    /** The length of the cpio archive before compression. */
    public long uncompressedSize() {
        long total = 0;
        for (Map.Entry<String, Node> entry : plan().entrySet()) {
            total += entryLength(entry.getKey(), entry.getValue().dataLength());
        }
        return total + entryLength(TRAILER_NAME, 0);
    }

    /** The number of entries written, implied parent directories included, the trailer not. */
    public int size() {
        return plan().size();
    }

    /** For a manifest: path to "file 0755 1234", "dir 0755", "symlink -> target" or "chardev 0600 5:1". */
    public SortedMap<String, String> listing() {
        SortedMap<String, String> listing = new TreeMap<>(ArchivePaths.BYTEWISE);
        for (Map.Entry<String, Node> entry : plan().entrySet()) {
            Node node = entry.getValue();
            String mode = String.format(Locale.ROOT, "%04o", node.mode());
            listing.put(entry.getKey(), switch (node.kind()) {
                case FILE -> node.kind().word + " " + mode + " " + node.size();
                case DIRECTORY -> node.kind().word + " " + mode;
                case SYMLINK -> node.kind().word + " -> " + node.symlinkTarget();
                case CHAR_DEVICE -> node.kind().word + " " + mode + " " + node.major() + ":" + node.minor();
            });
        }
        return Collections.unmodifiableSortedMap(listing);
    }

    private void add(String path, Node node) {
        String normalised = ArchivePaths.normalise(path);
        if (normalised.isEmpty()) {
            throw new IllegalArgumentException("\"" + path + "\" names the archive root, not an entry");
        }
        for (String ancestor = ArchivePaths.parent(normalised); !ancestor.isEmpty();
                ancestor = ArchivePaths.parent(ancestor)) {
            Node existing = nodes.get(ancestor);
            if (existing != null && existing.kind() != Kind.DIRECTORY) {
                throw new IllegalArgumentException(normalised + ": parent " + ancestor + " is a "
                        + existing.kind().word + ", not a directory");
            }
        }
        // '0' follows '/' in ASCII, so this range holds exactly the paths below normalised.
        if (node.kind() != Kind.DIRECTORY && !nodes.subMap(normalised + "/", normalised + "0").isEmpty()) {
            throw new IllegalArgumentException(normalised + ": already a directory holding "
                    + nodes.subMap(normalised + "/", normalised + "0").firstKey() + ", cannot be a " + node.kind().word);
        }
        Node existing = nodes.putIfAbsent(normalised, node);
        if (existing != null && !sameEntry(normalised, existing, node)) {
            throw new IllegalArgumentException(normalised + ": added twice with different type, mode or content ("
                    + describe(existing) + " vs " + describe(node) + ")");
        }
    }

    private static String describe(Node node) {
        String what = node.kind().word + " " + String.format(Locale.ROOT, "%04o", node.mode());
        return node.source() != null ? what + " from " + node.source() : what;
    }

    private static boolean sameEntry(String path, Node a, Node b) {
        if (a.kind() != b.kind() || a.mode() != b.mode() || a.major() != b.major() || a.minor() != b.minor()
                || a.size() != b.size()) {
            return false;
        }
        if (Objects.equals(a.source(), b.source()) && a.source() != null) {
            return true;
        }
        try {
            return Arrays.equals(content(path, a), content(path, b));
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot compare the two contents added", e);
        }
    }

    /** The explicit entries plus every missing parent directory, in output order. */
    private SortedMap<String, Node> plan() {
        TreeMap<String, Node> plan = new TreeMap<>(nodes);
        for (String path : nodes.keySet()) {
            for (String parent = ArchivePaths.parent(path); !parent.isEmpty(); parent = ArchivePaths.parent(parent)) {
                plan.putIfAbsent(parent, new Node(Kind.DIRECTORY, IMPLIED_DIRECTORY_MODE, null, null, 0, 0, 0));
            }
        }
        return plan;
    }

    private static byte[] content(String path, Node node) throws IOException {
        if (node.source() == null) {
            return node.bytes() == null ? new byte[0] : node.bytes();
        }
        byte[] content = Files.readAllBytes(node.source());
        if (content.length != node.size()) {
            throw new IOException(path + ": " + node.source() + " is " + content.length + " bytes now, "
                    + node.size() + " when it was added");
        }
        return content;
    }

    private void writeEntry(OutputStream out, String name, Node node, long inode, byte[] data) throws IOException {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        StringBuilder header = new StringBuilder(NEWC_HEADER_LENGTH).append(NEWC_MAGIC);
        boolean trailer = name.equals(TRAILER_NAME);
        long[] fields = {
            inode,
            trailer ? 0 : node.kind().typeBits | node.mode(),
            0, // uid
            0, // gid
            node.kind() == Kind.DIRECTORY ? 2 : 1, // nlink: a directory's "." and its entry in the parent
            trailer ? 0 : mtimeSeconds,
            data.length,
            0, 0, // devmajor, devminor: the device holding the file, meaningless here
            node.major(), node.minor(), // rdevmajor, rdevminor: what a device node is
            nameBytes.length,
            0, // check: only the "070702" crc format uses it
        };
        for (long field : fields) {
            requireHexField(name, field);
            header.append(String.format(Locale.ROOT, "%08X", field));
        }
        out.write(header.toString().getBytes(StandardCharsets.US_ASCII));
        out.write(nameBytes);
        out.write(new byte[padding(NEWC_HEADER_LENGTH + nameBytes.length)]);
        out.write(data);
        out.write(new byte[padding(data.length)]);
    }

    private static long entryLength(String name, long dataLength) {
        long headerAndName = NEWC_HEADER_LENGTH + name.getBytes(StandardCharsets.UTF_8).length + 1;
        return headerAndName + padding(headerAndName) + dataLength + padding(dataLength);
    }

    /** newc aligns both the name's end and the data's end to 4 bytes. */
    private static int padding(long length) {
        return (int) (-length & 3);
    }

    private static int permissions(String path, int mode) {
        if ((mode & ~07777) != 0) {
            throw new IllegalArgumentException(path + ": mode " + Integer.toOctalString(mode)
                    + " has bits beyond the permission bits 07777");
        }
        return mode;
    }

    private static void requireHexField(String what, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(what + " " + value + " does not fit newc's 8 hex digits");
        }
    }

    /** Lets the gzip stream be closed (which ends its Deflater) while the caller keeps {@code out} open. */
    private static final class UnclosedOutputStream extends OutputStream {
        private final OutputStream out;

        UnclosedOutputStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
