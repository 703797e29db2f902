package io.stubdm.backends.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Creates an empty qcow2 v3 image over a backing file, what {@code qemu-img create -f qcow2 -b BASE -F FMT} makes:
 * every read falls through to the backing file until the guest writes, and writes land in the overlay only. A
 * boot test runs its guest on one, so the image under test is never modified.
 *
 * <p>Layout (QEMU docs/interop/qcow2.txt), with 64 KiB clusters: cluster 0 holds the header, the backing-format
 * extension and the backing file's name; cluster 1 the refcount table; cluster 2 its one refcount block (16-bit
 * refcounts, enough for the first 2 GiB of the overlay; the backend adds blocks as it grows); then the L1 table,
 * all zeros. The header and tables are written in full before the file gets its final name, so a crash leaves no
 * half-made overlay under that name.
 */
public final class Qcow2Overlay {
    static final int CLUSTER_BITS = 16;
    static final int CLUSTER_SIZE = 1 << CLUSTER_BITS;
    private static final int HEADER_LENGTH = 104;
    private static final int EXT_BACKING_FORMAT = 0xe2792aca;
    private static final int REFCOUNT_ORDER = 4;
    /** Bytes of guest disk one L1 entry covers: one L2 table of CLUSTER_SIZE / 8 entries. */
    private static final long L1_ENTRY_SPAN = (long) CLUSTER_SIZE * (CLUSTER_SIZE / 8);

    private Qcow2Overlay() {
    }

    /**
     * Writes {@code overlay} over {@code backing} ({@code backingFormat} "raw" or "qcow2"), of the backing file's
     * virtual size. The backing file is named by its absolute path, so the overlay can live anywhere.
     *
     * @throws FileAlreadyExistsException if {@code overlay} exists (an overlay with a guest's writes is never replaced)
     * @throws IOException naming the backing file when it cannot be read or sized
     */
    public static void create(Path overlay, Path backing, String backingFormat) throws IOException {
        Path base = backing.toAbsolutePath().normalize();
        long size;
        switch (backingFormat) {
            case "raw":
                size = Files.size(base);
                break;
            case "qcow2":
                size = Qcow2Header.read(base).size;
                break;
            default:
                throw new IllegalArgumentException("backing format " + backingFormat + ": raw or qcow2");
        }
        if (size <= 0) {
            throw new IOException(base + ": an empty image cannot back an overlay");
        }
        if (Files.exists(overlay)) {
            throw new FileAlreadyExistsException(overlay.toString(), null, "an overlay is never overwritten");
        }
        byte[] name = base.toString().getBytes(StandardCharsets.UTF_8);
        byte[] format = backingFormat.getBytes(StandardCharsets.US_ASCII);
        int extLength = 8 + pad8(format.length) + 8; // the backing-format extension, then the end marker
        int nameOffset = HEADER_LENGTH + extLength;
        if (nameOffset + name.length > CLUSTER_SIZE || name.length > 1023) {
            throw new IOException(base + ": the backing file's path is too long for a qcow2 header");
        }
        long l1Entries = (size + L1_ENTRY_SPAN - 1) / L1_ENTRY_SPAN;
        int l1Clusters = (int) ((l1Entries * 8 + CLUSTER_SIZE - 1) / CLUSTER_SIZE);
        long refcountTable = CLUSTER_SIZE;
        long refcountBlock = 2L * CLUSTER_SIZE;
        long l1Table = 3L * CLUSTER_SIZE;
        int clusters = 3 + l1Clusters;

        ByteBuffer h = ByteBuffer.allocate(CLUSTER_SIZE).order(ByteOrder.BIG_ENDIAN);
        h.putInt(0, Qcow2Header.MAGIC);
        h.putInt(4, 3);
        h.putLong(8, nameOffset);
        h.putInt(16, name.length);
        h.putInt(20, CLUSTER_BITS);
        h.putLong(24, size);
        h.putInt(32, 0); // no encryption
        h.putInt(36, (int) l1Entries);
        h.putLong(40, l1Table);
        h.putLong(48, refcountTable);
        h.putInt(56, 1);
        h.putInt(60, 0); // no snapshots
        h.putLong(64, 0);
        h.putLong(72, 0); // incompatible features: none (clean)
        h.putLong(80, 0);
        h.putLong(88, 0);
        h.putInt(96, REFCOUNT_ORDER);
        h.putInt(100, HEADER_LENGTH);
        h.putInt(HEADER_LENGTH, EXT_BACKING_FORMAT);
        h.putInt(HEADER_LENGTH + 4, format.length);
        h.put(HEADER_LENGTH + 8, format);
        // the end-of-extensions marker (type 0, length 0) is already zeros
        h.put(nameOffset, name);

        ByteBuffer table = ByteBuffer.allocate(CLUSTER_SIZE).order(ByteOrder.BIG_ENDIAN);
        table.putLong(0, refcountBlock);
        ByteBuffer block = ByteBuffer.allocate(CLUSTER_SIZE).order(ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < clusters; i++) {
            block.putShort(2 * i, (short) 1);
        }

        Path tmp = overlay.resolveSibling(overlay.getFileName() + ".creating");
        Files.deleteIfExists(tmp);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeFully(ch, h, 0);
            writeFully(ch, table, refcountTable);
            writeFully(ch, block, refcountBlock);
            writeFully(ch, ByteBuffer.allocate(l1Clusters * CLUSTER_SIZE), l1Table);
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            Files.createLink(overlay, tmp); // fails if someone made the name meanwhile, unlike a rename
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static int pad8(int n) {
        return (n + 7) & ~7;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        long at = position;
        while (b.hasRemaining()) {
            at += ch.write(b, at);
        }
    }
}
