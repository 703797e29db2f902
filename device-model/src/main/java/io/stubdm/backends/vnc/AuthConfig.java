package io.stubdm.backends.vnc;

/**
 * Which security type new connections get, and the password. QEMU's rules: password=on without a password set
 * fails every login; setting a password (QMP change-vnc-password) turns VNC Authentication on for good.
 */
final class AuthConfig {
    static final int NONE = 1;
    static final int VNC = 2;

    private volatile boolean required;
    private volatile byte[] key;

    AuthConfig(boolean passwordRequired) {
        this.required = passwordRequired;
    }

    void setPassword(String password) {
        if (password == null) {
            throw new IllegalArgumentException("password is null");
        }
        key = VncAuth.key(password);
        required = true;
    }

    /** The RFB security type new connections must use (RFC 6143 §7.2). */
    int securityType() {
        return required ? VNC : NONE;
    }

    /** Whether {@code response} answers {@code challenge}; always false while no password is set. */
    boolean verify(byte[] challenge, byte[] response) {
        byte[] k = key;
        return k != null && VncAuth.verify(k, challenge, response);
    }
}
