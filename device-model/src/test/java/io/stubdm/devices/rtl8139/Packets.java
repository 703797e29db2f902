package io.stubdm.devices.rtl8139;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Frames for NIC tests, and checks written independently of the device's own code: checksums by the RFC 1071
 * definition over 16-bit words, the Ethernet FCS by the bitwise reflected CRC-32, the multicast hash as Linux's
 * ether_crc() computes it.
 */
final class Packets {
    static final byte[] PEER_MAC = {0x02, 0x00, 0x00, 0x00, 0x00, 0x77};
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    static final byte[] GUEST_IP = {10, 0, 0, 2};
    static final byte[] PEER_IP = {10, 0, 0, 1};
    static final int TCP = 6;
    static final int UDP = 17;
    static final int TCP_PSH = 0x08;
    static final int TCP_ACK = 0x10;
    static final int TCP_FIN = 0x01;

    private Packets() {
    }

    /** Length bytes of recognisable content after an Ethernet header with type 0x88b5. */
    static byte[] raw(byte[] dst, byte[] src, int length, int seed) {
        byte[] f = new byte[length];
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5;
        for (int i = 14; i < length; i++) {
            f[i] = (byte) (seed * 7 + i * 13);
        }
        return f;
    }

    /**
     * An IPv4 TCP or UDP frame with {@code payload}; checksums filled in if {@code checksummed}, else left 0 for
     * a NIC to fill.
     */
    static byte[] ipv4(byte[] dst, byte[] src, int proto, byte[] payload, int tcpFlags, boolean checksummed) {
        int l4Header = proto == TCP ? 20 : 8;
        int ipLength = 20 + l4Header + payload.length;
        ByteBuffer f = ByteBuffer.allocate(14 + ipLength);
        f.put(dst).put(src).putShort((short) 0x0800);
        f.put((byte) 0x45).put((byte) 0).putShort((short) ipLength).putShort((short) 0x2a00).putShort((short) 0x4000);
        f.put((byte) 64).put((byte) proto).putShort((short) 0).put(GUEST_IP).put(PEER_IP);
        if (proto == TCP) {
            f.putShort((short) 40000).putShort((short) 80).putInt(0x10203040).putInt(0x55667788);
            f.put((byte) 0x50).put((byte) tcpFlags).putShort((short) 29200).putShort((short) 0).putShort((short) 0);
        } else {
            f.putShort((short) 5353).putShort((short) 53).putShort((short) (8 + payload.length)).putShort((short) 0);
        }
        f.put(payload);
        byte[] b = f.array();
        if (checksummed) {
            putBe16(b, 24, internetChecksum(b, 14, 20, 0));
            putBe16(b, 34 + (proto == TCP ? 16 : 6), l4Checksum(b, 14));
        }
        return b;
    }

    static byte[] payload(int length, int seed) {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++) {
            p[i] = (byte) (i * 31 + seed);
        }
        return p;
    }

    /** The TCP or UDP checksum the segment at {@code ip}'s payload should carry. */
    static int l4Checksum(byte[] frame, int ip) {
        int ihl = (frame[ip] & 0x0f) * 4;
        int total = be16(frame, ip + 2);
        int proto = frame[ip + 9] & 0xff;
        int l4 = ip + ihl;
        int field = l4 + (proto == TCP ? 16 : 6);
        byte[] copy = Arrays.copyOfRange(frame, 0, ip + total);
        copy[field] = 0;
        copy[field + 1] = 0;
        long pseudo = 0;
        for (int i = 0; i < 8; i += 2) {
            pseudo += be16(copy, ip + 12 + i);
        }
        pseudo += proto + (total - ihl);
        int c = internetChecksum(copy, l4, total - ihl, pseudo);
        return proto == UDP && c == 0 ? 0xffff : c;
    }

    /** RFC 1071: the complement of the one's-complement sum of 16-bit words. */
    static int internetChecksum(byte[] b, int off, int len, long initial) {
        long sum = initial;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += ((b[off + i] & 0xff) << 8) + (b[off + i + 1] & 0xff);
        }
        if (len % 2 == 1) {
            sum += (b[off + len - 1] & 0xff) << 8;
        }
        while (sum >> 16 != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** Asserts that the IPv4 header and the TCP/UDP checksum of {@code frame} (IP at {@code ip}) are right. */
    static void assertChecksumsValid(byte[] frame, int ip, String what) {
        int ihl = (frame[ip] & 0x0f) * 4;
        assertEquals(0, internetChecksum(frame, ip, ihl, 0), what + ": IP header checksum");
        int proto = frame[ip + 9] & 0xff;
        int field = ip + ihl + (proto == TCP ? 16 : 6);
        assertEquals(l4Checksum(frame, ip), be16(frame, field), what + ": transport checksum");
    }

    /** The Ethernet FCS: reflected CRC-32 (poly 0xedb88320), complemented, sent least significant byte first. */
    static byte[] fcs(byte[] frame, int length) {
        int crc = 0xffffffff;
        for (int i = 0; i < length; i++) {
            crc ^= frame[i] & 0xff;
            for (int k = 0; k < 8; k++) {
                crc = (crc & 1) != 0 ? crc >>> 1 ^ 0xedb88320 : crc >>> 1;
            }
        }
        crc = ~crc;
        return new byte[] {(byte) crc, (byte) (crc >> 8), (byte) (crc >> 16), (byte) (crc >> 24)};
    }

    /** Linux's ether_crc(): the big-endian CRC-32 whose top six bits index the 8139's 64-bit multicast filter. */
    static int etherCrc(byte[] mac) {
        int crc = -1;
        for (byte octet : mac) {
            int current = octet;
            for (int bit = 0; bit < 8; bit++, current >>= 1) {
                crc = (crc << 1) ^ ((crc < 0) ^ ((current & 1) != 0) ? 0x04c11db7 : 0);
            }
        }
        return crc;
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

    /** {@code frame} padded with zeros to the 60-byte Ethernet minimum, as the NIC delivers it. */
    static byte[] padded(byte[] frame) {
        return frame.length >= 60 ? frame : Arrays.copyOf(frame, 60);
    }
}
