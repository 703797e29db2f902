package io.stubdm.runtime.xenpv;

import static io.stubdm.runtime.xenpv.StubDomainSide.STUB;
import static io.stubdm.runtime.xenpv.XenConsoleRing.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.backends.chardev.CharBackend;
import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.sim.SimXen;
import io.stubdm.ioreq.DeviceLoop;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One console between a ring and a character backend that pushes back, with the loop stepped by the test: what
 * is held, what is left in the ring, and that nothing is lost or reordered.
 */
class PvConsoleTest {
    private static final int LIMIT = 4096;

    private final SimXen xen = new SimXen();
    private StubDomainSide stub;
    private EventChannels eventChannels;
    private DeviceLoop loop;
    private final HoldingBackend backend = new HoldingBackend();
    private StubDomainSide.Console ring;
    private PvConsole console;

    /** A backend that takes only its allowance, as a slow pty client or a full pipe would. */
    static final class HoldingBackend implements CharBackend {
        Frontend frontend;
        final ByteArrayOutputStream taken = new ByteArrayOutputStream();
        int allowance;
        int acceptInputCalls;
        boolean closed;

        @Override
        public void connect(Executor loop, Frontend f) {
            frontend = f;
        }

        @Override
        public int write(byte[] buf, int off, int len) {
            int n = Math.min(len, allowance);
            allowance -= n;
            taken.write(buf, off, n);
            return n;
        }

        @Override
        public void acceptInput() {
            acceptInputCalls++;
        }

        @Override
        public String describe() {
            return "holding";
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @BeforeEach
    void setUp() {
        stub = new StubDomainSide(xen);
        eventChannels = xen.openEventChannels();
        loop = new DeviceLoop(eventChannels, "stepped"); // not started: the test turns it
        ring = stub.new Console(1);
        stub.domain.grantAccess(5, ring.gfn, 0, false);
        ring.port = stub.domain.allocUnboundPort(0);
        console = new PvConsole("test console", backend, LIMIT, loop);
        assertSame(console, backend.frontend);
        console.attach(xen.openGrantTables().map(STUB, 5, true), eventChannels.bindInterdomain(STUB, ring.port.port()));
    }

    @AfterEach
    void tearDown() {
        console.close();
        assertTrue(backend.closed);
        eventChannels.close();
        stub.close();
        xen.close();
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed * 31 + i);
        }
        return b;
    }

    @Test
    void outputTheBackendCannotTakeIsHeldUpToTheLimitThenLeftInTheRing() {
        byte[] first = pattern(OUT_SIZE, 1);
        byte[] second = pattern(OUT_SIZE, 2);
        byte[] third = pattern(OUT_SIZE, 3);
        assertEquals(OUT_SIZE, ring.write(first, 0, OUT_SIZE));
        loop.runOnce(0);
        assertEquals(OUT_SIZE, console.pendingBytes(), "held, and the ring is free again");
        assertEquals(OUT_SIZE, ring.index(OFFSET_OUT_CONS));
        assertEquals(OUT_SIZE, ring.write(second, 0, OUT_SIZE));
        loop.runOnce(0);
        assertEquals(LIMIT, console.pendingBytes());
        assertEquals(OUT_SIZE, ring.write(third, 0, OUT_SIZE));
        long notified = ring.port.notifications();
        loop.runOnce(0);
        assertEquals(LIMIT, console.pendingBytes(), "never more than the limit");
        assertEquals(2 * OUT_SIZE, ring.index(OFFSET_OUT_CONS), "the third ring's worth waits in the ring");
        assertEquals(notified, ring.port.notifications(), "nothing consumed, nothing to tell");

        backend.allowance = 1000;
        backend.frontend.writable();
        assertEquals(1000, backend.taken.size());
        assertEquals(LIMIT, console.pendingBytes(), "the room made is refilled from the ring");
        assertEquals(2 * OUT_SIZE + 1000, ring.index(OFFSET_OUT_CONS));

        backend.allowance = Integer.MAX_VALUE;
        backend.frontend.writable();
        assertEquals(0, console.pendingBytes());
        byte[] all = new byte[3 * OUT_SIZE];
        System.arraycopy(first, 0, all, 0, OUT_SIZE);
        System.arraycopy(second, 0, all, OUT_SIZE, OUT_SIZE);
        System.arraycopy(third, 0, all, 2 * OUT_SIZE, OUT_SIZE);
        assertArrayEquals(all, backend.taken.toByteArray(), "every byte, in order");
        assertEquals(3 * OUT_SIZE, ring.index(OFFSET_OUT_CONS));
        assertEquals(3 * OUT_SIZE, console.bytesOut());
    }

    @Test
    void inputBeyondTheRingsRoomWaitsInTheBackendUntilTheDomainReads() {
        byte[] keys = pattern(1500, 4);
        assertEquals(IN_SIZE, console.receive(keys, 0, keys.length));
        assertEquals(0, console.receive(keys, IN_SIZE, keys.length - IN_SIZE), "full: the backend keeps the rest");
        assertEquals(0, backend.acceptInputCalls);
        assertArrayEquals(Arrays.copyOf(keys, IN_SIZE), ring.read()); // and notifies
        loop.runOnce(0);
        assertEquals(1, backend.acceptInputCalls, "room again: the backend resumes");
        assertEquals(keys.length - IN_SIZE, console.receive(keys, IN_SIZE, keys.length - IN_SIZE));
        assertArrayEquals(Arrays.copyOfRange(keys, IN_SIZE, keys.length), ring.read());
        assertEquals(keys.length, console.bytesIn());

        console.detach();
        assertFalse(ring.port.isBound());
        assertEquals(0, console.receive(keys, 0, 10), "no ring: input waits in the backend");
    }
}
