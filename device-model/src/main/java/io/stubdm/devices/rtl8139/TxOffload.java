package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.rtl8139.Checksums.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What the 8139C+ does to a frame between its descriptors and the wire (datasheet §9.2.1 "Transmit"): IP, TCP and
 * UDP checksums, VLAN tag insertion, large send (TCP segmentation at the descriptor's MSS) and padding short
 * frames to 60 bytes, as FreeBSD's re(4) expects of the 8139C+ ({@code RL_FLAG_AUTOPAD}).
 *
 * <p>The frames go to a {@link Sink} that may refuse one (the backend's queue is full); the work stops there and
 * {@link #resume()} continues from the refused frame, so nothing is lost or sent twice. Output is built in one
 * buffer allocated up front.
 */
final class TxOffload {
    /** The 8139C+ assembles a frame from its fragments in a 64 KiB buffer. */
    static final int MAX_FRAME = 65536;
    static final int MIN_FRAME = 60;
    private static final int TCP_FIN = 0x01;
    private static final int TCP_PSH = 0x08;
    private static final int TCP_CWR = 0x80;
    private static final int TCP_FLAGS = 13;

    /** Where frames go: false means "not now", and the frame must be offered again. */
    interface Sink {
        boolean emit(ByteBuffer frame);
    }

    private enum Pending { NONE, WHOLE, SEGMENTS }

    private final Sink sink;
    private final byte[] out = new byte[MAX_FRAME + VLAN_TAG];
    private final ByteBuffer outBuffer = ByteBuffer.wrap(out);

    private Pending pending = Pending.NONE;
    private byte[] frame;
    private boolean tagged;
    private int tagWord;
    private int outLength;
    // Large send: the frame's headers and where the next segment's payload starts.
    private int ip;
    private int ipHeader;
    private int tcp;
    private int tcpHeader;
    private int payload;
    private int payloadLength;
    private int mss;
    private int offset;
    private int segment;
    private int firstSeq;
    private int firstId;

    TxOffload(Sink sink) {
        this.sink = sink;
    }

    /**
     * Sends {@code frame[0, length)} with the offloads its first and second descriptor words ask for. The frame is
     * changed in place (checksums) and must stay untouched while {@link #pending()}. Returns false if the sink
     * refused a frame: call {@link #resume()} when it can take frames again.
     */
    boolean send(byte[] frame, int length, int command, int vlanWord) {
        this.frame = frame;
        tagged = (vlanWord & TXD_TAGC) != 0;
        tagWord = vlanWord;
        int l3 = ipv4Offset(frame, length);
        if ((command & TXD_LGSEN) != 0) {
            // The checksum bits are the MSS's bits here; only a TCP/IPv4 frame is segmented, anything else goes as is.
            if (l3 >= 0 && startSegmenting(l3, (command >>> TXD_MSS_SHIFT) & TXD_MSS_MASK)) {
                return sendSegments();
            }
        } else if (l3 >= 0) {
            checksum(l3, command);
        }
        outLength = pad(copyHeaders(length));
        return sendWhole();
    }

    /** Continues after the sink refused; returns false if it refuses again. */
    boolean resume() {
        switch (pending) {
            case WHOLE:
                return sendWhole();
            case SEGMENTS:
                return sendSegments();
            default:
                return true;
        }
    }

    boolean pending() {
        return pending != Pending.NONE;
    }

    /** Forgets a refused frame (the NIC was reset); returns whether there was one. */
    boolean discard() {
        boolean had = pending();
        pending = Pending.NONE;
        return had;
    }

    private void checksum(int l3, int command) {
        int headerLength = ipHeaderLength(frame, l3);
        if ((command & TXD_IPCS) != 0) {
            fillIpChecksum(frame, l3, headerLength);
        }
        if (isFragment(frame, l3)) {
            return;
        }
        int proto = ipProtocol(frame, l3);
        int l4Length = ipTotalLength(frame, l3) - headerLength;
        if ((command & TXD_TCPCS) != 0 && proto == PROTO_TCP && l4Length >= TCP_MIN_HEADER
                || (command & TXD_UDPCS) != 0 && proto == PROTO_UDP && l4Length >= UDP_HEADER) {
            fillL4Checksum(frame, l3, l3 + headerLength, proto, l4Length);
        }
    }

    private boolean startSegmenting(int l3, int segmentSize) {
        if (segmentSize == 0 || ipProtocol(frame, l3) != PROTO_TCP || isFragment(frame, l3)) {
            return false;
        }
        int headerLength = ipHeaderLength(frame, l3);
        int total = ipTotalLength(frame, l3);
        int t = l3 + headerLength;
        if (total - headerLength < TCP_MIN_HEADER) {
            return false;
        }
        int th = (frame[t + 12] >> 4 & 0x0f) * 4;
        if (th < TCP_MIN_HEADER || headerLength + th > total) {
            return false;
        }
        ip = l3;
        ipHeader = headerLength;
        tcp = t;
        tcpHeader = th;
        payload = t + th;
        payloadLength = l3 + total - payload;
        mss = segmentSize;
        offset = 0;
        segment = 0;
        firstSeq = be32(frame, tcp + 4);
        firstId = be16(frame, ip + 4);
        return true;
    }

    /**
     * One segment per MSS of payload (at least one, for a bare ACK), each a copy of the headers with the IP length,
     * ID and checksum and the TCP sequence number, flags and checksum its own: FIN and PSH only on the last,
     * CWR only on the first, as a TSO-capable NIC splits a TCP segment.
     */
    private boolean sendSegments() {
        pending = Pending.SEGMENTS;
        do {
            int chunk = Math.min(mss, payloadLength - offset);
            int tag = tagged ? VLAN_TAG : 0;
            int length = copyHeaders(payload);
            System.arraycopy(frame, payload + offset, out, length, chunk);
            length += chunk;
            int oip = ip + tag;
            int otcp = tcp + tag;
            putBe16(out, oip + 2, ipHeader + tcpHeader + chunk);
            putBe16(out, oip + 4, firstId + segment);
            fillIpChecksum(out, oip, ipHeader);
            putBe32(out, otcp + 4, firstSeq + offset);
            int flags = out[otcp + TCP_FLAGS] & 0xff;
            if (offset + chunk < payloadLength) {
                flags &= ~(TCP_FIN | TCP_PSH);
            }
            if (segment != 0) {
                flags &= ~TCP_CWR;
            }
            out[otcp + TCP_FLAGS] = (byte) flags;
            fillL4Checksum(out, oip, otcp, PROTO_TCP, tcpHeader + chunk);
            outBuffer.clear().limit(pad(length));
            if (!sink.emit(outBuffer)) {
                return false;
            }
            offset += chunk;
            segment++;
        } while (offset < payloadLength);
        pending = Pending.NONE;
        return true;
    }

    private boolean sendWhole() {
        outBuffer.clear().limit(outLength);
        if (sink.emit(outBuffer)) {
            pending = Pending.NONE;
            return true;
        }
        pending = Pending.WHOLE;
        return false;
    }

    /**
     * Copies {@code frame[0, to)} into the output, with the VLAN tag after the addresses if the descriptor asks for
     * one; returns the output's length.
     */
    private int copyHeaders(int to) {
        if (!tagged || to < 12) {
            System.arraycopy(frame, 0, out, 0, to);
            return to;
        }
        System.arraycopy(frame, 0, out, 0, 12);
        putBe16(out, 12, ETHERTYPE_VLAN);
        // The descriptor keeps the tag control information byte-swapped, the first byte on the wire lowest.
        out[14] = (byte) tagWord;
        out[15] = (byte) (tagWord >> 8);
        System.arraycopy(frame, 12, out, 12 + VLAN_TAG, to - 12);
        return to + VLAN_TAG;
    }

    private int pad(int length) {
        if (length >= MIN_FRAME) {
            return length;
        }
        Arrays.fill(out, length, MIN_FRAME, (byte) 0);
        return MIN_FRAME;
    }
}
