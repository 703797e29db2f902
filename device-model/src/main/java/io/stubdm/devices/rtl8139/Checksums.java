package io.stubdm.devices.rtl8139;

/**
 * Internet checksums (RFC 1071) over frames held in byte arrays, and the IPv4 parsing the offload engines share.
 * Offsets are into the Ethernet frame; multi-byte fields are big-endian, as on the wire.
 */
final class Checksums {
    static final int ETHERTYPE_IPV4 = 0x0800;
    static final int ETHERTYPE_VLAN = 0x8100;
    static final int PROTO_TCP = 6;
    static final int PROTO_UDP = 17;
    static final int ETH_HEADER = 14;
    static final int VLAN_TAG = 4;
    static final int IPV4_MIN_HEADER = 20;
    static final int TCP_MIN_HEADER = 20;
    static final int UDP_HEADER = 8;
    static final int TCP_CHECKSUM = 16;
    static final int UDP_CHECKSUM = 6;

    private Checksums() {
    }

    static int be16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    static int be32(byte[] b, int off) {
        return be16(b, off) << 16 | be16(b, off + 2);
    }

    static void putBe16(byte[] b, int off, int v) {
        b[off] = (byte) (v >> 8);
        b[off + 1] = (byte) v;
    }

    static void putBe32(byte[] b, int off, int v) {
        putBe16(b, off, v >>> 16);
        putBe16(b, off + 2, v);
    }

    /** The 16-bit one's-complement sum of {@code len} bytes, not yet folded; an odd last byte is padded with 0. */
    static long sum(byte[] b, int off, int len, long acc) {
        int end = off + (len & ~1);
        for (int i = off; i < end; i += 2) {
            acc += (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
        }
        if ((len & 1) != 0) {
            acc += (b[off + len - 1] & 0xff) << 8;
        }
        return acc;
    }

    /** Folds a sum to 16 bits; a received header checks out when this is 0xffff. */
    static int fold(long acc) {
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xffff) + (acc >>> 16);
        }
        return (int) acc;
    }

    /** The sum of the TCP/UDP pseudo-header: source, destination, protocol, length of header plus data. */
    static long pseudoHeader(byte[] b, int ip, int proto, int l4Length) {
        return sum(b, ip + 12, 8, proto + l4Length);
    }

    /** Recomputes the IPv4 header checksum of the header at {@code ip}. */
    static void fillIpChecksum(byte[] b, int ip, int headerLength) {
        putBe16(b, ip + 10, 0);
        putBe16(b, ip + 10, ~fold(sum(b, ip, headerLength, 0)) & 0xffff);
    }

    /**
     * Fills the TCP or UDP checksum of the segment at {@code l4}, {@code l4Length} bytes. UDP sends a computed 0
     * as 0xffff, because 0 means "no checksum" there (RFC 768).
     */
    static void fillL4Checksum(byte[] b, int ip, int l4, int proto, int l4Length) {
        int field = l4 + (proto == PROTO_TCP ? TCP_CHECKSUM : UDP_CHECKSUM);
        putBe16(b, field, 0);
        int c = ~fold(sum(b, l4, l4Length, pseudoHeader(b, ip, proto, l4Length))) & 0xffff;
        putBe16(b, field, proto == PROTO_UDP && c == 0 ? 0xffff : c);
    }

    /**
     * Where the IPv4 header of a frame starts, or -1 if the frame is not IPv4 with a sane header and total
     * length. An 802.1Q tag inside the frame is skipped.
     */
    static int ipv4Offset(byte[] b, int frameLength) {
        int l3 = ETH_HEADER;
        if (frameLength >= ETH_HEADER + VLAN_TAG && be16(b, 12) == ETHERTYPE_VLAN) {
            l3 += VLAN_TAG;
        }
        if (frameLength < l3 + IPV4_MIN_HEADER || be16(b, l3 - 2) != ETHERTYPE_IPV4 || (b[l3] & 0xf0) != 0x40) {
            return -1;
        }
        int headerLength = ipHeaderLength(b, l3);
        int total = be16(b, l3 + 2);
        if (headerLength < IPV4_MIN_HEADER || total < headerLength || l3 + total > frameLength) {
            return -1;
        }
        return l3;
    }

    static int ipHeaderLength(byte[] b, int ip) {
        return (b[ip] & 0x0f) * 4;
    }

    static int ipTotalLength(byte[] b, int ip) {
        return be16(b, ip + 2);
    }

    static int ipProtocol(byte[] b, int ip) {
        return b[ip + 9] & 0xff;
    }

    /** More-fragments set or a fragment offset: the transport checksum covers data this frame lacks. */
    static boolean isFragment(byte[] b, int ip) {
        return (be16(b, ip + 6) & 0x3fff) != 0;
    }
}
