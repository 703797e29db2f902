package io.stubdm.devices.e1000;

import java.nio.ByteBuffer;

/**
 * Builds Ethernet/IPv4/IPv6/TCP/UDP frames and checks their checksums the slow, obvious way (16-bit words, one
 * at a time), independently of the device's 32-bit summing.
 */
final class Packets {
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    static final byte[] PEER = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    static final byte[] IP_SRC = {10, 0, 0, 1};
    static final byte[] IP_DST = {10, 0, 0, 2};
    static final byte[] IP6_SRC = {(byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static final byte[] IP6_DST = {(byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    static final int TCP_FIN = 0x01;
    static final int TCP_PSH = 0x08;
    static final int TCP_ACK = 0x10;

    private Packets() {}

    /** The 16-bit ones'-complement sum of {@code [from, to)}, folded, not complemented. */
    static int sum(byte[] b, int from, int to, int initial) {
        int sum = initial;
        for (int i = from; i < to; i += 2) {
            int word = (b[i] & 0xff) << 8 | (i + 1 < to ? b[i + 1] & 0xff : 0);
            sum += word;
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return sum;
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }

    static long u32(byte[] b, int at) {
        return (long) u16(b, at) << 16 | u16(b, at + 2);
    }

    static void put16(byte[] b, int at, int v) {
        b[at] = (byte) (v >> 8);
        b[at + 1] = (byte) v;
    }

    static byte[] payload(int length, int seed) {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++) {
            p[i] = (byte) (i * 7 + seed + (i >> 8));
        }
        return p;
    }

    static byte[] ethernet(byte[] dst, byte[] src, int type, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(14 + body.length);
        b.put(dst).put(src).putShort((short) type).put(body);
        return b.array();
    }

    /** An 802.1Q-tagged frame: TPID 0x8100 and {@code tci} after the addresses. */
    static byte[] tagged(byte[] frame, int tci) {
        ByteBuffer b = ByteBuffer.allocate(frame.length + 4);
        b.put(frame, 0, 12).putShort((short) 0x8100).putShort((short) tci).put(frame, 12, frame.length - 12);
        return b.array();
    }

    /** An IPv4 header (20 bytes) and {@code l4}, with a correct header checksum unless {@code totalLength} says 0. */
    static byte[] ipv4(int protocol, int id, byte[] l4, boolean lengthAndChecksum) {
        byte[] p = new byte[20 + l4.length];
        p[0] = 0x45;
        if (lengthAndChecksum) {
            put16(p, 2, p.length);
        }
        put16(p, 4, id);
        p[6] = 0x40;
        p[8] = 64;
        p[9] = (byte) protocol;
        System.arraycopy(IP_SRC, 0, p, 12, 4);
        System.arraycopy(IP_DST, 0, p, 16, 4);
        if (lengthAndChecksum) {
            put16(p, 10, ~sum(p, 0, 20, 0) & 0xffff);
        }
        System.arraycopy(l4, 0, p, 20, l4.length);
        return p;
    }

    static byte[] ipv6(int nextHeader, byte[] l4, boolean length) {
        byte[] p = new byte[40 + l4.length];
        p[0] = 0x60;
        if (length) {
            put16(p, 4, l4.length);
        }
        p[6] = (byte) nextHeader;
        p[7] = 64;
        System.arraycopy(IP6_SRC, 0, p, 8, 16);
        System.arraycopy(IP6_DST, 0, p, 24, 16);
        System.arraycopy(l4, 0, p, 40, l4.length);
        return p;
    }

    /** A TCP segment with a 12-byte timestamp option (32-byte header), checksum field zero. */
    static byte[] tcp(long seq, int flags, byte[] data) {
        byte[] t = new byte[32 + data.length];
        put16(t, 0, 40000);
        put16(t, 2, 5201);
        put16(t, 4, (int) (seq >>> 16));
        put16(t, 6, (int) seq);
        put16(t, 8, 0x1234);
        put16(t, 10, 0x5678);
        t[12] = (byte) (8 << 4);
        t[13] = (byte) flags;
        put16(t, 14, 65535);
        t[20] = 1;
        t[21] = 1;
        t[22] = 8;
        t[23] = 10;
        System.arraycopy(data, 0, t, 32, data.length);
        return t;
    }

    static byte[] udp(byte[] data) {
        byte[] u = new byte[8 + data.length];
        put16(u, 0, 5353);
        put16(u, 2, 5353);
        put16(u, 4, u.length);
        System.arraycopy(data, 0, u, 8, data.length);
        return u;
    }

    /** The IPv4 pseudo-header sum for {@code length} bytes of {@code protocol}, from the addresses at {@code ip}. */
    static int pseudo4(byte[] frame, int ip, int protocol, int length) {
        int s = sum(frame, ip + 12, ip + 20, 0);
        return sum(new byte[] {0, (byte) protocol, (byte) (length >> 8), (byte) length}, 0, 4, s);
    }

    static int pseudo6(byte[] frame, int ip, int protocol, int length) {
        int s = sum(frame, ip + 8, ip + 40, 0);
        return sum(new byte[] {(byte) (length >> 24), (byte) (length >> 16), (byte) (length >> 8), (byte) length,
                0, 0, 0, (byte) protocol}, 0, 8, s);
    }

    /** Fills in a correct TCP or UDP checksum (IPv4 at {@code ip}, L4 at {@code l4}). */
    static void fillL4Checksum4(byte[] frame, int ip, int l4, int protocol, int checksumOffset) {
        int length = frame.length - l4;
        put16(frame, l4 + checksumOffset, 0);
        int c = ~sum(frame, l4, frame.length, pseudo4(frame, ip, protocol, length)) & 0xffff;
        put16(frame, l4 + checksumOffset, c == 0 && protocol == 17 ? 0xffff : c);
    }

    static boolean ipv4HeaderValid(byte[] frame, int ip) {
        int headerLength = (frame[ip] & 0xf) * 4;
        return sum(frame, ip, ip + headerLength, 0) == 0xffff;
    }

    static boolean tcp4Valid(byte[] frame, int ip, int l4, int end) {
        return sum(frame, l4, end, pseudo4(frame, ip, 6, end - l4)) == 0xffff;
    }

    static boolean tcp6Valid(byte[] frame, int ip, int l4, int end) {
        return sum(frame, l4, end, pseudo6(frame, ip, 6, end - l4)) == 0xffff;
    }

    /** A TCP/IPv4 frame to {@code dst} with every checksum right. */
    static byte[] tcpFrame(byte[] dst, int dataLength, int seed) {
        byte[] frame = ethernet(dst, PEER, 0x0800, ipv4(6, 0x1000 + seed, tcp(1000, TCP_ACK, payload(dataLength, seed)), true));
        fillL4Checksum4(frame, 14, 34, 6, 16);
        return frame;
    }
}
