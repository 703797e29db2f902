package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

import io.stubdm.backends.net.NetBackend;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.GuestMemoryException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * The receive unit: filters a frame from the backend (RCTL, RAL/RAH, MTA, VFTA), strips its VLAN tag into the
 * descriptor when CTRL.VME says so, checks its checksums when RXCSUM asks, and writes it into the buffers of
 * the descriptors from RDH, as many as it needs, then writes the descriptors back (3.2.3).
 *
 * <p>A frame that finds fewer free descriptors than it needs is not lost: the backend keeps it (receive returns
 * false), RNBC counts it, RXO and RXDMT0 tell the driver, and the backend is asked for it again once the driver
 * has posted enough buffers. Frames are held the same way while PCI bus mastering is off. While the receiver is
 * off (RCTL.EN clear, link down) frames are dropped, as the wire would lose them, and counted by the backend.
 *
 * <p>Write-back order: the data, then each descriptor with its status byte clear, then the status bytes with
 * DD, so a driver that sees DD sees everything else. RDT is never consumed (RDH = RDT means empty), and with
 * RCTL.SECRC clear the frame keeps a 4-byte FCS, which Linux's e1000 subtracts from the length.
 */
final class Receiver {
    /** The largest frame RCTL.LPE (or SBP) lets in: 16 KiB with its FCS. */
    static final int MAX_FRAME = 16384;
    private static final int MIN_FRAME = 60;
    private static final int FCS = 4;
    private static final int VLAN_TAG = 4;
    /** 1518 bytes without FCS: a maximum-size frame with a VLAN tag. */
    private static final int MAX_STANDARD_FRAME = 1518;
    /** Descriptors the largest frame can take with the smallest (256-byte) buffers. */
    private static final int MAX_DESCRIPTORS = (MAX_FRAME + FCS + 255) / 256;
    private static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int PROTOCOL_TCP = 6;
    private static final int PROTOCOL_UDP = 17;
    private static final int[] MTA_SHIFT = {4, 3, 2, 0};

    private final E1000 nic;
    private final int[] regs;
    private final GuestMemory memory;
    private final NetBackend backend;
    private final Interrupts interrupts;
    private final Statistics stats;

    /** The frame as received, at offset VLAN_TAG so that stripping the tag only moves the MAC addresses. */
    private final byte[] frame = new byte[VLAN_TAG + MAX_FRAME + FCS];
    private final ByteBuffer frameView = ByteBuffer.wrap(frame);
    private final ByteBuffer addresses = ByteBuffer.allocate(MAX_DESCRIPTORS * DESCRIPTOR_SIZE)
            .order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32 crc = new CRC32();

    private boolean held;
    private int heldNeed;
    private int rxStatus;
    private int rxErrors;
    /**
     * The TCP/UDP check's sum of the frame's {@code [l4From, l4To)}, raw (not folded), or l4From -1 when the check
     * did not sum anything: the packet checksum covers the same bytes and takes this sum rather than adding them
     * all again.
     */
    private int l4From;
    private int l4To;
    private long l4Sum;

    Receiver(E1000 nic, int[] regs, GuestMemory memory, NetBackend backend, Interrupts interrupts,
            Statistics stats) {
        this.nic = nic;
        this.regs = regs;
        this.memory = memory;
        this.backend = backend;
        this.interrupts = interrupts;
        this.stats = stats;
    }

    /** The backend's frame; false when it must keep the frame until {@link #resumeIfReady()} asks again. */
    boolean receive(ByteBuffer in) {
        int rctl = regs[RCTL >> 2];
        if ((rctl & RCTL_EN) == 0 || !nic.receiverConnected()) {
            backend.stats().drop("rx-disabled");
            return true;
        }
        int length = in.remaining();
        int limit = (rctl & RCTL_LPE) != 0 ? MAX_FRAME - FCS : MAX_STANDARD_FRAME;
        if (length > MAX_FRAME || (length > limit && (rctl & RCTL_SBP) == 0)) {
            stats.increment(ROC);
            backend.stats().drop("rx-oversize");
            return true;
        }
        int start = VLAN_TAG;
        in.get(in.position(), frame, start, length);
        if (length < MIN_FRAME) {
            // A frame from the host can be short; on a wire the sender pads it.
            Arrays.fill(frame, start + length, start + MIN_FRAME, (byte) 0);
            length = MIN_FRAME;
        }
        int tpid = regs[VET >> 2] & 0xffff;
        boolean tagged = be16(start + 12) == tpid;
        int tci = tagged ? be16(start + 14) : 0;
        if (tagged && !vlanAccepted(rctl, tci)) {
            backend.stats().drop("rx-vlan-filtered");
            return true;
        }
        int passed = addressFilter(start, rctl);
        if (passed < 0) {
            backend.stats().drop("rx-filtered");
            return true;
        }
        if (!nic.busMasterEnabled()) {
            // No DMA before the driver enables bus mastering; the frame waits for it.
            held = true;
            heldNeed = 1;
            return false;
        }
        int wireLength = length;
        boolean multicast = (frame[start] & 1) != 0;
        boolean broadcast = multicast && isBroadcast(start);
        int fcs = (rctl & RCTL_SECRC) != 0 ? 0 : FCS;
        if (fcs != 0) {
            crc.reset();
            crc.update(frame, start, length);
        }
        boolean stripped = tagged && (regs[CTRL >> 2] & CTRL_VME) != 0;
        if (stripped) {
            System.arraycopy(frame, start, frame, start + VLAN_TAG, 12);
            start += VLAN_TAG;
            length -= VLAN_TAG;
        }
        if (fcs != 0) {
            int value = (int) crc.getValue();
            for (int i = 0; i < FCS; i++) {
                frame[start + length + i] = (byte) (value >>> (8 * i));
            }
        }
        int total = length + fcs;

        int size = (regs[RDLEN >> 2] & 0xfff80) / DESCRIPTOR_SIZE;
        int head = regs[RDH >> 2];
        int tail = regs[RDT >> 2];
        int bufferSize = bufferSize(rctl);
        int need = (total + bufferSize - 1) / bufferSize;
        if (size == 0 || head >= size || tail >= size || Math.floorMod(tail - head, size) < need) {
            stats.increment(RNBC);
            interrupts.raise(ICR_RXO | ICR_RXDMT0);
            held = true;
            heldNeed = need;
            return false;
        }

        long base = (long) regs[RDBAH >> 2] << 32 | (regs[RDBAL >> 2] & 0xffff_fff0L);
        if (!readAddresses(base, head, need, size)) {
            backend.stats().drop("rx-dma-error");
            return true;
        }
        checksums(start, length, tagged && !stripped);
        int status = rxStatus | RXD_STAT_EOP | (stripped ? RXD_STAT_VP : 0) | passed;
        int packetChecksum = packetChecksum(start, length);
        int special = stripped ? tci : 0;
        int index = head;
        int done = 0;
        for (int i = 0; i < need; i++) {
            int chunk = Math.min(bufferSize, total - done);
            int errors = 0;
            frameView.limit(start + done + chunk).position(start + done);
            try {
                memory.write(addresses.getLong(i * DESCRIPTOR_SIZE), frameView);
            } catch (GuestMemoryException e) {
                nic.dmaFault("receive buffer", e);
                errors = RXD_ERR_RXE;
            }
            done += chunk;
            boolean last = i == need - 1;
            if (last) {
                errors |= rxErrors;
            }
            long body = chunk | (long) (last ? packetChecksum : 0) << 16 | (long) errors << 40 | (long) special << 48;
            try {
                memory.writeValue(base + (long) index * DESCRIPTOR_SIZE + 8, 8, body);
            } catch (GuestMemoryException e) {
                nic.dmaFault("receive descriptor ring", e);
                backend.stats().drop("rx-dma-error");
                return true;
            }
            index = index + 1 == size ? 0 : index + 1;
        }
        // The status bytes go last: DD must not be visible before the data and lengths it vouches for.
        VarHandle.releaseFence();
        index = head;
        for (int i = 0; i < need; i++) {
            int s = RXD_STAT_DD | (i == need - 1 ? status : 0);
            try {
                memory.writeValue(base + (long) index * DESCRIPTOR_SIZE + 12, 1, s);
            } catch (GuestMemoryException e) {
                nic.dmaFault("receive descriptor ring", e);
            }
            index = index + 1 == size ? 0 : index + 1;
        }
        regs[RDH >> 2] = index;

        stats.increment(GPRC);
        stats.increment(TPR);
        stats.add64(GORCL, wireLength + 4L);
        stats.add64(TORL, wireLength + 4L);
        stats.countSize(PRC64, wireLength + 4);
        if (broadcast) {
            stats.increment(BPRC);
        } else if (multicast) {
            stats.increment(MPRC);
        }
        int causes = 0;
        int rdmts = regs[RCTL >> 2] >>> RCTL_RDMTS_SHIFT & 3;
        if (Math.floorMod(tail - index, size) <= size >> (rdmts + 1)) {
            causes |= ICR_RXDMT0;
        }
        int small = regs[RSRPD >> 2] & 0xfff;
        if (total < small) {
            causes |= ICR_SRPD;
        }
        if (causes != 0) {
            interrupts.raise(causes);
        }
        interrupts.frameReceived();
        return true;
    }

    /** Asks the backend for the frame it kept, once the device can take it (RDT, RCTL, link, bus master). */
    void resumeIfReady() {
        if (!held || (regs[RCTL >> 2] & RCTL_EN) == 0 || !nic.receiverConnected() || !nic.busMasterEnabled()) {
            return;
        }
        int size = (regs[RDLEN >> 2] & 0xfff80) / DESCRIPTOR_SIZE;
        int head = regs[RDH >> 2];
        int tail = regs[RDT >> 2];
        if (size == 0 || head >= size || tail >= size || Math.floorMod(tail - head, size) < heldNeed) {
            return;
        }
        held = false;
        backend.resumeReceive();
    }

    /** After a reset the held frame (if any) may need fewer buffers than before. */
    void reset() {
        heldNeed = 1;
    }

    private boolean readAddresses(long base, int head, int need, int size) {
        int first = Math.min(need, size - head);
        try {
            addresses.limit(first * DESCRIPTOR_SIZE).position(0);
            memory.read(base + (long) head * DESCRIPTOR_SIZE, addresses);
            if (need > first) {
                addresses.limit(need * DESCRIPTOR_SIZE).position(first * DESCRIPTOR_SIZE);
                memory.read(base, addresses);
            }
            return true;
        } catch (GuestMemoryException e) {
            nic.dmaFault("receive descriptor ring", e);
            return false;
        }
    }

    /** RCTL.BSIZE with BSEX (13.4.22): 2048, 1024, 512, 256 bytes, or 16, 8, 4 KiB extended. */
    private static int bufferSize(int rctl) {
        int code = rctl >>> RCTL_BSIZE_SHIFT & 3;
        if ((rctl & RCTL_BSEX) != 0 && code != 0) {
            return 16384 >> (code - 1);
        }
        return 2048 >> code;
    }

    /** RCTL.VFE with VFTA, and RCTL.CFIEN with the CFI bit (13.4.22). */
    private boolean vlanAccepted(int rctl, int tci) {
        if ((rctl & RCTL_CFIEN) != 0 && (tci >> 12 & 1) != (rctl >> 20 & 1)) {
            return false;
        }
        if ((rctl & RCTL_VFE) == 0) {
            return true;
        }
        int vid = tci & 0xfff;
        return (regs[(VFTA >> 2) + (vid >> 5)] & 1 << (vid & 31)) != 0;
    }

    /**
     * Broadcast with BAM, multicast with MPE, unicast with UPE; then the receive addresses with AV; then the
     * multicast table, hashed on destination bits RCTL.MO selects (QEMU's {@code e1000x_rx_group_filter}).
     * Returns -1 to drop, else the status bits to report: PIF when only the inexact table matched.
     */
    private int addressFilter(int start, int rctl) {
        boolean multicast = (frame[start] & 1) != 0;
        if (multicast && isBroadcast(start) ? (rctl & RCTL_BAM) != 0
                : multicast ? (rctl & RCTL_MPE) != 0 : (rctl & RCTL_UPE) != 0) {
            return 0;
        }
        int low = (frame[start] & 0xff) | (frame[start + 1] & 0xff) << 8 | (frame[start + 2] & 0xff) << 16
                | (frame[start + 3] & 0xff) << 24;
        int high = (frame[start + 4] & 0xff) | (frame[start + 5] & 0xff) << 8;
        for (int i = 0; i < RA_COUNT; i++) {
            int ral = regs[(RA >> 2) + 2 * i];
            int rah = regs[(RA >> 2) + 2 * i + 1];
            if ((rah & RAH_AV) != 0 && (rah & RAH_AS_MASK) == 0 && ral == low && (rah & 0xffff) == high) {
                return 0;
            }
        }
        int hash = high >>> MTA_SHIFT[rctl >>> RCTL_MO_SHIFT & 3] & 0xfff;
        return (regs[(MTA >> 2) + (hash >> 5)] & 1 << (hash & 31)) != 0 ? RXD_STAT_PIF : -1;
    }

    private boolean isBroadcast(int start) {
        for (int i = 0; i < 6; i++) {
            if (frame[start + i] != (byte) 0xff) {
                return false;
            }
        }
        return true;
    }

    /**
     * RXCSUM offloads (IPv4 only on the 82540): IPCS with IPE if the header checksum is wrong, TCPCS with TCPE
     * for TCP and for UDP with a checksum, unless the datagram is a fragment. IXSM when neither is enabled.
     */
    private void checksums(int start, int length, boolean tagInFrame) {
        rxStatus = 0;
        rxErrors = 0;
        l4From = -1;
        int rxcsum = regs[RXCSUM >> 2];
        if ((rxcsum & (RXCSUM_IPOFL | RXCSUM_TUOFL)) == 0) {
            rxStatus = RXD_STAT_IXSM;
            return;
        }
        int l3 = start + (tagInFrame ? 18 : 14);
        int end = start + length;
        if (be16(l3 - 2) != ETHERTYPE_IPV4 || l3 + 20 > end || (frame[l3] & 0xf0) != 0x40) {
            return;
        }
        int headerLength = (frame[l3] & 0x0f) * 4;
        int total = be16(l3 + 2);
        if (headerLength < 20 || total < headerLength || l3 + total > end) {
            return;
        }
        if ((rxcsum & RXCSUM_IPOFL) != 0) {
            rxStatus |= RXD_STAT_IPCS;
            if (InternetChecksum.fold(InternetChecksum.add(0, frame, l3, l3 + headerLength)) != 0xffff) {
                rxErrors |= RXD_ERR_IPE;
            }
        }
        if ((rxcsum & RXCSUM_TUOFL) == 0 || (be16(l3 + 6) & 0x3fff) != 0) {
            return;
        }
        int protocol = frame[l3 + 9] & 0xff;
        int l4 = l3 + headerLength;
        int l4Length = total - headerLength;
        boolean tcp = protocol == PROTOCOL_TCP && l4Length >= 20;
        boolean udp = protocol == PROTOCOL_UDP && l4Length >= 8 && be16(l4 + 6) != 0;
        if (!tcp && !udp) {
            return;
        }
        long pseudo = InternetChecksum.add(0, frame, l3 + 12, l3 + 20) + protocol + l4Length;
        l4From = l4;
        l4To = l4 + l4Length;
        l4Sum = InternetChecksum.add(0, frame, l4From, l4To);
        rxStatus |= RXD_STAT_TCPCS;
        if (InternetChecksum.fold(pseudo + l4Sum) != 0xffff) {
            rxErrors |= RXD_ERR_TCPE;
        }
    }

    /**
     * The descriptor's packet checksum: the ones'-complement sum from RXCSUM.PCSS to the end of the frame. When the
     * TCP/UDP check summed a part of that range starting and ending an even number of bytes from PCSS (so its
     * 16-bit words are the packet checksum's words too), only the bytes around it are added to its sum: the
     * folded result is the same, and a full-sized frame is not summed twice.
     */
    private int packetChecksum(int start, int length) {
        int from = start + (regs[RXCSUM >> 2] & RXCSUM_PCSS_MASK);
        int end = start + length;
        if (from >= end) {
            return 0;
        }
        long sum;
        if (l4From >= from && l4To <= end && ((l4From - from) & 1) == 0 && ((l4To - from) & 1) == 0) {
            sum = InternetChecksum.add(InternetChecksum.add(l4Sum, frame, from, l4From), frame, l4To, end);
        } else {
            sum = InternetChecksum.add(0, frame, from, end);
        }
        return InternetChecksum.fold(sum);
    }

    private int be16(int at) {
        return (frame[at] & 0xff) << 8 | (frame[at + 1] & 0xff);
    }
}
