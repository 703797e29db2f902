package io.stubdm.backends.vnc;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * VNC Authentication (RFC 6143 §7.2.2): the client DES-encrypts a 16-byte challenge with the password as key.
 * The key is the password's first 8 bytes, zero padded, each byte with its bits in reverse order: the original
 * VNC code fed DES an LSB-first key, and every client since has copied it.
 */
final class VncAuth {
    static final int CHALLENGE_BYTES = 16;
    static final int KEY_BYTES = 8;

    private VncAuth() {}

    static byte[] challenge(SecureRandom random) {
        byte[] c = new byte[CHALLENGE_BYTES];
        random.nextBytes(c);
        return c;
    }

    /** The DES key for {@code password}: its first 8 characters (as ISO-8859-1 bytes), bit-reversed. */
    static byte[] key(String password) {
        byte[] key = new byte[KEY_BYTES];
        for (int i = 0; i < Math.min(KEY_BYTES, password.length()); i++) {
            char c = password.charAt(i);
            int b = c <= 0xFF ? c : '?';
            key[i] = (byte) (Integer.reverse(b) >>> 24);
        }
        return key;
    }

    /** The response a client that knows the key sends for {@code challenge}. */
    static byte[] response(byte[] key, byte[] challenge) {
        try {
            Cipher des = Cipher.getInstance("DES/ECB/NoPadding");
            des.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "DES"));
            return des.doFinal(challenge);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("DES is not available", e);
        }
    }

    /** Whether {@code response} answers {@code challenge} for {@code key}, in time independent of the bytes. */
    static boolean verify(byte[] key, byte[] challenge, byte[] response) {
        return MessageDigest.isEqual(response(key, challenge), response);
    }
}
