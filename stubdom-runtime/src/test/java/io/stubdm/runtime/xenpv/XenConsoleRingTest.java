package io.stubdm.runtime.xenpv;

import static io.stubdm.runtime.xenpv.XenConsoleRing.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The console ring's arithmetic over a plain page, with the domain's side written by hand. */
class XenConsoleRingTest {
    private final ByteBuffer page = ByteBuffer.allocateDirect(4096).order(ByteOrder.LITTLE_ENDIAN);
    private final XenConsoleRing ring = new XenConsoleRing(page, "test console");

    /** What hvc_xen's __write_console does: bytes at out_prod, then the index. */
    private void domainWrites(byte[] bytes) {
        int prod = page.getInt(OFFSET_OUT_PROD);
        for (byte b : bytes) {
            page.put(OFFSET_OUT + (prod++ & (OUT_SIZE - 1)), b);
        }
        page.putInt(OFFSET_OUT_PROD, prod);
    }

    /** What hvc_xen's domU_read_console does: bytes from in_cons to in_prod, then in_cons. */
    private byte[] domainReads() {
        int cons = page.getInt(OFFSET_IN_CONS);
        int prod = page.getInt(OFFSET_IN_PROD);
        byte[] got = new byte[prod - cons];
        for (int i = 0; i < got.length; i++) {
            got[i] = page.get(OFFSET_IN + ((cons + i) & (IN_SIZE - 1)));
        }
        page.putInt(OFFSET_IN_CONS, prod);
        return got;
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + i * 7);
        }
        return b;
    }

    @Test
    void outputIsTakenInOrderAcrossTheWrapOfRingAndIndices() {
        // Free-running indices just below 2^32: both the ring offset and the 32-bit index wrap on the way.
        page.putInt(OFFSET_OUT_CONS, -100);
        page.putInt(OFFSET_OUT_PROD, -100);
        byte[] all = new byte[0];
        byte[] got = new byte[0];
        for (int round = 0; round < 5; round++) {
            byte[] chunk = pattern(1500, round);
            domainWrites(chunk);
            all = concat(all, chunk);
            byte[] buf = new byte[4096];
            int n = ring.takeOutput(buf, 0, 1000);
            assertEquals(1000, n, "at most what the caller has room for");
            n += ring.takeOutput(buf, n, 4096 - n);
            assertEquals(1500, n);
            got = concat(got, java.util.Arrays.copyOf(buf, n));
        }
        assertArrayEquals(all, got);
        assertEquals(-100 + 7500, page.getInt(OFFSET_OUT_CONS));
        assertEquals(0, ring.takeOutput(new byte[10], 0, 10), "empty");
        assertEquals(0, ring.protocolErrors());
    }

    @Test
    void inputFillsOnlyTheRoomTheDomainLeftAndWraps() {
        page.putInt(OFFSET_IN_CONS, Integer.MAX_VALUE - 10);
        page.putInt(OFFSET_IN_PROD, Integer.MAX_VALUE - 10);
        byte[] keys = pattern(3000, 1);
        assertEquals(IN_SIZE, ring.inputRoom());
        int n = ring.putInput(keys, 0, keys.length);
        assertEquals(IN_SIZE, n, "a full ring, nothing beyond");
        assertEquals(0, ring.inputRoom());
        assertEquals(0, ring.putInput(keys, n, keys.length - n));
        byte[] first = domainReads();
        assertArrayEquals(java.util.Arrays.copyOf(keys, IN_SIZE), first);
        int m = ring.putInput(keys, n, 100);
        assertEquals(100, m);
        assertArrayEquals(java.util.Arrays.copyOfRange(keys, IN_SIZE, IN_SIZE + 100), domainReads());
    }

    @Test
    void aProducerTooFarAheadIsAProtocolErrorThatEmptiesTheRingOnce() {
        page.putInt(OFFSET_OUT_CONS, 0);
        page.putInt(OFFSET_OUT_PROD, OUT_SIZE + 1);
        byte[] buf = new byte[8192];
        assertEquals(0, ring.takeOutput(buf, 0, buf.length), "nothing is taken from a lying ring");
        assertEquals(OUT_SIZE + 1, page.getInt(OFFSET_OUT_CONS), "resynchronised to the producer");
        assertEquals(1, ring.protocolErrors());
        page.putInt(OFFSET_OUT_PROD, OUT_SIZE + 1 - 5); // behind the consumer: as wrong, the other way
        assertEquals(0, ring.takeOutput(buf, 0, buf.length));
        assertEquals(2, ring.protocolErrors());
        domainWrites("ok".getBytes());
        assertEquals(2, ring.takeOutput(buf, 0, buf.length), "an honest write afterwards goes through");
        assertEquals('o', buf[0]);
        // A full ring (exactly OUT_SIZE) is not an error.
        domainWrites(pattern(OUT_SIZE, 3));
        assertEquals(OUT_SIZE, ring.takeOutput(buf, 0, buf.length));
        assertEquals(2, ring.protocolErrors());
    }

    @Test
    void aConsumerAheadOfTheInputProducerIsResynchronised() {
        page.putInt(OFFSET_IN_PROD, 10);
        page.putInt(OFFSET_IN_CONS, 5000);
        assertEquals(IN_SIZE, ring.inputRoom());
        assertEquals(3, ring.putInput("abc".getBytes(), 0, 3));
        assertEquals(5003, page.getInt(OFFSET_IN_PROD));
        assertEquals("abc", new String(domainReads()));
        assertEquals(1, ring.protocolErrors());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
