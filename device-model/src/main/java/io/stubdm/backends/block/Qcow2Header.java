package io.stubdm.backends.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A qcow2 header (QEMU docs/interop/qcow2.txt, "Header" and "Header extensions"), parsed and checked before
 * anything else of the image is touched. Every refusal names the file and the header field.
 */
final class Qcow2Header {
    static final int MAGIC = 0x514649fb; // "QFI\xfb"
    private static final int MIN_CLUSTER_BITS = 9;
    /** QEMU's implementation limit (2 MiB clusters); larger ones exist nowhere in practice. */
    static final int MAX_CLUSTER_BITS = 21;
    private static final int V2_HEADER_LENGTH = 72;
    private static final int V3_MIN_HEADER_LENGTH = 104;
    /** QEMU's limits on the L1 and refcount tables (32 MiB and 8 MiB): larger ones mean a corrupt header. */
    private static final long MAX_L1_BYTES = 32L << 20;
    static final long MAX_REFCOUNT_TABLE_BYTES = 8L << 20;
    private static final int MAX_SNAPSHOTS = 65536;
    private static final int MAX_BACKING_NAME = 1023;

    // Offsets of the header fields stubdm rewrites.
    static final int REFCOUNT_TABLE_OFFSET_FIELD = 48;
    static final int AUTOCLEAR_FEATURES_FIELD = 88;

    private static final int EXT_END = 0;
    private static final int EXT_BACKING_FORMAT = 0xe2792aca;
    private static final int EXT_FEATURE_NAMES = 0x6803f857;

    static final long INCOMPAT_DIRTY = 1L;
    static final long INCOMPAT_CORRUPT = 1L << 1;
    private static final String[] INCOMPATIBLE_NAMES = {
        "dirty", "corrupt", "external data file", "compression type", "extended L2 entries"};

    final Path file;
    final int version;
    final int clusterBits;
    final long size;
    final int l1Size;
    final long l1Offset;
    final long refcountTableOffset;
    final int refcountTableClusters;
    final int snapshotCount;
    final long snapshotsOffset;
    final long incompatibleFeatures;
    final long autoclearFeatures;
    final int refcountOrder;
    /** Null when the image has no backing file. */
    final String backingFile;
    /** The backing file's format from the header extension; null when the image does not say. */
    final String backingFormat;

    private Qcow2Header(Path file, ByteBuffer h, long fileSize) throws IOException {
        this.file = file;
        if (h.limit() < V2_HEADER_LENGTH) {
            throw bad("file size", fileSize + " bytes is too short for a qcow2 header");
        }
        int magic = h.getInt(0);
        if (magic != MAGIC) {
            throw bad("magic", String.format("0x%08x, not QFI\\xfb: not a qcow2 image", magic));
        }
        version = h.getInt(4);
        if (version != 2 && version != 3) {
            throw bad("version", version + " (stubdm reads qcow2 versions 2 and 3)");
        }
        clusterBits = h.getInt(20);
        if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
            throw bad("cluster_bits", clusterBits + " (must be " + MIN_CLUSTER_BITS + ".." + MAX_CLUSTER_BITS + ")");
        }
        long clusterSize = 1L << clusterBits;
        int headerLength = V2_HEADER_LENGTH;
        if (version == 3) {
            if (h.limit() < V3_MIN_HEADER_LENGTH) {
                throw bad("file size", fileSize + " bytes is too short for a version 3 header");
            }
            headerLength = h.getInt(100);
            if (headerLength < V3_MIN_HEADER_LENGTH || headerLength % 8 != 0 || headerLength > clusterSize
                    || headerLength > h.limit()) {
                throw bad("header_length", headerLength + " (must be a multiple of 8 from " + V3_MIN_HEADER_LENGTH
                        + " to the cluster size, inside the file)");
            }
            incompatibleFeatures = h.getLong(72);
            autoclearFeatures = h.getLong(88);
            refcountOrder = h.getInt(96);
        } else {
            incompatibleFeatures = 0;
            autoclearFeatures = 0;
            refcountOrder = 4; // implied for version 2
        }
        if (refcountOrder < 0 || refcountOrder > 6) {
            throw bad("refcount_order", refcountOrder + " (must be 0..6)");
        }
        int cryptMethod = h.getInt(32);
        if (cryptMethod != 0) {
            throw bad("crypt_method", cryptMethod + " (" + (cryptMethod == 1 ? "AES" : cryptMethod == 2 ? "LUKS"
                    : "unknown") + " encryption): encrypted images are not supported");
        }
        size = h.getLong(24);
        if (size < 0) {
            throw bad("size", Long.toUnsignedString(size) + " bytes is beyond what qcow2 can address");
        }
        l1Size = h.getInt(36);
        l1Offset = h.getLong(40);
        long guestClustersPerL2 = clusterSize / 8;
        long neededL1 = ceilDiv(ceilDiv(size, clusterSize), guestClustersPerL2);
        if (l1Size < 0 || l1Size * 8L > MAX_L1_BYTES) {
            throw bad("l1_size", Integer.toUnsignedString(l1Size) + " entries is larger than qcow2 allows");
        }
        if (l1Size < neededL1) {
            throw bad("l1_size", l1Size + " entries cannot map a " + size + "-byte disk (needs " + neededL1 + ")");
        }
        checkTable("l1_table_offset", l1Offset, l1Size * 8L, clusterSize, fileSize);
        refcountTableOffset = h.getLong(48);
        refcountTableClusters = h.getInt(56);
        if (refcountTableClusters <= 0 || refcountTableClusters * clusterSize > MAX_REFCOUNT_TABLE_BYTES) {
            throw bad("refcount_table_clusters", Integer.toUnsignedString(refcountTableClusters)
                    + " (must be 1 to " + MAX_REFCOUNT_TABLE_BYTES / clusterSize + ")");
        }
        checkTable("refcount_table_offset", refcountTableOffset, refcountTableClusters * clusterSize, clusterSize,
                fileSize);
        snapshotCount = h.getInt(60);
        snapshotsOffset = h.getLong(64);
        if (snapshotCount < 0 || snapshotCount > MAX_SNAPSHOTS) {
            throw bad("nb_snapshots", Integer.toUnsignedString(snapshotCount) + " (at most " + MAX_SNAPSHOTS + ")");
        }
        if (snapshotCount > 0) {
            checkTable("snapshots_offset", snapshotsOffset, 1, clusterSize, fileSize);
        }

        Map<Integer, ByteBuffer> extensions = extensions(h, headerLength, (int) Math.min(clusterSize, h.limit()));
        if (version == 3) {
            checkIncompatibleFeatures(featureNames(extensions.get(EXT_FEATURE_NAMES)));
            if (headerLength > 104 && h.get(104) != 0) {
                throw bad("compression_type", h.get(104) + " without the compression type feature bit");
            }
        }

        long backingOffset = h.getLong(8);
        if (backingOffset != 0) {
            int backingLength = h.getInt(16);
            if (backingLength <= 0 || backingLength > MAX_BACKING_NAME) {
                throw bad("backing_file_size", backingLength + " (must be 1.." + MAX_BACKING_NAME + ")");
            }
            if (backingOffset < 0 || backingOffset + backingLength > Math.min(clusterSize, h.limit())) {
                throw bad("backing_file_offset", String.format("0x%x: the name must lie inside the first cluster",
                        backingOffset));
            }
            backingFile = string(h.slice((int) backingOffset, backingLength));
            ByteBuffer formatName = extensions.get(EXT_BACKING_FORMAT);
            backingFormat = formatName == null ? null : string(formatName);
        } else {
            backingFile = null;
            backingFormat = null;
        }
    }

    /**
     * Parses the header at the start of {@code firstBytes} (as much of the image's start as is there, up to the
     * largest cluster size).
     *
     * @throws IOException naming the file and the field that makes the image unusable
     */
    static Qcow2Header parse(Path file, ByteBuffer firstBytes, long fileSize) throws IOException {
        return new Qcow2Header(file, firstBytes, fileSize);
    }

    /** Reads and parses {@code file}'s header (read-only). */
    static Qcow2Header read(Path file) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            long fileSize = ch.size();
            ByteBuffer first = ByteBuffer.allocate((int) Math.min(fileSize, 1L << MAX_CLUSTER_BITS));
            FileIo.readFully(ch, first, 0);
            return parse(file, first.flip(), fileSize);
        }
    }

    long clusterSize() {
        return 1L << clusterBits;
    }

    private void checkTable(String field, long offset, long length, long clusterSize, long fileSize)
            throws IOException {
        if (offset <= 0 || offset % clusterSize != 0) {
            throw bad(field, String.format("0x%x is not a cluster-aligned offset after the header", offset));
        }
        if (offset > fileSize - length) {
            throw bad(field, String.format("0x%x: the table (%d bytes) extends beyond the end of the file "
                    + "(%d bytes)", offset, length, fileSize));
        }
    }

    /** Refuses any incompatible feature stubdm does not implement, except dirty and corrupt (see Qcow2Backend). */
    private void checkIncompatibleFeatures(Map<Integer, String> imageNames) throws IOException {
        long refused = incompatibleFeatures & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
        if (refused == 0) {
            return;
        }
        List<String> names = new ArrayList<>();
        for (int bit = 0; bit < 64; bit++) {
            if ((refused & (1L << bit)) != 0) {
                names.add(incompatibleFeatureName(bit, imageNames) + " (bit " + bit + ")");
            }
        }
        throw bad("incompatible_features", String.format("0x%x: %s not supported", incompatibleFeatures,
                String.join(", ", names)));
    }

    private static String incompatibleFeatureName(int bit, Map<Integer, String> imageNames) {
        if (bit < INCOMPATIBLE_NAMES.length) {
            return "'" + INCOMPATIBLE_NAMES[bit] + "'";
        }
        // A feature newer than stubdm: the image's feature name table may say what it is.
        String name = imageNames.get(bit);
        return name != null ? "'" + name + "'" : "unknown feature";
    }

    /** The header extensions, by type; checked to stay inside the first cluster. */
    private Map<Integer, ByteBuffer> extensions(ByteBuffer h, int start, int end) throws IOException {
        Map<Integer, ByteBuffer> found = new HashMap<>();
        int position = start;
        while (position + 8 <= end) {
            int type = h.getInt(position);
            if (type == EXT_END) {
                break;
            }
            long length = Integer.toUnsignedLong(h.getInt(position + 4));
            if (position + 8 + length > end) {
                throw bad("header extension", String.format("0x%08x at byte %d is %d bytes long, past the end of "
                        + "the first cluster", type, position, length));
            }
            found.putIfAbsent(type, h.slice(position + 8, (int) length));
            position += 8 + (int) ((length + 7) & ~7L);
        }
        return found;
    }

    /** Incompatible feature names by bit number, from the feature name table extension. */
    private static Map<Integer, String> featureNames(ByteBuffer table) {
        Map<Integer, String> names = new HashMap<>();
        if (table == null) {
            return names;
        }
        for (int entry = 0; entry + 48 <= table.limit(); entry += 48) {
            if (table.get(entry) == 0) {
                String name = string(table.slice(entry + 2, 46));
                int nul = name.indexOf('\0');
                names.put(table.get(entry + 1) & 0xff, nul < 0 ? name : name.substring(0, nul));
            }
        }
        return names;
    }

    private static String string(ByteBuffer bytes) {
        byte[] b = new byte[bytes.remaining()];
        bytes.duplicate().get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static long ceilDiv(long a, long b) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    private IOException bad(String field, String what) {
        return new IOException(file + ": unusable qcow2 header: " + field + " " + what);
    }
}
