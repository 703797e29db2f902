package io.stubdm.backends.net;

import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.io.IOException;

/** Ethernet frames for backend tests, and free loopback ports. */
final class Frames {
    static final byte[] MAC_A = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
    static final byte[] MAC_B = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

    private Frames() {
    }

    /** A frame from {@code src} to {@code dst} of {@code length} bytes whose payload encodes {@code seq}. */
    static byte[] numbered(byte[] dst, byte[] src, int seq, int length) {
        byte[] f = new byte[length];
        System.arraycopy(dst, 0, f, 0, 6);
        System.arraycopy(src, 0, f, 6, 6);
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5; // local experimental ethertype
        for (int i = 14; i < length; i++) {
            f[i] = (byte) (seq * 31 + i);
        }
        f[14] = (byte) (seq >> 8);
        f[15] = (byte) seq;
        return f;
    }

    /** A loopback UDP port nothing is bound to right now. */
    static int freePort() throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.bind(new InetSocketAddress("127.0.0.1", 0));
            return ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
    }

    static InetSocketAddress loopback(int port) {
        return new InetSocketAddress("127.0.0.1", port);
    }
}
