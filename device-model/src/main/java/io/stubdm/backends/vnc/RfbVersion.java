package io.stubdm.backends.vnc;

import java.nio.charset.StandardCharsets;

/** The protocol versions this server speaks (RFC 6143 §7.1.1). */
enum RfbVersion {
    V3_3, V3_7, V3_8;

    /** The ProtocolVersion message: 12 bytes. */
    static final int MESSAGE_BYTES = 12;
    static final byte[] SERVER = "RFB 003.008\n".getBytes(StandardCharsets.US_ASCII);

    /**
     * The version to speak with a client that sent {@code message}, or null when it is not "RFB xxx.yyy\n" of
     * major version 3. Minor versions between those we know count as the one below: 3.4-3.6 as 3.3 (RFC 6143
     * §7.1.1: other versions "should be interpreted as 3.3"), 3.889 (Apple Remote Desktop, which does the 3.8
     * handshake) and anything else from 8 up as 3.8.
     */
    static RfbVersion negotiate(byte[] message) {
        if (message.length != MESSAGE_BYTES || message[0] != 'R' || message[1] != 'F' || message[2] != 'B'
                || message[3] != ' ' || message[7] != '.' || message[11] != '\n') {
            return null;
        }
        int major = digits(message, 4);
        int minor = digits(message, 8);
        if (major != 3 || minor < 3) {
            return null;
        }
        return minor >= 8 ? V3_8 : minor == 7 ? V3_7 : V3_3;
    }

    private static int digits(byte[] m, int at) {
        int v = 0;
        for (int i = at; i < at + 3; i++) {
            if (m[i] < '0' || m[i] > '9') {
                return -1;
            }
            v = v * 10 + (m[i] - '0');
        }
        return v;
    }

    @Override
    public String toString() {
        return switch (this) {
            case V3_3 -> "3.3";
            case V3_7 -> "3.7";
            case V3_8 -> "3.8";
        };
    }
}
