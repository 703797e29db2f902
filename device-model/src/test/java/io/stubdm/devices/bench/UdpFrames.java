package io.stubdm.devices.bench;

import java.nio.ByteBuffer;

/**
 * UDP/IPv4 frames of an exact length with correct IP and UDP checksums, as pktgen and a UDP flood send them: the
 * receive checksum offload (RXCSUM.TUOFL, which Linux enables) then does its full work on every frame rather than
 * giving up on a frame it does not parse.
 */
final class UdpFrames {
    static final int ETHERNET_HEADER = 14;
    static final int IPV4_HEADER = 20;
    static final int UDP_HEADER = 8;
    static final int HEADERS = ETHERNET_HEADER + IPV4_HEADER + UDP_HEADER;
    private static final byte[] SOURCE_IP = {10, 0, 0, 1};
    private static final byte[] DESTINATION_IP = {10, 0, 0, 2};
    private static final int DISCARD_PORT = 9;

    private UdpFrames() {}

    /**
     * A {@code frameBytes}-byte frame (Ethernet header to the end of the UDP payload, no FCS) from {@code source}
     * to {@code destination}; {@code sequence} goes into the IP identification and the payload pattern, so that
     * frames from different sequences differ.
     */
    static byte[] udp4(byte[] destination, byte[] source, int frameBytes, int sequence) {
        if (frameBytes < HEADERS) {
            throw new IllegalArgumentException("a UDP/IPv4 frame has at least " + HEADERS + " bytes, not " + frameBytes);
        }
        byte[] f = new byte[frameBytes];
        ByteBuffer b = ByteBuffer.wrap(f);
        b.put(destination).put(source).putShort((short) 0x0800);
        int ipLength = frameBytes - ETHERNET_HEADER;
        b.put((byte) 0x45).put((byte) 0).putShort((short) ipLength).putShort((short) sequence)
                .putShort((short) 0x4000).put((byte) 64).put((byte) 17).putShort((short) 0)
                .put(SOURCE_IP).put(DESTINATION_IP);
        int udpLength = ipLength - IPV4_HEADER;
        b.putShort((short) DISCARD_PORT).putShort((short) DISCARD_PORT).putShort((short) udpLength).putShort((short) 0);
        for (int i = HEADERS; i < frameBytes; i++) {
            f[i] = (byte) (sequence * 31 + i);
        }
        int ip = ETHERNET_HEADER;
        b.putShort(ip + 10, (short) ~fold(sum(0, f, ip, ip + IPV4_HEADER)));
        int udp = ip + IPV4_HEADER;
        long pseudo = sum(0, f, ip + 12, ip + 20) + 17 + udpLength;
        int udpChecksum = ~fold(sum(pseudo, f, udp, frameBytes)) & 0xffff;
        // 0 would mean "no checksum" (RFC 768); its ones'-complement twin says the same sum.
        b.putShort(udp + 6, (short) (udpChecksum == 0 ? 0xffff : udpChecksum));
        return f;
    }

    private static long sum(long sum, byte[] b, int from, int to) {
        for (int i = from; i < to; i += 2) {
            sum += (b[i] & 0xff) << 8 | (i + 1 < to ? b[i + 1] & 0xff : 0);
        }
        return sum;
    }

    private static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }
}
