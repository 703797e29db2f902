package io.stubdm.backends.vnc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VncOptionsTest {
    @Test
    void hostAndDisplay() {
        VncOptions o = VncOptions.parse("127.0.0.1:0");
        assertEquals("127.0.0.1", o.host());
        assertEquals(0, o.display());
        assertEquals(0, o.to());
        assertFalse(o.password());
        assertEquals("127.0.0.1:0", o.text());
    }

    @Test
    void emptyHostIsAllInterfaces() {
        VncOptions o = VncOptions.parse(":1");
        assertEquals("", o.host());
        assertTrue(o.allInterfaces());
        assertEquals(1, o.display());
    }

    @Test
    void bracketedIpv6() {
        VncOptions o = VncOptions.parse("[::1]:2");
        assertEquals("::1", o.host());
        assertEquals(2, o.display());
    }

    @Test
    void toGivesTheLastDisplayToTry() {
        VncOptions o = VncOptions.parse("localhost:0,to=99");
        assertEquals("localhost", o.host());
        assertEquals(0, o.display());
        assertEquals(99, o.to());
    }

    @Test
    void passwordForms() {
        assertTrue(VncOptions.parse("0.0.0.0:0,password=on").password());
        assertTrue(VncOptions.parse("0.0.0.0:0,password").password());
        assertFalse(VncOptions.parse("0.0.0.0:0,password=off").password());
        assertTrue(VncOptions.parse(":0,to=3,password=yes").password());
    }

    @Test
    void harmlessQemuKeysAreIgnored() {
        VncOptions o = VncOptions.parse("127.0.0.1:3,lossy,share=ignore,websocket=5700,key-delay-ms=10,"
                + "non-adaptive=on,connections=8,power-control=off,reverse=off");
        assertEquals(3, o.display());
        assertFalse(o.password());
    }

    @Test
    void largestDisplayIsPort65535() {
        assertEquals(VncOptions.MAX_DISPLAY, VncOptions.parse(":59635").display());
    }

    @ParameterizedTest
    @ValueSource(strings = {"unix:/run/vnc.sock", "none", "127.0.0.1", "127.0.0.1:0,bogus=1", "::1:2", "[::1:2",
            "127.0.0.1:x", ":59636", "localhost:5,to=3", "localhost:5,to=", "localhost:5,to", ":0,password=maybe",
            ":0,tls-creds=tls0", ":0,sasl", ":0,reverse=on", "", ":", ":0,,lossy", "1.2.3.4:-1"})
    void rejected(String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VncOptions.parse(value));
        assertTrue(e.getMessage().contains(value), e.getMessage());
        assertTrue(e.getMessage().contains("host:display") || e.getMessage().contains("127.0.0.1:0"),
                "names what is accepted: " + e.getMessage());
    }

    @Test
    void unknownKeyIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VncOptions.parse("127.0.0.1:0,bogus=1"));
        assertTrue(e.getMessage().contains("bogus"), e.getMessage());
    }

    @Test
    void recordValidatesRanges() {
        assertThrows(IllegalArgumentException.class, () -> new VncOptions("", 5, 4, false, ""));
        assertThrows(IllegalArgumentException.class, () -> new VncOptions("", -1, 0, false, ""));
        assertThrows(IllegalArgumentException.class, () -> new VncOptions(null, 0, 0, false, ""));
    }
}
