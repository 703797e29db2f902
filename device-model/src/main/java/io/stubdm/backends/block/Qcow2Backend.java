package io.stubdm.backends.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A qcow2 image, versions 2 and 3 (QEMU docs/interop/qcow2.txt), read and written: L1/L2 mapping through an L2
 * cache, clusters allocated at the end of the file with 16-bit refcounts, copy-on-write of partly written
 * clusters from the backing file, from zeros or from the cluster being replaced, zero clusters, compressed
 * clusters (read; a write gives the guest cluster a fresh one), internal snapshots left intact (shared clusters
 * and L2 tables are copied before a write), and backing files (raw or qcow2, read-only, relative to the image's
 * directory). Encryption, external data files, extended L2 entries and zstd compression are refused at open.
 *
 * <h2>Write ordering</h2>
 * Metadata changes stay in memory (L1 entries, L2 tables, refcount blocks) until a write-back: on a guest flush,
 * on close, after every write under a write-through cache mode, and when more tables are dirty than the cache
 * holds. Guest data goes to its cluster at once. A write-back goes:
 * <ol>
 *   <li>refcount increments (blocks; then new table entries, or a grown table and the header fields naming it);</li>
 *   <li>barrier: new data clusters, and the refcounts that count them, are on disk;</li>
 *   <li>L2 tables;</li>
 *   <li>barrier, if the L1 table changed: new L2 tables are on disk;</li>
 *   <li>L1 entries;</li>
 *   <li>barrier, if clusters lost references: no reference to them remains on disk;</li>
 *   <li>refcount decrements.</li>
 * </ol>
 * A reference is only ever written after what it points at, and a refcount rises before any reference to its
 * cluster appears and falls after the last one has gone. Whichever writes a crash keeps, every reference on disk
 * therefore points at written data whose refcount counts it; the worst outcome is a cluster with a refcount and no
 * reference, which {@code qemu-img check} reports as leaked and {@code -r leaks} reclaims. (Putting refcounts after
 * L1 and L2 would instead risk a referenced cluster with refcount 0, which the next allocation would hand out
 * twice.) Writes the guest has not flushed may be lost, as on a disk with a volatile write cache. The dirty bit and
 * lazy refcounts are not used.
 *
 * <h2>Corrupt metadata</h2>
 * Header problems fail the open, naming the field. Problems met later (an L1 or L2 entry with reserved bits, an
 * offset that is misaligned or beyond the end of the file, a cluster marked as used once whose refcount says
 * otherwise, an in-place write that would land on the image's own metadata) fail that request with a message and
 * change nothing.
 */
public final class Qcow2Backend extends ThreadedBlockBackend {
    /** Metadata cache size: L2 tables for 8 GiB of guest disk with the default 64 KiB clusters. */
    static final int DEFAULT_CACHE_BYTES = 1 << 20;
    private static final int MAX_BACKING_CHAIN = 16;

    private static final long OFLAG_COPIED = 1L << 63;
    private static final long OFLAG_COMPRESSED = 1L << 62;
    private static final long OFLAG_ZERO = 1L;
    /** Bits 9-55: the host offset in L1 entries and standard L2 entries. */
    private static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    /** L1 entry bits 0-8 and 56-62. */
    private static final long L1E_RESERVED = 0x7f00_0000_0000_01ffL;
    /** Standard cluster descriptor bits 1-8 and 56-61. */
    private static final long L2E_RESERVED = 0x3f00_0000_0000_01feL;

    /** What an L2 entry says about its guest cluster. */
    private enum Kind { UNALLOCATED, ZERO, DATA, COMPRESSED }

    /** A stretch of the guest disk mapped the same way; {@code host} is where DATA or COMPRESSED bytes start. */
    private record Run(Kind kind, long host, long compressedEnd, int length) {
    }

    private static final class L2Table {
        final long offset;
        final long[] entries;
        boolean dirty;

        L2Table(long offset, long[] entries) {
            this.offset = offset;
            this.entries = entries;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final Qcow2Header header;
    private final int clusterBits;
    private final long clusterSize;
    /** log2 of the entries in one L2 table. */
    private final int l2Bits;
    private final long fileSizeAtOpen;
    private final ThreadedBlockBackend backing;
    private final Qcow2Refcounts.Barrier barrier;

    // Guarded by metadataLock. The refcounts and the metadata set exist only when the image is writable.
    private final ReentrantLock metadataLock = new ReentrantLock();
    private final long[] l1;
    private final BitSet dirtyL1 = new BitSet();
    private final LinkedHashMap<Long, L2Table> l2Cache = new LinkedHashMap<>(16, 0.75f, true);
    private final int l2CacheCapacity;
    private int dirtyL2Tables;
    private final Qcow2Refcounts refcounts;
    /** Clusters holding the header, L1, L2 and refcount tables and snapshots, which guest data must never overwrite. */
    private final Set<Long> metadataClusters;

    // The last compressed cluster read: sector-sized guest reads would otherwise inflate it again and again.
    private final Object decompressedLock = new Object();
    private long decompressedStart;
    private byte[] decompressed;

    private Qcow2Backend(Qcow2Header header, FileChannel channel, long[] l1, Qcow2Refcounts refcounts,
                         Set<Long> metadataClusters, ThreadedBlockBackend backing, long fileSize, boolean readOnly,
                         DriveSpec.Cache cache, Executor completions, int cacheBytes, Qcow2Refcounts.Barrier barrier) {
        super(header.file.getFileName().toString(), header.size & ~511L, readOnly, cache, completions);
        this.file = header.file;
        this.channel = channel;
        this.header = header;
        this.clusterBits = header.clusterBits;
        this.clusterSize = header.clusterSize();
        this.l2Bits = clusterBits - 3;
        this.l1 = l1;
        this.refcounts = refcounts;
        this.metadataClusters = metadataClusters;
        this.backing = backing;
        this.fileSizeAtOpen = fileSize;
        this.barrier = barrier;
        this.l2CacheCapacity = Math.max(4, cacheBytes / (int) clusterSize);
    }

    /**
     * Opens a qcow2 image and its backing chain. Nothing is written to an image that fails to open; an image
     * opened for writing has its auto-clear feature bits cleared first, as qcow2.txt requires of a writer that
     * does not maintain them.
     *
     * @param completions where request completions run (the device loop)
     * @throws IOException naming the file (or backing file) and what is wrong with it
     */
    public static Qcow2Backend open(Path file, boolean readOnly, DriveSpec.Cache cache, Executor completions)
            throws IOException {
        return open(file, readOnly, cache, completions, DEFAULT_CACHE_BYTES, 0);
    }

    /** {@code cacheBytes} sizes the metadata caches; {@code chainDepth} counts the images above this one. */
    static Qcow2Backend open(Path file, boolean readOnly, DriveSpec.Cache cache, Executor completions,
                             int cacheBytes, int chainDepth) throws IOException {
        FileChannel channel = RawFileBackend.openChannel(file, readOnly);
        ThreadedBlockBackend backing = null;
        try {
            long fileSize = channel.size();
            ByteBuffer first = ByteBuffer.allocate((int) Math.min(fileSize, 1L << Qcow2Header.MAX_CLUSTER_BITS));
            FileIo.readFully(channel, first, 0);
            Qcow2Header header = Qcow2Header.parse(file, first.flip(), fileSize);
            if (!readOnly) {
                checkWritable(header);
            }
            ByteBuffer l1Bytes = ByteBuffer.allocate(header.l1Size * 8);
            FileIo.readFully(channel, l1Bytes, header.l1Offset);
            long[] l1 = new long[header.l1Size];
            l1Bytes.flip().asLongBuffer().get(l1);

            Qcow2Refcounts.Barrier barrier = () -> {
                if (cache != DriveSpec.Cache.UNSAFE) {
                    channel.force(false);
                }
            };
            Set<Long> metadata = null;
            Qcow2Refcounts refcounts = null;
            if (!readOnly) {
                metadata = metadataClusters(channel, header, l1, fileSize);
                refcounts = Qcow2Refcounts.load(header, channel, metadata, fileSize, cacheBytes, barrier);
            }
            if (header.backingFile != null) {
                backing = openBacking(header, cache, completions, cacheBytes, chainDepth);
            }
            if (!readOnly && header.autoclearFeatures != 0) {
                // The last step of opening: everything that could refuse the image has been checked.
                FileIo.writeFully(channel, ByteBuffer.allocate(8), Qcow2Header.AUTOCLEAR_FEATURES_FIELD);
                barrier.sync();
            }
            return new Qcow2Backend(header, channel, l1, refcounts, metadata, backing, fileSize, readOnly, cache,
                    completions, cacheBytes, barrier);
        } catch (IOException | RuntimeException e) {
            if (backing != null) {
                backing.close();
            }
            channel.close();
            throw e;
        }
    }

    /** Whether {@code file} starts with the qcow2 magic, the way QEMU probes a format. */
    public static boolean isQcow2(Path file) throws IOException {
        try (FileChannel channel = RawFileBackend.openChannel(file, true)) {
            ByteBuffer magic = ByteBuffer.allocate(4);
            channel.read(magic, 0);
            return magic.position() == 4 && magic.getInt(0) == Qcow2Header.MAGIC;
        }
    }

    private static void checkWritable(Qcow2Header header) throws IOException {
        String refusal = null;
        if ((header.incompatibleFeatures & Qcow2Header.INCOMPAT_DIRTY) != 0) {
            refusal = "incompatible_features: 'dirty' (bit 0) is set: QEMU did not close the image cleanly and its "
                    + "refcounts may be wrong; repair it with qemu-img check -r all";
        } else if ((header.incompatibleFeatures & Qcow2Header.INCOMPAT_CORRUPT) != 0) {
            refusal = "incompatible_features: 'corrupt' (bit 1) is set: QEMU found the metadata corrupt; repair it "
                    + "with qemu-img check -r all";
        } else if (header.refcountOrder != 4) {
            refusal = "refcount_order " + header.refcountOrder + " (" + (1 << header.refcountOrder)
                    + "-bit refcounts): stubdm writes 16-bit refcounts only (qemu-img amend -o refcount_bits=16)";
        }
        if (refusal != null) {
            throw new IOException(header.file + ": cannot be opened for writing: " + refusal
                    + "; it can be opened read-only");
        }
    }

    /**
     * The clusters an in-place data write must never touch: header, active L1 table, the L2 tables it points at,
     * the snapshot table and snapshot L1 tables (the refcount tables are added by {@link Qcow2Refcounts#load}).
     */
    private static Set<Long> metadataClusters(FileChannel channel, Qcow2Header header, long[] l1, long fileSize)
            throws IOException {
        Set<Long> clusters = new HashSet<>();
        clusters.add(0L);
        addClusters(clusters, header, header.l1Offset, header.l1Size * 8L);
        for (long entry : l1) {
            if ((entry & OFFSET_MASK) != 0) {
                clusters.add((entry & OFFSET_MASK) >>> header.clusterBits);
            }
        }
        // Snapshot table entries (qcow2.txt "Snapshots"): 40 fixed bytes, extra data, ID and name, padded to 8.
        long position = header.snapshotsOffset;
        for (int i = 0; i < header.snapshotCount; i++) {
            if (position > fileSize - 40) {
                throw new IOException(header.file + ": corrupt qcow2 snapshot table: entry " + i
                        + " lies beyond the end of the file");
            }
            ByteBuffer entry = ByteBuffer.allocate(40);
            FileIo.readFully(channel, entry, position);
            long l1Offset = entry.getLong(0);
            long l1Bytes = Integer.toUnsignedLong(entry.getInt(8)) * 8;
            if (l1Offset % header.clusterSize() != 0 || l1Offset <= 0 || l1Offset > fileSize - l1Bytes) {
                throw new IOException(header.file + ": corrupt qcow2 snapshot table: entry " + i
                        + " has its L1 table at 0x" + Long.toHexString(l1Offset) + ", outside the file");
            }
            addClusters(clusters, header, l1Offset, l1Bytes);
            long idLength = entry.getShort(12) & 0xffff;
            long nameLength = entry.getShort(14) & 0xffff;
            long extraLength = Integer.toUnsignedLong(entry.getInt(36));
            position += (40 + extraLength + idLength + nameLength + 7) & ~7L;
        }
        addClusters(clusters, header, header.snapshotsOffset, position - header.snapshotsOffset);
        return clusters;
    }

    private static void addClusters(Set<Long> clusters, Qcow2Header header, long offset, long length) {
        for (long c = offset >>> header.clusterBits; length > 0 && c <= (offset + length - 1) >>> header.clusterBits;
             c++) {
            clusters.add(c);
        }
    }

    private static ThreadedBlockBackend openBacking(Qcow2Header header, DriveSpec.Cache cache, Executor completions,
                                                    int cacheBytes, int chainDepth) throws IOException {
        String name = header.backingFile;
        if (chainDepth + 1 >= MAX_BACKING_CHAIN) {
            throw new IOException(header.file + ": backing chain longer than " + MAX_BACKING_CHAIN
                    + " images (does it loop?)");
        }
        if (name.startsWith("json:") || name.contains("://")) {
            throw new IOException(header.file + ": backing file '" + name + "' is not a file name");
        }
        // QEMU resolves a relative backing file name against the directory of the image naming it.
        Path path = header.file.toAbsolutePath().getParent().resolve(name);
        try {
            String format = header.backingFormat != null ? header.backingFormat : isQcow2(path) ? "qcow2" : "raw";
            switch (format) {
                case "raw":
                case "host_device":
                    return RawFileBackend.open(path, null, true, false, cache, completions);
                case "qcow2":
                    return open(path, true, cache, completions, cacheBytes, chainDepth + 1);
                default:
                    throw new IOException(path + ": format '" + format + "' is not supported (raw or qcow2)");
            }
        } catch (IOException e) {
            throw new IOException(header.file + ": backing file: " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return file + " (qcow2" + (backing == null ? ")" : ", backing file " + backing.describe() + ")");
    }

    @Override
    void readAt(long offset, ByteBuffer dst) throws IOException {
        long position = offset;
        while (dst.hasRemaining()) {
            Run run;
            metadataLock.lock();
            try {
                run = mapRun(position, dst.remaining());
            } finally {
                metadataLock.unlock();
            }
            ByteBuffer part = dst.slice(dst.position(), run.length());
            switch (run.kind()) {
                case DATA -> FileIo.readFully(channel, part, run.host());
                case ZERO -> FileIo.fillZero(part);
                case UNALLOCATED -> readBacking(position, part);
                case COMPRESSED -> part.put(decompress(run.host(), run.compressedEnd()),
                        (int) (position & (clusterSize - 1)), run.length());
            }
            dst.position(dst.position() + run.length());
            position += run.length();
        }
    }

    @Override
    void writeAt(long offset, ByteBuffer src) throws IOException {
        long position = offset;
        while (src.hasRemaining()) {
            int inCluster = (int) (position & (clusterSize - 1));
            int length = (int) Math.min(src.remaining(), clusterSize - inCluster);
            ByteBuffer chunk = src.slice(src.position(), length);
            long host;
            metadataLock.lock();
            try {
                // Between two clusters' updates the metadata in memory is consistent: a safe point to write it back.
                if (dirtyL2Tables + refcounts.dirtyBlocks() > l2CacheCapacity) {
                    writeBack();
                }
                host = inPlaceTarget(position);
                if (host < 0) {
                    allocateAndWrite(position, chunk);
                }
            } finally {
                metadataLock.unlock();
            }
            if (host >= 0) {
                // Data in a cluster that is allocated and ours alone needs no metadata: write it outside the lock.
                FileIo.writeFully(channel, chunk, host + inCluster);
            }
            src.position(src.position() + length);
            position += length;
        }
    }

    @Override
    void flushToStableStorage() throws IOException {
        metadataLock.lock();
        try {
            writeBack();
        } finally {
            metadataLock.unlock();
        }
        channel.force(false);
    }

    @Override
    void closeImage() throws IOException {
        try {
            if (refcounts != null) {
                metadataLock.lock();
                try {
                    writeBack();
                    barrier.sync();
                } finally {
                    metadataLock.unlock();
                }
            }
        } finally {
            try {
                if (backing != null) {
                    backing.close();
                }
            } finally {
                channel.close();
            }
        }
    }

    /** The mapping of {@code position} and of as many following bytes (up to {@code maxLength}) mapped alike. */
    private Run mapRun(long position, int maxLength) throws IOException {
        int inCluster = (int) (position & (clusterSize - 1));
        long entry = l2Entry(position);
        Kind kind = classify(entry, position);
        int length = (int) Math.min(maxLength, clusterSize - inCluster);
        if (kind == Kind.COMPRESSED) {
            long[] range = compressedRange(entry);
            return new Run(kind, range[0], range[1], length);
        }
        long host = kind == Kind.DATA ? (entry & OFFSET_MASK) + inCluster : 0;
        while (length < maxLength) {
            long next = position + length;
            long nextEntry = l2Entry(next);
            Kind nextKind = classify(nextEntry, next);
            if (nextKind != kind || (kind == Kind.DATA && (nextEntry & OFFSET_MASK) != host + length)) {
                break;
            }
            length += (int) Math.min(maxLength - length, clusterSize);
        }
        return new Run(kind, host, 0, length);
    }

    /** The host offset to write {@code guestOffset}'s cluster in place, or -1 if the write must allocate. */
    private long inPlaceTarget(long guestOffset) throws IOException {
        int l1Index = l1Index(guestOffset);
        long l2Offset = l2TableOffset(l1Index);
        if (l2Offset == 0 || (l1[l1Index] & OFLAG_COPIED) == 0) {
            return -1;
        }
        long entry = l2Table(l2Offset).entries[l2Index(guestOffset)];
        if (classify(entry, guestOffset) != Kind.DATA || (entry & OFLAG_COPIED) == 0) {
            return -1;
        }
        long host = entry & OFFSET_MASK;
        if (metadataClusters.contains(host >>> clusterBits)) {
            throw corrupt(String.format("the data cluster for guest offset 0x%x is at 0x%x, which holds the image's"
                    + " own metadata", guestOffset, host));
        }
        int refcount = refcounts.refcount(host >>> clusterBits);
        if (refcount != 1) {
            throw corrupt(String.format("the data cluster for guest offset 0x%x at 0x%x is marked as used once "
                    + "(bit 63) but its refcount is %d", guestOffset, host, refcount));
        }
        return host;
    }

    /**
     * Gives {@code guestOffset}'s cluster a new host cluster holding {@code chunk} and, around it, what the guest
     * saw there before: the cluster being replaced (shared, compressed or zero) or the backing file.
     */
    private void allocateAndWrite(long guestOffset, ByteBuffer chunk) throws IOException {
        L2Table table = l2TableForWrite(l1Index(guestOffset));
        int index = l2Index(guestOffset);
        long old = table.entries[index];
        Kind kind = classify(old, guestOffset);
        long[] held = heldRange(old, kind);
        if (held != null) {
            refcounts.checkReleasable(held[0], held[1]);
        }
        long host = refcounts.allocateCluster();
        ByteBuffer data = chunk;
        if (chunk.remaining() != clusterSize) {
            long clusterStart = guestOffset & -clusterSize;
            ByteBuffer whole = ByteBuffer.allocate((int) clusterSize);
            switch (kind) {
                case DATA -> FileIo.readFully(channel, whole, old & OFFSET_MASK);
                case COMPRESSED -> whole.put(decompress(held[0], held[1]));
                case UNALLOCATED -> readBacking(clusterStart, whole);
                case ZERO -> { }
            }
            whole.clear().put((int) (guestOffset - clusterStart), chunk, chunk.position(), chunk.remaining());
            data = whole;
        }
        FileIo.writeFully(channel, data, host);
        table.entries[index] = host | OFLAG_COPIED;
        markDirty(table);
        if (held != null) {
            refcounts.release(held[0], held[1]);
        }
    }

    /** The L2 table for {@code l1Index}, ready to be changed: allocated if missing, copied if shared. */
    private L2Table l2TableForWrite(int l1Index) throws IOException {
        long l2Offset = l2TableOffset(l1Index);
        if (l2Offset != 0 && (l1[l1Index] & OFLAG_COPIED) != 0) {
            return l2Table(l2Offset);
        }
        long[] entries;
        if (l2Offset == 0) {
            entries = new long[1 << l2Bits];
        } else {
            // Shared with a snapshot (L1 entry bit 63 clear, qcow2.txt "Cluster mapping"): change a copy. The data
            // clusters keep their refcounts: taking the snapshot already counted a reference from each L1 table.
            entries = l2Table(l2Offset).entries.clone();
            refcounts.checkReleasable(l2Offset, l2Offset + clusterSize);
        }
        long newOffset = refcounts.allocateCluster();
        metadataClusters.add(newOffset >>> clusterBits);
        L2Table table = new L2Table(newOffset, entries);
        if (l2Offset != 0) {
            l2Cache.remove(l2Offset);
            refcounts.release(l2Offset, l2Offset + clusterSize);
        }
        l2Cache.put(newOffset, table);
        markDirty(table);
        l1[l1Index] = newOffset | OFLAG_COPIED;
        dirtyL1.set(l1Index);
        trimL2Cache();
        return table;
    }

    /** Writes back held metadata in the order the class comment explains. Caller holds the metadata lock. */
    private void writeBack() throws IOException {
        refcounts.writeClaims();
        if (dirtyL2Tables > 0 || !dirtyL1.isEmpty()) {
            barrier.sync();
            for (L2Table table : l2Cache.values()) {
                if (table.dirty) {
                    ByteBuffer bytes = ByteBuffer.allocate((int) clusterSize);
                    bytes.asLongBuffer().put(table.entries);
                    FileIo.writeFully(channel, bytes, table.offset);
                    table.dirty = false;
                }
            }
            dirtyL2Tables = 0;
            if (!dirtyL1.isEmpty()) {
                barrier.sync();
                for (int i = dirtyL1.nextSetBit(0); i >= 0; ) {
                    int end = dirtyL1.nextClearBit(i);
                    ByteBuffer bytes = ByteBuffer.allocate((end - i) * 8);
                    bytes.asLongBuffer().put(l1, i, end - i);
                    FileIo.writeFully(channel, bytes, header.l1Offset + 8L * i);
                    i = dirtyL1.nextSetBit(end);
                }
                dirtyL1.clear();
            }
            trimL2Cache();
        }
        if (refcounts.hasReleases()) {
            barrier.sync();
            refcounts.writeReleases();
        }
    }

    private long l2Entry(long guestOffset) throws IOException {
        long l2Offset = l2TableOffset(l1Index(guestOffset));
        return l2Offset == 0 ? 0 : l2Table(l2Offset).entries[l2Index(guestOffset)];
    }

    /** The L2 table offset in L1 entry {@code l1Index}, 0 when unallocated; checked before anything reads it. */
    private long l2TableOffset(int l1Index) throws IOException {
        long entry = l1[l1Index];
        long offset = entry & OFFSET_MASK;
        if ((entry & L1E_RESERVED) != 0) {
            throw corrupt(String.format("L1 entry %d (0x%x) has reserved bits set", l1Index, entry));
        }
        if ((offset & (clusterSize - 1)) != 0) {
            throw corrupt(String.format("L1 entry %d points at an L2 table at 0x%x, which is not cluster-aligned",
                    l1Index, offset));
        }
        if (offset != 0 && offset > fileEnd() - clusterSize) {
            throw corrupt(String.format("L1 entry %d points at an L2 table at 0x%x, beyond the end of the file",
                    l1Index, offset));
        }
        return offset;
    }

    private L2Table l2Table(long offset) throws IOException {
        L2Table table = l2Cache.get(offset);
        if (table == null) {
            ByteBuffer bytes = ByteBuffer.allocate((int) clusterSize);
            FileIo.readFully(channel, bytes, offset);
            long[] entries = new long[1 << l2Bits];
            bytes.flip().asLongBuffer().get(entries);
            table = new L2Table(offset, entries);
            l2Cache.put(offset, table);
            trimL2Cache();
        }
        return table;
    }

    /** Drops least recently used clean tables beyond the capacity; dirty ones wait for the next write-back. */
    private void trimL2Cache() {
        Iterator<L2Table> it = l2Cache.values().iterator();
        while (l2Cache.size() > l2CacheCapacity && it.hasNext()) {
            if (!it.next().dirty) {
                it.remove();
            }
        }
    }

    private void markDirty(L2Table table) {
        if (!table.dirty) {
            table.dirty = true;
            dirtyL2Tables++;
        }
    }

    /** Decodes an L2 entry (qcow2.txt "Cluster mapping"), refusing one that no valid image contains. */
    private Kind classify(long entry, long guestOffset) throws IOException {
        if ((entry & OFLAG_COMPRESSED) != 0) {
            compressedRange(entry);
            return Kind.COMPRESSED;
        }
        if ((entry & L2E_RESERVED) != 0) {
            throw corrupt(String.format("the L2 entry for guest offset 0x%x (0x%x) has reserved bits set",
                    guestOffset, entry));
        }
        long host = entry & OFFSET_MASK;
        if ((host & (clusterSize - 1)) != 0) {
            throw corrupt(String.format("the data cluster for guest offset 0x%x is at 0x%x, which is not "
                    + "cluster-aligned", guestOffset, host));
        }
        if (host >= fileEnd()) {
            throw corrupt(String.format("the data cluster for guest offset 0x%x is at 0x%x, beyond the end of the "
                    + "file", guestOffset, host));
        }
        if ((entry & OFLAG_ZERO) != 0) {
            if (header.version < 3) {
                throw corrupt(String.format("the L2 entry for guest offset 0x%x has the zero flag, which version 2 "
                        + "images do not have", guestOffset));
            }
            return Kind.ZERO;
        }
        if (host == 0) {
            if ((entry & OFLAG_COPIED) != 0) {
                throw corrupt(String.format("the L2 entry for guest offset 0x%x marks host offset 0 as in use",
                        guestOffset));
            }
            return Kind.UNALLOCATED;
        }
        return Kind.DATA;
    }

    /**
     * Where a compressed cluster's bytes lie, {@code [start, end)}: qcow2.txt "Compressed Clusters Descriptor",
     * with x = 62 - (cluster_bits - 8) bits of byte offset and then a count of additional 512-byte sectors.
     */
    private long[] compressedRange(long entry) throws IOException {
        int shift = 62 - (clusterBits - 8);
        long start = entry & ((1L << shift) - 1);
        long sectors = ((entry >>> shift) & ((1L << (clusterBits - 8)) - 1)) + 1;
        if (start >>> 56 != 0 || start >= fileEnd()) {
            throw corrupt(String.format("a compressed cluster is at 0x%x, beyond the end of the file", start));
        }
        return new long[] {start, (start & ~511L) + sectors * 512};
    }

    /** The host bytes whose clusters an entry holds a reference to, or null. */
    private long[] heldRange(long entry, Kind kind) throws IOException {
        if (kind == Kind.COMPRESSED) {
            return compressedRange(entry);
        }
        long host = entry & OFFSET_MASK;
        return (kind == Kind.DATA || kind == Kind.ZERO) && host != 0 ? new long[] {host, host + clusterSize} : null;
    }

    /**
     * Inflates a compressed cluster: raw deflate, as QEMU writes it, which stops once it has produced a cluster.
     * The result is shared; callers copy out of it.
     */
    private byte[] decompress(long start, long end) throws IOException {
        synchronized (decompressedLock) {
            if (decompressed != null && decompressedStart == start) {
                return decompressed;
            }
        }
        // One byte more than the data: Inflater in nowrap mode may need a byte past the end of the stream.
        ByteBuffer input = ByteBuffer.allocate((int) (end - start) + 1);
        FileIo.readFully(channel, input.limit((int) (end - start)), start);
        byte[] cluster = new byte[(int) clusterSize];
        int produced = 0;
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(input.array());
            while (produced < cluster.length) {
                int n = inflater.inflate(cluster, produced, cluster.length - produced);
                if (n == 0) {
                    break;
                }
                produced += n;
            }
        } catch (DataFormatException e) {
            throw corrupt(String.format("the compressed cluster at 0x%x does not inflate: %s", start,
                    e.getMessage()));
        } finally {
            inflater.end();
        }
        if (produced != cluster.length) {
            throw corrupt(String.format("the compressed cluster at 0x%x inflates to %d bytes, not %d", start,
                    produced, clusterSize));
        }
        synchronized (decompressedLock) {
            decompressedStart = start;
            decompressed = cluster;
        }
        return cluster;
    }

    /** Reads the backing file where this image has nothing, and zeros where the backing file ends (or is none). */
    private void readBacking(long guestOffset, ByteBuffer dst) throws IOException {
        if (backing != null && guestOffset < backing.sizeBytes()) {
            int n = (int) Math.min(dst.remaining(), backing.sizeBytes() - guestOffset);
            backing.readAt(guestOffset, dst.slice(dst.position(), n));
            dst.position(dst.position() + n);
        }
        FileIo.fillZero(dst);
    }

    private long fileEnd() {
        return refcounts != null ? refcounts.allocatedEnd() : fileSizeAtOpen;
    }

    private int l1Index(long guestOffset) {
        return (int) (guestOffset >>> clusterBits >>> l2Bits);
    }

    private int l2Index(long guestOffset) {
        return (int) ((guestOffset >>> clusterBits) & ((1L << l2Bits) - 1));
    }

    private IOException corrupt(String what) {
        return new IOException(file + ": corrupt qcow2 metadata: " + what + " (qemu-img check tells more)");
    }
}
