package io.stubdm.backends.vnc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class VncAuthTest {
    private static final byte[] CHALLENGE_0_TO_15 = new byte[16];

    static {
        for (int i = 0; i < 16; i++) {
            CHALLENGE_0_TO_15[i] = (byte) i;
        }
    }

    /** Computed once with this test's independent bit reversal and DES, and checked against `openssl enc -des-ecb`. */
    @Test
    void fixedVector() {
        byte[] expected = HexFormat.of().parseHex("b866924125c8eebb9debc1db61c538e2");
        assertArrayEquals(expected, VncAuth.response(VncAuth.key("password"), CHALLENGE_0_TO_15));
        assertArrayEquals(expected, RfbClient.vncAuthResponse("password", CHALLENGE_0_TO_15));
    }

    @Test
    void keyBytesAreBitReversed() {
        // 'p' = 0x70 = 01110000 -> 00001110 = 0x0e, 'a' = 0x61 -> 0x86, 's' = 0x73 -> 0xce, ...
        assertEquals("0e86ceceeef64e26", HexFormat.of().formatHex(VncAuth.key("password")));
        assertEquals("8000000000000000", HexFormat.of().formatHex(VncAuth.key("\u0001")));
    }

    @Test
    void agreesWithTheTestClientsIndependentImplementation() {
        Random random = new Random(42);
        for (int i = 0; i < 50; i++) {
            StringBuilder pw = new StringBuilder();
            for (int n = random.nextInt(12); n > 0; n--) {
                pw.append((char) (0x21 + random.nextInt(94)));
            }
            byte[] challenge = new byte[16];
            random.nextBytes(challenge);
            assertArrayEquals(RfbClient.vncAuthResponse(pw.toString(), challenge),
                    VncAuth.response(VncAuth.key(pw.toString()), challenge), pw.toString());
        }
    }

    @Test
    void onlyTheFirstEightCharactersCount() {
        assertArrayEquals(VncAuth.key("password"), VncAuth.key("password-and-more"));
        byte[] c = CHALLENGE_0_TO_15;
        assertTrue(VncAuth.verify(VncAuth.key("password"), c, RfbClient.vncAuthResponse("passwordXYZ", c)));
        assertFalse(VncAuth.verify(VncAuth.key("passwore"), c, RfbClient.vncAuthResponse("password", c)));
    }

    @Test
    void emptyPasswordIsAnAllZeroKey() {
        assertArrayEquals(new byte[8], VncAuth.key(""));
        byte[] c = CHALLENGE_0_TO_15;
        assertTrue(VncAuth.verify(VncAuth.key(""), c, RfbClient.vncAuthResponse("", c)));
    }

    @Test
    void configRequiresAPasswordOnceOneIsSet() {
        AuthConfig none = new AuthConfig(false);
        assertEquals(AuthConfig.NONE, none.securityType());
        none.setPassword("secret");
        assertEquals(AuthConfig.VNC, none.securityType());
        byte[] c = CHALLENGE_0_TO_15;
        assertTrue(none.verify(c, RfbClient.vncAuthResponse("secret", c)));
        assertFalse(none.verify(c, RfbClient.vncAuthResponse("Secret", c)));
    }

    @Test
    void passwordOnWithoutPasswordFailsEveryLogin() {
        AuthConfig on = new AuthConfig(true);
        assertEquals(AuthConfig.VNC, on.securityType());
        byte[] c = CHALLENGE_0_TO_15;
        assertFalse(on.verify(c, RfbClient.vncAuthResponse("", c)));
        assertFalse(on.verify(c, new byte[16]));
    }

    @Test
    void throttleIsFreeUntilAFailure() {
        AtomicLong now = new AtomicLong(5_000_000_000L);
        AuthThrottle t = new AuthThrottle(now::get);
        assertEquals(0, t.admit());
        assertEquals(0, t.admit());
    }

    @Test
    void throttleSerialisesEvaluationsAfterAFailure() {
        AtomicLong now = new AtomicLong(5_000_000_000L);
        AuthThrottle t = new AuthThrottle(now::get);
        long second = TimeUnit.SECONDS.toNanos(1);
        t.failed();
        // Ten guessers at once: each waits one interval more than the one before.
        for (int i = 1; i <= 10; i++) {
            assertEquals(i * second, t.admit());
        }
        // The queue is now longer than the maximum wait: refused without evaluation.
        assertEquals(AuthThrottle.REJECT, t.admit());
        // Once the queue has drained, evaluation is immediate again.
        now.addAndGet(12 * second);
        assertEquals(0, t.admit());
        assertEquals(0, t.admit());
    }

    @Test
    void aLoneTypoCostsOneSecond() {
        AtomicLong now = new AtomicLong(0);
        AuthThrottle t = new AuthThrottle(now::get);
        t.failed();
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(300));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(700), t.admit());
        now.addAndGet(TimeUnit.SECONDS.toNanos(3));
        assertEquals(0, t.admit());
    }
}
