package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.GuestMemoryException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The transmit unit: walks the descriptor ring from TDH to TDT, gathers each packet (legacy descriptors, or
 * data descriptors after a context descriptor, 3.3), applies the offloads and hands the frames to the backend.
 *
 * <p>A packet is gathered whole, up to its EOP descriptor, before anything is sent, so TDH moves and DD is
 * written back only for packets that left: when the backend's queue is full the packet's descriptors stay
 * the device's, and the packet resumes (from the segment that was refused) when the backend says it is
 * writable. A packet whose EOP the guest has not posted yet waits for the next TDT write.
 *
 * <p>Offloads: the context descriptor's fields (IPCSS/IPCSO/IPCSE, TUCSS/TUCSO/TUCSE) say where the checksums
 * go; the first data descriptor's POPTS says which to insert. Two contexts are remembered, one for TCP
 * segmentation and one for plain checksums, because drivers set a context once and reuse it for every
 * following packet with the same layout (em(4)'s DONT_FORCE_CTX; QEMU's {@code props}/{@code tso_props}).
 * TCP segmentation (3.5) cuts the payload after HDRLEN into MSS-sized pieces, each behind a copy of the
 * header with, per 3.5.9: IPv4 total length and an identification incremented per segment, or the IPv6
 * payload length; the TCP sequence number advanced by the bytes already sent and FIN/PSH only on the last
 * segment (or the UDP length); the segment's length added to the pseudo-header sum software left in the TCP
 * checksum field; then both checksums. VLAN insertion (VLE with CTRL.VME) puts VET and the descriptor's tag
 * after the MAC addresses of every frame.
 */
final class Transmitter {
    /** em(4) posts TSO packets of up to 65535 bytes plus a tagged Ethernet header (EM_TSO_SIZE). */
    static final int MAX_PACKET = 0x10000 + 0x200;
    private static final int MIN_FRAME = 60;
    private static final int VLAN_TAG = 4;
    private static final int DESCRIPTOR_BATCH = 64;
    private static final int IPV6_HEADER = 40;
    private static final int TCP_FIN_PSH = 0x09;

    private final E1000 nic;
    private final int[] regs;
    private final GuestMemory memory;
    private final NetBackend backend;
    private final Interrupts interrupts;
    private final Statistics stats;

    private final ByteBuffer window = ByteBuffer.allocate(DESCRIPTOR_BATCH * DESCRIPTOR_SIZE)
            .order(ByteOrder.LITTLE_ENDIAN);
    private int windowFirst;
    private int windowCount;

    private final byte[] packet = new byte[MAX_PACKET];
    private final ByteBuffer packetView = ByteBuffer.wrap(packet);
    /** Frames are built at offset VLAN_TAG so a tag can be inserted by moving only the MAC addresses. */
    private final byte[] frame = new byte[VLAN_TAG + MAX_PACKET];
    private final ByteBuffer frameView = ByteBuffer.wrap(frame);

    private final OffloadContext checksumContext = new OffloadContext();
    private final OffloadContext segmentationContext = new OffloadContext();

    // The unit gathered from TDH: a context descriptor alone, or a packet up to its EOP descriptor.
    private boolean hasFrame;
    private int packetLength;
    private boolean packetFaulted;
    private boolean packetTooLong;
    private boolean firstData;
    private boolean segmentation;
    private int options;
    private boolean vlanTagged;
    private int vlanTci;
    private int reportCount;
    private int[] reportIndex = new int[8];
    private int[] reportUpper = new int[8];
    private boolean reportImmediate;

    // Sending it: prepared once, then segment by segment; a refused segment leaves the packet pending.
    private boolean prepared;
    private int segmentCount;
    private int nextSegment;
    private boolean pending;
    private int pendingEnd;
    private boolean running;

    Transmitter(E1000 nic, int[] regs, GuestMemory memory, NetBackend backend, Interrupts interrupts,
            Statistics stats) {
        this.nic = nic;
        this.regs = regs;
        this.memory = memory;
        this.backend = backend;
        this.interrupts = interrupts;
        this.stats = stats;
    }

    /** Forgets the contexts and any packet the backend refused: the MAC is being reset. */
    void reset() {
        checksumContext.clear();
        segmentationContext.clear();
        abandon();
    }

    /** Drops the refused packet, if any; its descriptors are gathered again if the ring still holds them. */
    void abandon() {
        pending = false;
        prepared = false;
    }

    /** The backend can take frames again. */
    void resume() {
        transmit();
    }

    /** Processes descriptors from TDH to TDT, as TDT and TCTL writes ask (and a writable backend). */
    void transmit() {
        if (running || (regs[TCTL >> 2] & TCTL_EN) == 0 || !nic.busMasterEnabled()) {
            return;
        }
        int size = (regs[TDLEN >> 2] & 0xfff80) / DESCRIPTOR_SIZE;
        int head = regs[TDH >> 2];
        int tail = regs[TDT >> 2];
        if (size == 0 || head >= size || tail >= size) {
            return;
        }
        running = true;
        windowCount = 0;
        try {
            if (pending) {
                if (!emit()) {
                    return;
                }
                pending = false;
                head = complete(head, pendingEnd, size);
            }
            while (head != tail) {
                int end = gather(head, tail, size);
                if (end < 0) {
                    return;
                }
                if (hasFrame && !emit()) {
                    pending = true;
                    pendingEnd = end;
                    return;
                }
                head = complete(head, end, size);
            }
            interrupts.raise(ICR_TXQE);
        } finally {
            running = false;
        }
    }

    // ------------------------------------------------------------------ gathering

    /**
     * Reads the unit starting at {@code head}: returns the index after it, or -1 if the packet's EOP is not
     * posted yet or the ring cannot be read.
     */
    private int gather(int head, int tail, int size) {
        hasFrame = false;
        packetLength = 0;
        packetFaulted = false;
        packetTooLong = false;
        firstData = true;
        segmentation = false;
        options = 0;
        vlanTagged = false;
        reportCount = 0;
        reportImmediate = false;
        prepared = false;
        int index = head;
        while (index != tail) {
            int o = descriptor(index, tail, size);
            if (o < 0) {
                return -1;
            }
            long address = window.getLong(o);
            int lower = window.getInt(o + 8);
            int upper = window.getInt(o + 12);
            int next = index + 1 == size ? 0 : index + 1;
            if ((lower & (TXD_CMD_RS | TXD_CMD_RPS)) != 0) {
                report(index, upper, (lower & TXD_CMD_IDE) == 0);
            }
            int type = lower & (TXD_CMD_DEXT | TXD_DTYP_DATA);
            if (type == TXD_CMD_DEXT) {
                ((lower & TXD_CMD_TSE) != 0 ? segmentationContext : checksumContext).load(window, o);
                if (firstData) {
                    return next;
                }
                index = next;
                continue;
            }
            hasFrame = true;
            boolean extended = type == (TXD_CMD_DEXT | TXD_DTYP_DATA);
            if (firstData) {
                firstData = false;
                segmentation = extended && (lower & TXD_CMD_TSE) != 0;
                options = extended ? upper >>> 8 & 0xff : 0;
            }
            append(address, extended ? lower & 0xfffff : lower & 0xffff);
            if ((lower & TXD_CMD_EOP) != 0) {
                vlanTagged = (lower & TXD_CMD_VLE) != 0 && (regs[CTRL >> 2] & CTRL_VME) != 0;
                vlanTci = upper >>> 16;
                return next;
            }
            index = next;
        }
        if (Math.floorMod(tail - head, size) == size - 1) {
            // The whole ring is one packet without EOP: the guest can post nothing more, so it goes.
            packetTooLong = true;
            return tail;
        }
        return -1;
    }

    /** The offset in {@link #window} of descriptor {@code index}, read in bulk up to the tail or ring end. */
    private int descriptor(int index, int tail, int size) {
        if (index >= windowFirst && index < windowFirst + windowCount) {
            return (index - windowFirst) * DESCRIPTOR_SIZE;
        }
        int contiguous = tail > index ? tail - index : size - index;
        int count = Math.min(DESCRIPTOR_BATCH, contiguous);
        window.limit(count * DESCRIPTOR_SIZE).position(0);
        try {
            memory.read(ringBase() + (long) index * DESCRIPTOR_SIZE, window);
        } catch (GuestMemoryException e) {
            windowCount = 0;
            nic.dmaFault("transmit descriptor ring", e);
            return -1;
        }
        windowFirst = index;
        windowCount = count;
        return 0;
    }

    private long ringBase() {
        return (long) regs[TDBAH >> 2] << 32 | (regs[TDBAL >> 2] & 0xffff_fff0L);
    }

    private void append(long address, int length) {
        if (packetFaulted || packetTooLong || length == 0) {
            return;
        }
        if (packetLength + length > MAX_PACKET) {
            packetTooLong = true;
            return;
        }
        packetView.limit(packetLength + length).position(packetLength);
        try {
            memory.read(address, packetView);
            packetLength += length;
        } catch (GuestMemoryException e) {
            packetFaulted = true;
            nic.dmaFault("transmit buffer", e);
        }
    }

    private void report(int index, int upper, boolean immediate) {
        if (reportCount == reportIndex.length) {
            reportIndex = Arrays.copyOf(reportIndex, reportCount * 2);
            reportUpper = Arrays.copyOf(reportUpper, reportCount * 2);
        }
        reportIndex[reportCount] = index;
        reportUpper[reportCount] = upper;
        reportCount++;
        reportImmediate |= immediate;
    }

    /** Writes DD back into the unit's RS descriptors (status only, 3.3.3.2), moves TDH to {@code end}. */
    private int complete(int head, int end, int size) {
        long base = ringBase();
        for (int i = 0; i < reportCount; i++) {
            int upper = (reportUpper[i] | TXD_STAT_DD) & ~(TXD_STAT_EC | TXD_STAT_LC | TXD_STAT_TU);
            try {
                memory.writeValue(base + (long) reportIndex[i] * DESCRIPTOR_SIZE + 12, 4, upper & 0xffff_ffffL);
            } catch (GuestMemoryException e) {
                nic.dmaFault("transmit descriptor write-back", e);
            }
        }
        regs[TDH >> 2] = end;
        if (reportCount > 0) {
            interrupts.descriptorsDone(!reportImmediate);
        }
        return end;
    }

    // ------------------------------------------------------------------ sending

    /** Sends what is left of the gathered packet; false when the backend refused a frame. */
    private boolean emit() {
        if (!prepared) {
            prepared = true;
            nextSegment = 0;
            segmentCount = prepare();
        }
        while (nextSegment < segmentCount) {
            ByteBuffer f = segmentation ? segment(nextSegment) : whole();
            int length = f.remaining();
            int start = f.position();
            if (!backend.send(f)) {
                return false;
            }
            count(start, length);
            nextSegment++;
        }
        if (segmentation && segmentCount > 0) {
            stats.increment(TSCTC);
        }
        return true;
    }

    /** Checks the packet and does what is done once per packet; returns how many frames it makes. */
    private int prepare() {
        if (packetFaulted) {
            backend.stats().drop("tx-dma-error");
            return 0;
        }
        if (packetTooLong) {
            backend.stats().drop("tx-oversize");
            return 0;
        }
        if (!segmentation) {
            insertChecksums(packet, 0, packetLength, checksumContext);
            return 1;
        }
        OffloadContext c = segmentationContext;
        if (c.mss == 0 || c.headerLength == 0 || c.headerLength > packetLength) {
            backend.stats().drop("tx-bad-tso");
            stats.increment(TSCTFC);
            return 0;
        }
        int payload = packetLength - c.headerLength;
        return payload == 0 ? 1 : (payload + c.mss - 1) / c.mss;
    }

    /** The packet as one frame, tagged and padded as TCTL and the descriptor ask. */
    private ByteBuffer whole() {
        if (vlanTagged) {
            System.arraycopy(packet, 0, frame, VLAN_TAG, packetLength);
            return finish(packetLength);
        }
        int length = packetLength;
        if ((regs[TCTL >> 2] & TCTL_PSP) != 0 && length < MIN_FRAME) {
            Arrays.fill(packet, length, MIN_FRAME, (byte) 0);
            length = MIN_FRAME;
        }
        return packetView.limit(length).position(0);
    }

    /** Segment {@code k} of the TSO packet, built from the untouched header and its share of the payload. */
    private ByteBuffer segment(int k) {
        OffloadContext c = segmentationContext;
        int header = c.headerLength;
        int offset = header + k * c.mss;
        int chunk = Math.min(c.mss, packetLength - offset);
        int length = header + chunk;
        System.arraycopy(packet, 0, frame, VLAN_TAG, header);
        System.arraycopy(packet, offset, frame, VLAN_TAG + header, chunk);
        int base = VLAN_TAG;
        boolean last = k == segmentCount - 1;
        if (c.ipv4) {
            put16(base, length, c.ipcss + 2, length - c.ipcss);
            put16(base, length, c.ipcss + 4, get16(packet, header, c.ipcss + 4) + k);
        } else {
            // 3.5.9 gives MSS + HDRLEN - IPCSS, which QEMU writes; with IPCSS at the IPv6 header, as drivers
            // set it, that would count the fixed header, which the payload length excludes (RFC 8200).
            put16(base, length, c.ipcss + 4, length - c.ipcss - IPV6_HEADER);
        }
        if (c.tcp) {
            put32(base, length, c.tucss + 4, get32(packet, header, c.tucss + 4) + k * c.mss);
            if (!last && c.tucss + 13 < length) {
                frame[base + c.tucss + 13] &= ~TCP_FIN_PSH;
            }
        } else {
            put16(base, length, c.tucss + 4, length - c.tucss);
        }
        if ((options & TXD_POPTS_TXSM) != 0 && c.tucso + 2 <= length) {
            // Software left the pseudo-header sum without the length in the field; add this segment's.
            int pseudo = InternetChecksum.fold(get16(frame, base + length, base + c.tucso) + (long) (length - c.tucss));
            put16(base, length, c.tucso, pseudo);
        }
        insertChecksums(frame, base, length, c);
        return finish(length);
    }

    /** Tags (moving the MAC addresses back over the gap) and pads the frame built at {@code frame[4..]}. */
    private ByteBuffer finish(int length) {
        int start = VLAN_TAG;
        if (vlanTagged) {
            System.arraycopy(frame, VLAN_TAG, frame, 0, 12);
            int tpid = regs[VET >> 2];
            frame[12] = (byte) (tpid >> 8);
            frame[13] = (byte) tpid;
            frame[14] = (byte) (vlanTci >> 8);
            frame[15] = (byte) vlanTci;
            start = 0;
            length += VLAN_TAG;
        }
        if ((regs[TCTL >> 2] & TCTL_PSP) != 0 && length < MIN_FRAME) {
            Arrays.fill(frame, start + length, start + MIN_FRAME, (byte) 0);
            length = MIN_FRAME;
        }
        return frameView.limit(start + length).position(start);
    }

    /** POPTS.TXSM then POPTS.IXSM, each over its [start, end] range into its offset (QEMU's putsum). */
    private void insertChecksums(byte[] b, int base, int length, OffloadContext c) {
        if ((options & TXD_POPTS_TXSM) != 0) {
            insertChecksum(b, base, length, c.tucss, c.tucse, c.tucso);
        }
        if ((options & TXD_POPTS_IXSM) != 0) {
            insertChecksum(b, base, length, c.ipcss, c.ipcse, c.ipcso);
        }
    }

    /** The sum runs from {@code start} to {@code end} inclusive, or to the end of the frame when end is 0. */
    private static void insertChecksum(byte[] b, int base, int length, int start, int end, int offset) {
        int stop = end != 0 && end < length ? end + 1 : length;
        if (start >= stop || offset + 2 > stop) {
            return;
        }
        int sum = InternetChecksum.finish(InternetChecksum.add(0, b, base + start, base + stop));
        b[base + offset] = (byte) (sum >> 8);
        b[base + offset + 1] = (byte) sum;
    }

    private void count(int start, int length) {
        stats.increment(GPTC);
        stats.increment(TPT);
        stats.add64(GOTCL, length + 4L);
        stats.add64(TOTL, length + 4L);
        stats.countSize(PTC64, length + 4);
        byte[] b = segmentation || vlanTagged ? frame : packet;
        if ((b[start] & 1) != 0) {
            boolean broadcast = true;
            for (int i = 0; i < 6; i++) {
                broadcast &= b[start + i] == (byte) 0xff;
            }
            stats.increment(broadcast ? BPTC : MPTC);
        }
    }

    // ------------------------------------------------------------------ header fields, bounds-checked

    private static int get16(byte[] b, int limit, int at) {
        return at + 2 <= limit ? (b[at] & 0xff) << 8 | (b[at + 1] & 0xff) : 0;
    }

    private static int get32(byte[] b, int limit, int at) {
        return at + 4 <= limit ? get16(b, limit, at) << 16 | get16(b, limit, at + 2) : 0;
    }

    /** Writes into {@link #frame} at {@code base + at} if the field lies inside the frame's {@code length}. */
    private void put16(int base, int length, int at, int value) {
        if (at + 2 <= length) {
            frame[base + at] = (byte) (value >> 8);
            frame[base + at + 1] = (byte) value;
        }
    }

    private void put32(int base, int length, int at, int value) {
        if (at + 4 <= length) {
            put16(base, length, at, value >>> 16);
            put16(base, length, at + 2, value);
        }
    }

    /** A TCP/IP context descriptor's fields (3.3.6). */
    private static final class OffloadContext {
        int ipcss;
        int ipcso;
        int ipcse;
        int tucss;
        int tucso;
        int tucse;
        int headerLength;
        int mss;
        boolean ipv4;
        boolean tcp;

        void load(ByteBuffer d, int o) {
            ipcss = d.get(o) & 0xff;
            ipcso = d.get(o + 1) & 0xff;
            ipcse = d.getShort(o + 2) & 0xffff;
            tucss = d.get(o + 4) & 0xff;
            tucso = d.get(o + 5) & 0xff;
            tucse = d.getShort(o + 6) & 0xffff;
            int command = d.getInt(o + 8);
            ipv4 = (command & TXD_CMD_IP) != 0;
            tcp = (command & TXD_CMD_TCP) != 0;
            headerLength = d.get(o + 13) & 0xff;
            mss = d.getShort(o + 14) & 0xffff;
        }

        void clear() {
            ipcss = ipcso = ipcse = tucss = tucso = tucse = headerLength = mss = 0;
            ipv4 = tcp = false;
        }
    }
}
