package io.stubdm.backends.vnc;

import static io.stubdm.backends.vnc.EmbeddedRfb.ascii;
import static io.stubdm.backends.vnc.EmbeddedRfb.output;
import static io.stubdm.backends.vnc.EmbeddedRfb.send;
import static io.stubdm.backends.vnc.EmbeddedRfb.sendSplit;
import static io.stubdm.backends.vnc.RfbMessages.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import io.stubdm.backends.vnc.FakeConsole.Key;
import io.stubdm.backends.vnc.FakeConsole.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The protocol handler on an EmbeddedChannel: handshakes, authentication, hostile input, input mapping. */
class RfbSessionTest {
    private final EmbeddedRfb rfb = new EmbeddedRfb();

    private static final byte[] SERVER_PIXEL_FORMAT = {32, 24, 0, 1, 0, (byte) 255, 0, (byte) 255, 0, (byte) 255,
            16, 8, 0, 0, 0, 0};

    private static void assertServerInit(byte[] out, int w, int h, String name) {
        ByteBuffer b = ByteBuffer.wrap(out);
        assertEquals(w, b.getShort() & 0xFFFF);
        assertEquals(h, b.getShort() & 0xFFFF);
        byte[] pf = new byte[16];
        b.get(pf);
        assertArrayEquals(SERVER_PIXEL_FORMAT, pf);
        byte[] n = new byte[b.getInt()];
        b.get(n);
        assertEquals(name, new String(n, StandardCharsets.UTF_8));
        assertFalse(b.hasRemaining());
    }

    private static byte[] u32(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }

    /** SecurityResult failed with a reason string (3.8). */
    private static String failureReason(byte[] out) {
        ByteBuffer b = ByteBuffer.wrap(out);
        assertEquals(1, b.getInt());
        byte[] reason = new byte[b.getInt()];
        b.get(reason);
        assertFalse(b.hasRemaining());
        return new String(reason, StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- handshakes

    @Test
    void version38WithoutAuthentication() {
        EmbeddedChannel ch = rfb.open();
        assertArrayEquals(ascii("RFB 003.008\n"), output(ch));
        send(ch, ascii("RFB 003.008\n"));
        assertArrayEquals(new byte[] {1, 1}, output(ch)); // one type: None
        send(ch, (byte) 1);
        assertArrayEquals(u32(0), output(ch)); // 3.8: SecurityResult even for None
        send(ch, (byte) 0); // ClientInit, not shared: shared anyway
        assertArrayEquals(new byte[0], output(ch)); // ServerInit needs a capture, on the refresh thread
        rfb.tick();
        assertServerInit(output(ch), 64, 48, "test-desktop");
        assertTrue(ch.isActive());
    }

    @Test
    void version37HasNoSecurityResultForNone() {
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, ascii("RFB 003.007\n"));
        assertArrayEquals(new byte[] {1, 1}, output(ch));
        send(ch, (byte) 1);
        assertArrayEquals(new byte[0], output(ch));
        send(ch, (byte) 1);
        rfb.tick();
        assertServerInit(output(ch), 64, 48, "test-desktop");
    }

    @Test
    void version33ServerPicksTheType() {
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, ascii("RFB 003.003\n"));
        assertArrayEquals(u32(1), output(ch));
        send(ch, (byte) 1);
        rfb.tick();
        assertServerInit(output(ch), 64, 48, "test-desktop");
    }

    @Test
    void version33WithVncAuthentication() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, ascii("RFB 003.003\n"));
        byte[] out = output(ch);
        assertEquals(4 + 16, out.length);
        assertArrayEquals(u32(2), java.util.Arrays.copyOf(out, 4));
        byte[] challenge = java.util.Arrays.copyOfRange(out, 4, 20);
        send(ch, RfbClient.vncAuthResponse("secret", challenge));
        assertArrayEquals(u32(0), output(ch));
        send(ch, (byte) 1);
        rfb.tick();
        assertServerInit(output(ch), 64, 48, "test-desktop");
    }

    static Stream<Arguments> versions() {
        // What the client says -> what the server then sends for None: 3.3 a u32 type, 3.7+ a type list.
        return Stream.of(Arguments.of("RFB 003.004\n", "3.3"), Arguments.of("RFB 003.005\n", "3.3"),
                Arguments.of("RFB 003.006\n", "3.3"), Arguments.of("RFB 003.007\n", "3.7"),
                Arguments.of("RFB 003.889\n", "3.8"), Arguments.of("RFB 003.010\n", "3.8"),
                Arguments.of("RFB 003.999\n", "3.8"));
    }

    @ParameterizedTest
    @MethodSource("versions")
    void versionsBetweenKnownOnesCountAsTheOneBelow(String client, String spoken) {
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, ascii(client));
        if (spoken.equals("3.3")) {
            assertArrayEquals(u32(1), output(ch));
        } else {
            assertArrayEquals(new byte[] {1, 1}, output(ch));
            send(ch, (byte) 1);
            assertArrayEquals(spoken.equals("3.8") ? u32(0) : new byte[0], output(ch));
        }
        send(ch, (byte) 1);
        rfb.tick();
        assertServerInit(output(ch), 64, 48, "test-desktop");
    }

    @ParameterizedTest
    @ValueSource(strings = {"RFB 004.000\n", "RFB 003.002\n", "RFB 002.008\n", "GET / HTTP/1", "RFB 003.00x\n",
            "RFB 003.008\r", "rfb 003.008\n", "RFB\u0000003.008\n"})
    void badVersionsClose(String version) {
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, version.getBytes(StandardCharsets.ISO_8859_1));
        assertFalse(ch.isActive());
        assertArrayEquals(new byte[0], output(ch));
    }

    // ---------------------------------------------------------------- authentication

    private byte[] challengeFor38(EmbeddedChannel ch) {
        output(ch);
        send(ch, ascii("RFB 003.008\n"));
        assertArrayEquals(new byte[] {1, 2}, output(ch)); // one type: VNC Authentication
        send(ch, (byte) 2);
        byte[] challenge = output(ch);
        assertEquals(16, challenge.length);
        return challenge;
    }

    @Test
    void correctPassword() throws IOException {
        rfb.auth.setPassword("secret");
        EmbeddedChannel ch = rfb.open();
        try (RfbClient c = rfb.client(ch, "secret")) {
            assertEquals(64, c.width());
            assertEquals(48, c.height());
            assertEquals("test-desktop", c.name());
        }
    }

    @Test
    void challengesAreFresh() {
        rfb.auth.setPassword("secret");
        byte[] a = challengeFor38(rfb.open());
        byte[] b = challengeFor38(rfb.open());
        assertFalse(java.util.Arrays.equals(a, b));
    }

    @Test
    void wrongPasswordFailsAfterADelayAndCloses() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel ch = rfb.open();
        byte[] challenge = challengeFor38(ch);
        send(ch, RfbClient.vncAuthResponse("guess", challenge));
        assertArrayEquals(new byte[0], output(ch)); // the result is held back
        assertTrue(ch.isActive());
        rfb.advance(ch, RfbSession.FAILURE_RESULT_DELAY_MILLIS);
        assertEquals("authentication failed", failureReason(output(ch)));
        assertFalse(ch.isActive());
    }

    @Test
    void wrongPasswordIn37HasNoReason() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, ascii("RFB 003.007\n"));
        output(ch);
        send(ch, (byte) 2);
        byte[] challenge = output(ch);
        send(ch, RfbClient.vncAuthResponse("Secret", challenge));
        rfb.advance(ch, RfbSession.FAILURE_RESULT_DELAY_MILLIS);
        assertArrayEquals(u32(1), output(ch));
        assertFalse(ch.isActive());
    }

    @Test
    void passwordOnWithoutAPasswordFailsEveryLogin() {
        EmbeddedRfb locked = new EmbeddedRfb(new FakeConsole(8, 8, 0), true);
        EmbeddedChannel ch = locked.open();
        output(ch);
        send(ch, ascii("RFB 003.008\n"));
        assertArrayEquals(new byte[] {1, 2}, output(ch));
        send(ch, (byte) 2);
        byte[] challenge = output(ch);
        send(ch, RfbClient.vncAuthResponse("", challenge));
        locked.advance(ch, RfbSession.FAILURE_RESULT_DELAY_MILLIS);
        assertEquals("authentication failed", failureReason(output(ch)));
        assertFalse(ch.isActive());
    }

    @Test
    void aTypeThatWasNotOfferedFails() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, ascii("RFB 003.008\n"));
        output(ch);
        send(ch, (byte) 1); // None, when only VNC Authentication was offered
        assertTrue(failureReason(output(ch)).contains("not offered"));
        assertFalse(ch.isActive());
    }

    @Test
    void afterAFailureTheNextLoginAnywhereWaitsItsTurn() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel guesser = rfb.open();
        send(guesser, RfbClient.vncAuthResponse("guess", challengeFor38(guesser)));
        // Another connection, right away, even with the right password, is not answered at once...
        EmbeddedChannel other = rfb.open();
        send(other, RfbClient.vncAuthResponse("secret", challengeFor38(other)));
        assertArrayEquals(new byte[0], output(other));
        // ...but once the interval has passed.
        rfb.advance(other, AuthThrottle.INTERVAL_NANOS / 1_000_000);
        assertArrayEquals(u32(0), output(other));
        assertTrue(other.isActive());
    }

    @Test
    void aLongQueueOfGuessesIsRefusedUnevaluated() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel first = rfb.open();
        send(first, RfbClient.vncAuthResponse("guess", challengeFor38(first)));
        for (int i = 0; i < 10; i++) {
            EmbeddedChannel queued = rfb.open();
            send(queued, RfbClient.vncAuthResponse("guess", challengeFor38(queued)));
        }
        EmbeddedChannel late = rfb.open();
        send(late, RfbClient.vncAuthResponse("secret", challengeFor38(late))); // right, but too late to be tried
        rfb.advance(late, RfbSession.FAILURE_RESULT_DELAY_MILLIS);
        assertTrue(failureReason(output(late)).contains("too many"));
        assertFalse(late.isActive());
    }

    // ---------------------------------------------------------------- split input

    @Test
    void everythingSplitByteByByte() throws IOException {
        EmbeddedChannel ch = rfb.open();
        output(ch);
        sendSplit(ch, ascii("RFB 003.008\n"));
        assertArrayEquals(new byte[] {1, 1}, output(ch));
        sendSplit(ch, (byte) 1, (byte) 1);
        assertArrayEquals(u32(0), output(ch));
        rfb.tick();
        output(ch);
        PixelFormat rgb565 = new PixelFormat(16, 16, true, true, 31, 63, 31, 11, 5, 0);
        sendSplit(ch, concat(RfbMessages.setPixelFormat(rgb565),
                RfbMessages.setEncodings(FramebufferUpdate.ZRLE, FramebufferUpdate.RAW),
                RfbMessages.key('q', true), RfbMessages.key('q', false),
                RfbMessages.pointer(0, 10, 10), RfbMessages.pointer(1, 13, 8),
                RfbMessages.cutTextHeader(5), ascii("hello"),
                RfbMessages.key(0xff0d, true),
                RfbMessages.updateRequest(false, 0, 0, 64, 48)));
        assertEquals(List.of(new Key(0x15, true), new Key(0x15, false), new Key(0x5A, true)), rfb.console.keys());
        assertEquals(List.of(new Pointer(3, -2, 0, 1)), rfb.console.pointers());
        rfb.console.fillRect(0, 0, 64, 48, 0xFF00FF);
        rfb.tick();
        try (RfbClient c = Encoded.reader(output(ch), 64, 48, rgb565)) {
            int[] fb = c.readUpdate(0);
            assertEquals(FramebufferUpdate.ZRLE, c.lastUpdate().get(0).encoding());
            assertArrayEquals(rfb.console.pixels(), fb);
        }
        assertTrue(ch.isActive());
    }

    // ---------------------------------------------------------------- hostile input

    static Stream<Arguments> hostile() {
        return Stream.of(
                Arguments.of("QEMU client message", new byte[] {(byte) 255, 0, 0, 0}),
                Arguments.of("FixColourMapEntries", new byte[] {1, 0, 0, 0, 0, 0}),
                Arguments.of("undefined type", new byte[] {7}),
                Arguments.of("EnableContinuousUpdates", new byte[] {(byte) 150, 1, 0, 0, 0, 0, 0, 10, 0, 10}),
                Arguments.of("too many encodings", new byte[] {2, 0, 0x07, (byte) 0xD0}),
                Arguments.of("colour-map pixel format", RfbMessages.setPixelFormat(
                        new PixelFormat(8, 8, false, false, 0, 0, 0, 0, 0, 0))),
                Arguments.of("24 bits per pixel", RfbMessages.setPixelFormat(
                        new PixelFormat(24, 24, false, true, 255, 255, 255, 16, 8, 0))),
                Arguments.of("max not a power of two less one", RfbMessages.setPixelFormat(
                        new PixelFormat(32, 24, false, true, 200, 255, 255, 16, 8, 0))),
                Arguments.of("huge cut text", RfbMessages.cutTextHeader(100L << 20)),
                Arguments.of("extended clipboard", RfbMessages.cutTextHeader(0x8000_0010L)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void hostileInputClosesOnlyThatConnection(String what, byte[] message) throws IOException {
        EmbeddedChannel victim = rfb.ready();
        EmbeddedChannel bystander = rfb.ready();
        send(victim, message);
        assertFalse(victim.isActive(), what);
        assertTrue(bystander.isActive());
        send(bystander, RfbMessages.key('x', true));
        assertEquals(List.of(new Key(0x22, true)), rfb.console.keys());
        try (RfbClient c = rfb.attach(bystander, 64, 48)) {
            assertArrayEquals(rfb.console.pixels(), c.awaitUpdate(false, 0));
        }
    }

    @Test
    void floodBeforeServerInitCloses() {
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, ascii("RFB 003.008\n"));
        send(ch, (byte) 1, (byte) 1);
        // No tick: the server waits for a capture; a client that keeps sending is cut off.
        byte[] chunk = RfbMessages.key('a', true);
        byte[] flood = new byte[RfbSession.MAX_PENDING_INPUT + chunk.length];
        for (int i = 0; i + chunk.length <= flood.length; i += chunk.length) {
            System.arraycopy(chunk, 0, flood, i, chunk.length);
        }
        send(ch, flood);
        assertFalse(ch.isActive());
        rfb.tick(); // the pending ServerInit finds the connection gone
        assertEquals(List.of(), rfb.console.keys());
    }

    @Test
    void pipelinedMessagesAfterClientInitWaitForServerInit() {
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, concat(ascii("RFB 003.008\n"), new byte[] {1, 1}, RfbMessages.key('b', true)));
        assertEquals(List.of(), rfb.console.keys());
        rfb.tick();
        assertEquals(List.of(new Key(0x32, true)), rfb.console.keys());
    }

    @Test
    void largeCutTextIsDiscardedAsItStreams() {
        EmbeddedChannel ch = rfb.ready();
        int length = 4 << 20;
        send(ch, RfbMessages.cutTextHeader(length));
        byte[] chunk = new byte[60_000];
        java.util.Arrays.fill(chunk, (byte) 4); // looks like KeyEvents, must not be taken as such
        for (int sent = 0; sent < length; sent += chunk.length) {
            send(ch, java.util.Arrays.copyOf(chunk, Math.min(chunk.length, length - sent)));
            assertTrue(ch.isActive());
        }
        send(ch, RfbMessages.key('c', true));
        assertEquals(List.of(new Key(0x21, true)), rfb.console.keys());
    }

    @Test
    void handshakeTimesOut() {
        EmbeddedChannel ch = rfb.open();
        send(ch, ascii("RFB 003.008\n"));
        rfb.advance(ch, RfbSession.HANDSHAKE_TIMEOUT_SECONDS * 1000);
        assertFalse(ch.isActive());
    }

    @Test
    void anEstablishedSessionDoesNotTimeOut() {
        EmbeddedChannel ch = rfb.ready();
        rfb.advance(ch, RfbSession.HANDSHAKE_TIMEOUT_SECONDS * 2000);
        assertTrue(ch.isActive());
    }

    // ---------------------------------------------------------------- keyboard and pointer

    @Test
    void keysReachTheGuestAsSet2Codes() {
        EmbeddedChannel ch = rfb.ready();
        int[] keysyms = {'a', 'Z', '!', '?', 0xff52, 0xff51, 0xffb7, 0xff8d, 0xffaf, 0xff95};
        int[] codes = {0x1C, 0x1A, 0x16, 0x4A, 0xE075, 0xE06B, 0x6C, 0xE05A, 0xE04A, 0x6C};
        for (int k : keysyms) {
            send(ch, RfbMessages.key(k, true));
            send(ch, RfbMessages.key(k, false));
        }
        List<Key> keys = rfb.console.keys();
        assertEquals(2 * codes.length, keys.size());
        for (int i = 0; i < codes.length; i++) {
            assertEquals(new Key(codes[i], true), keys.get(2 * i));
            assertEquals(new Key(codes[i], false), keys.get(2 * i + 1));
        }
    }

    @Test
    void pauseIsPressOnly() {
        EmbeddedChannel ch = rfb.ready();
        send(ch, concat(RfbMessages.key(0xff13, true), RfbMessages.key(0xff13, false)));
        assertEquals(List.of(new Key(0xE11477, true)), rfb.console.keys());
    }

    @Test
    void heldKeysAndButtonsAreReleasedOnDisconnect() {
        EmbeddedChannel ch = rfb.ready();
        send(ch, concat(RfbMessages.key(0xffe3, true), RfbMessages.key(0xffe1, true), RfbMessages.key('a', true),
                RfbMessages.pointer(0, 5, 5), RfbMessages.pointer(1, 5, 5)));
        rfb.console.clearInput();
        ch.close();
        assertEquals(List.of(new Key(0x1C, false), new Key(0x12, false), new Key(0x14, false)),
                rfb.console.keys());
        assertEquals(List.of(new Pointer(0, 0, 0, 0)), rfb.console.pointers());
    }

    @Test
    void pointerIsRelativeWithWheel() {
        EmbeddedChannel ch = rfb.ready();
        send(ch, concat(RfbMessages.pointer(0, 30, 40), RfbMessages.pointer(0, 25, 45),
                RfbMessages.pointer(8, 25, 45), RfbMessages.pointer(0, 25, 45),
                RfbMessages.pointer(16, 25, 45), RfbMessages.pointer(0, 25, 45),
                RfbMessages.pointer(2, 25, 45), RfbMessages.pointer(4, 26, 45)));
        assertEquals(List.of(new Pointer(-5, 5, 0, 0), new Pointer(0, 0, -1, 0), new Pointer(0, 0, 1, 0),
                new Pointer(0, 0, 0, 4), new Pointer(1, 0, 0, 2)), rfb.console.pointers());
    }

    @Test
    void aClientThatWasNeverAuthenticatedCannotType() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel ch = rfb.open();
        byte[] challenge = challengeFor38(ch);
        send(ch, concat(RfbClient.vncAuthResponse("nope", challenge), new byte[] {1}, RfbMessages.key('a', true)));
        rfb.advance(ch, RfbSession.FAILURE_RESULT_DELAY_MILLIS);
        rfb.tick();
        assertEquals(List.of(), rfb.console.keys());
        assertFalse(ch.isActive());
    }

    @Test
    void clientFailsCleanlyOnAWrongPassword() {
        rfb.auth.setPassword("secret");
        EmbeddedChannel ch = rfb.open();
        // The failure result is delayed: the test client finds nothing to read and gives up.
        assertThrows(IOException.class, () -> rfb.client(ch, "wrong"));
    }
}
