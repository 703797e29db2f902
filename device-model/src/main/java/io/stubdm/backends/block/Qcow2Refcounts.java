package io.stubdm.backends.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The refcounts of a writable qcow2 image and the cluster allocator built on them (qcow2.txt "Host cluster
 * management"). Only 16-bit refcounts (refcount_order 4, what QEMU creates) are handled.
 *
 * <p>Clusters are allocated at the end of the file and never reused within a run: a cluster freed while the
 * image is open stays free until QEMU's tools reclaim it. In exchange no cluster that an in-flight read may still
 * be looking at is ever handed out again.
 *
 * <p>Changes are held in memory and written by {@link #writeClaims()} and {@link #writeReleases()}, which the
 * image calls in an order that keeps every refcount on disk at least as large as the number of references to its
 * cluster on disk: a crash can leak clusters, never leave one referenced but free. Not thread-safe: the image
 * calls it under its metadata lock.
 */
final class Qcow2Refcounts {
    private static final int REFCOUNT_BITS = 16;
    private static final long TABLE_ENTRY_RESERVED = 0x1ffL;

    /** Syncs the image file, or not at all under cache=unsafe. */
    @FunctionalInterface
    interface Barrier {
        void sync() throws IOException;
    }

    private static final class Block {
        final long offset;
        final char[] counts;
        boolean dirty;

        Block(long offset, char[] counts) {
            this.offset = offset;
            this.counts = counts;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final int clusterBits;
    private final long clusterSize;
    /** log2 of the number of refcounts in one block. */
    private final int blockBits;
    private final Set<Long> metadataClusters;
    private final Barrier barrier;
    private final int blockCacheCapacity;
    private final LinkedHashMap<Long, Block> blocks = new LinkedHashMap<>(16, 0.75f, true);
    /** Decrements waiting for the references they drop to be off the disk; cluster to count. */
    private final Map<Long, Integer> releases = new TreeMap<>();
    private final BitSet dirtyTableEntries = new BitSet();

    /** Indexed by block number; may be longer than the table on disk until a move is written. */
    private long[] table;
    private long tableOffset;
    private int tableClusters;
    /** Where a grown table will be written, or -1. */
    private long movedTableOffset = -1;
    private int movedTableClusters;
    /** The first cluster the allocator will consider. */
    private long nextFree;
    private int dirtyBlocks;

    private Qcow2Refcounts(Qcow2Header header, FileChannel channel, long[] table, Set<Long> metadataClusters,
                           long fileSize, int cacheBytes, Barrier barrier) {
        this.file = header.file;
        this.channel = channel;
        this.clusterBits = header.clusterBits;
        this.clusterSize = header.clusterSize();
        this.blockBits = clusterBits + 3 - Integer.numberOfTrailingZeros(REFCOUNT_BITS);
        this.table = table;
        this.tableOffset = header.refcountTableOffset;
        this.tableClusters = header.refcountTableClusters;
        this.metadataClusters = metadataClusters;
        this.barrier = barrier;
        this.blockCacheCapacity = Math.max(8, cacheBytes / 2 / (int) clusterSize);
        this.nextFree = (fileSize + clusterSize - 1) >>> clusterBits;
    }

    /**
     * Reads the refcount table of an image being opened for writing and records where its blocks are in
     * {@code metadataClusters}.
     */
    static Qcow2Refcounts load(Qcow2Header header, FileChannel channel, Set<Long> metadataClusters, long fileSize,
                               int cacheBytes, Barrier barrier) throws IOException {
        int entries = (int) (header.refcountTableClusters * header.clusterSize() / 8);
        ByteBuffer bytes = ByteBuffer.allocate(entries * 8);
        FileIo.readFully(channel, bytes, header.refcountTableOffset);
        long[] table = new long[entries];
        bytes.flip().asLongBuffer().get(table);
        for (int i = 0; i < entries; i++) {
            if (table[i] != 0) {
                metadataClusters.add(table[i] >>> header.clusterBits);
            }
        }
        for (long c = 0; c < header.refcountTableClusters; c++) {
            metadataClusters.add((header.refcountTableOffset >>> header.clusterBits) + c);
        }
        return new Qcow2Refcounts(header, channel, table, metadataClusters, fileSize, cacheBytes, barrier);
    }

    /** The end of the space clusters are allocated in: the file's end as opened, plus what was allocated since. */
    long allocatedEnd() {
        return nextFree << clusterBits;
    }

    int dirtyBlocks() {
        return dirtyBlocks;
    }

    private void markDirty(Block b) {
        if (!b.dirty) {
            b.dirty = true;
            dirtyBlocks++;
        }
    }

    int refcount(long cluster) throws IOException {
        long index = cluster >>> blockBits;
        if (index >= table.length || table[(int) index] == 0) {
            return 0;
        }
        return block((int) index).counts[(int) (cluster & ((1L << blockBits) - 1))];
    }

    /** Allocates one cluster with refcount 1 and returns its offset. */
    long allocateCluster() throws IOException {
        long cluster = findFree(1);
        nextFree = cluster + 1;
        claim(cluster);
        return cluster << clusterBits;
    }

    /** Fails, changing nothing, unless every cluster of {@code [start, end)} can lose one reference. */
    void checkReleasable(long start, long end) throws IOException {
        for (long c = start >>> clusterBits; c <= (end - 1) >>> clusterBits; c++) {
            int refcount = refcount(c) - releases.getOrDefault(c, 0);
            if (refcount <= 0) {
                throw new IOException(file + ": corrupt qcow2 refcounts: cluster at 0x" + Long.toHexString(
                        c << clusterBits) + " is referenced but its refcount is already 0");
            }
        }
    }

    /**
     * Drops one reference from every cluster of {@code [start, end)} once the references are gone from the disk;
     * call {@link #checkReleasable} before changing the metadata that held them.
     */
    void release(long start, long end) {
        for (long c = start >>> clusterBits; c <= (end - 1) >>> clusterBits; c++) {
            releases.merge(c, 1, Integer::sum);
        }
    }

    boolean hasReleases() {
        return !releases.isEmpty();
    }

    /**
     * Writes refcount increments: the blocks first, then (after a barrier, so no entry points at a block that is
     * not on disk) the table entries of new blocks, or a moved table and then the header fields that point at it.
     */
    void writeClaims() throws IOException {
        writeDirtyBlocks();
        if (movedTableOffset >= 0) {
            barrier.sync();
            writeLongs(table, 0, table.length, movedTableOffset);
            barrier.sync();
            ByteBuffer fields = ByteBuffer.allocate(12).putLong(movedTableOffset).putInt(movedTableClusters).flip();
            FileIo.writeFully(channel, fields, Qcow2Header.REFCOUNT_TABLE_OFFSET_FIELD);
            long oldStart = tableOffset;
            checkReleasable(oldStart, oldStart + tableClusters * clusterSize);
            release(oldStart, oldStart + tableClusters * clusterSize);
            for (long c = 0; c < tableClusters; c++) {
                metadataClusters.remove((oldStart >>> clusterBits) + c);
            }
            tableOffset = movedTableOffset;
            tableClusters = movedTableClusters;
            movedTableOffset = -1;
            dirtyTableEntries.clear();
        } else if (!dirtyTableEntries.isEmpty()) {
            barrier.sync();
            for (int i = dirtyTableEntries.nextSetBit(0); i >= 0; ) {
                int end = dirtyTableEntries.nextClearBit(i);
                writeLongs(table, i, end - i, tableOffset + 8L * i);
                i = dirtyTableEntries.nextSetBit(end);
            }
            dirtyTableEntries.clear();
        }
    }

    /** Writes the decrements; the caller has put the metadata that dropped the references on disk first. */
    void writeReleases() throws IOException {
        for (Map.Entry<Long, Integer> r : releases.entrySet()) {
            long cluster = r.getKey();
            Block b = block((int) (cluster >>> blockBits));
            int slot = (int) (cluster & ((1L << blockBits) - 1));
            b.counts[slot] = (char) (b.counts[slot] - r.getValue());
            markDirty(b);
        }
        releases.clear();
        writeDirtyBlocks();
    }

    private void writeDirtyBlocks() throws IOException {
        for (Block b : blocks.values()) {
            if (b.dirty) {
                ByteBuffer bytes = ByteBuffer.allocate((int) clusterSize);
                bytes.asCharBuffer().put(b.counts);
                FileIo.writeFully(channel, bytes, b.offset);
                b.dirty = false;
            }
        }
        dirtyBlocks = 0;
        trimCache();
    }

    private void writeLongs(long[] values, int from, int count, long offset) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(count * 8);
        bytes.asLongBuffer().put(values, from, count);
        FileIo.writeFully(channel, bytes, offset);
    }

    /** The first run of {@code count} free clusters from {@link #nextFree}; metadata is never free. */
    private long findFree(int count) throws IOException {
        long start = nextFree;
        for (long c = start; c < start + count; c++) {
            if (refcount(c) != 0 || metadataClusters.contains(c)) {
                start = c + 1;
            }
        }
        return start;
    }

    /** Takes a free cluster: its refcount goes from 0 to 1. */
    private void claim(long cluster) throws IOException {
        Block b = blockForUpdate(cluster >>> blockBits);
        int slot = (int) (cluster & ((1L << blockBits) - 1));
        if (b.counts[slot] != 0) {
            throw new IOException(file + ": corrupt qcow2 refcounts: cluster at 0x"
                    + Long.toHexString(cluster << clusterBits) + " was to be allocated but has refcount "
                    + (int) b.counts[slot]);
        }
        b.counts[slot] = 1;
        markDirty(b);
    }

    /** The block holding refcounts for block number {@code index}, created (and the table grown) if missing. */
    private Block blockForUpdate(long index) throws IOException {
        if (index >= table.length) {
            growTable(index + 1);
        }
        if (table[(int) index] != 0) {
            return block((int) index);
        }
        long cluster = findFree(1);
        nextFree = cluster + 1;
        Block b = new Block(cluster << clusterBits, new char[1 << blockBits]);
        markDirty(b);
        blocks.put(index, b);
        metadataClusters.add(cluster);
        if (cluster >>> blockBits == index) {
            // The block describes itself, as QEMU places new blocks whenever it can.
            b.counts[(int) (cluster & ((1L << blockBits) - 1))] = 1;
        } else {
            claim(cluster);
        }
        table[(int) index] = cluster << clusterBits;
        if (movedTableOffset < 0) {
            dirtyTableEntries.set((int) index);
        }
        return b;
    }

    /**
     * Makes room for at least {@code minEntries} table entries by moving the table to a larger run of clusters at
     * the end of the file. The new table is only written, and the header switched to it, by {@link #writeClaims};
     * until then the old table on disk stays valid.
     */
    private void growTable(long minEntries) throws IOException {
        long perCluster = clusterSize / 8;
        long entries = roundUp(Math.max(minEntries, table.length * 2L), perCluster);
        long start;
        int clusters;
        while (true) {
            if (entries * 8 > Qcow2Header.MAX_REFCOUNT_TABLE_BYTES) {
                throw new IOException(file + ": the qcow2 refcount table would grow past "
                        + (Qcow2Header.MAX_REFCOUNT_TABLE_BYTES >> 20) + " MiB, QEMU's limit; the image is too large "
                        + "for its cluster size");
            }
            clusters = (int) (entries / perCluster);
            start = findFree(clusters);
            // The new table, and the refcount blocks its own clusters need, must lie inside what it covers.
            long lastNeeded = start + clusters + (clusters >>> blockBits) + 2;
            if (lastNeeded >>> blockBits < entries) {
                break;
            }
            entries = roundUp((lastNeeded >>> blockBits) + 1, perCluster);
        }
        if (movedTableOffset >= 0) {
            // A move not yet written is superseded: its clusters were never referenced from the disk.
            long oldStart = movedTableOffset;
            checkReleasable(oldStart, oldStart + movedTableClusters * clusterSize);
            release(oldStart, oldStart + movedTableClusters * clusterSize);
            for (long c = 0; c < movedTableClusters; c++) {
                metadataClusters.remove((oldStart >>> clusterBits) + c);
            }
        }
        nextFree = start + clusters;
        table = Arrays.copyOf(table, (int) entries);
        movedTableOffset = start << clusterBits;
        movedTableClusters = clusters;
        for (long c = start; c < start + clusters; c++) {
            metadataClusters.add(c);
        }
        for (long c = start; c < start + clusters; c++) {
            claim(c);
        }
    }

    private Block block(int index) throws IOException {
        Block cached = blocks.get((long) index);
        if (cached != null) {
            return cached;
        }
        long entry = table[index];
        long offset = entry & ~TABLE_ENTRY_RESERVED;
        if ((entry & TABLE_ENTRY_RESERVED) != 0 || (offset & (clusterSize - 1)) != 0) {
            throw new IOException(file + ": corrupt qcow2 refcount table: entry " + index + " (0x"
                    + Long.toHexString(entry) + ") is not a cluster-aligned offset");
        }
        if (offset > allocatedEnd() - clusterSize) {
            throw new IOException(file + ": corrupt qcow2 refcount table: entry " + index + " points at 0x"
                    + Long.toHexString(offset) + ", beyond the end of the file");
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) clusterSize);
        FileIo.readFully(channel, bytes, offset);
        char[] counts = new char[1 << blockBits];
        bytes.flip().asCharBuffer().get(counts);
        Block b = new Block(offset, counts);
        blocks.put((long) index, b);
        trimCache();
        return b;
    }

    /** Drops least recently used clean blocks beyond the capacity; dirty ones wait for the next write-back. */
    private void trimCache() {
        Iterator<Block> it = blocks.values().iterator();
        while (blocks.size() > blockCacheCapacity && it.hasNext()) {
            if (!it.next().dirty) {
                it.remove();
            }
        }
    }

    private static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }
}
