package io.stubdm.runtime.xenpv;

import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The backend's side of a PV console's shared page, {@code struct xencons_interface} of Xen's
 * {@code public/io/console.h}: {@code in[1024]} (backend to domain), {@code out[2048]} (domain to backend), then the
 * four free-running 32-bit indices, each ring's producer and consumer. Indices are masked with the ring's size to
 * find a byte; their difference is how much the ring holds.
 *
 * <p>The domain can write anything into the page. A ring whose indices claim more than it can hold is a protocol
 * error: it is reported once per ring and the backend's own index is set to the domain's (dropping what the
 * indices pretend to hold), so that a hostile domain gets an empty ring rather than a loop or a crash.
 *
 * <p>Ordering follows the protocol's barriers: read the producer index before the bytes it covers and copy them
 * before publishing the consumer index ({@code xen_mb()}); write the bytes before publishing the producer index
 * ({@code xen_wmb()}).
 */
public final class XenConsoleRing {
    private static final System.Logger LOG = System.getLogger(XenConsoleRing.class.getName());

    public static final int IN_SIZE = 1024;
    public static final int OUT_SIZE = 2048;
    public static final int OFFSET_IN = 0;
    public static final int OFFSET_OUT = 1024;
    public static final int OFFSET_IN_CONS = 3072;
    public static final int OFFSET_IN_PROD = 3076;
    public static final int OFFSET_OUT_CONS = 3080;
    public static final int OFFSET_OUT_PROD = 3084;

    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final ByteBuffer page;
    private final String label;
    private boolean outputErrorReported;
    private boolean inputErrorReported;
    private long protocolErrors;

    /** {@code page}: the mapped ring, at least 3088 bytes from position 0. {@code label} names it in log lines. */
    public XenConsoleRing(ByteBuffer page, String label) {
        if (page.capacity() < OFFSET_OUT_PROD + 4) {
            throw new IllegalArgumentException("a console ring needs " + (OFFSET_OUT_PROD + 4) + " bytes, not "
                    + page.capacity());
        }
        this.page = page;
        this.label = label;
    }

    /**
     * Moves up to {@code max} bytes the domain wrote (its {@code out} ring) into {@code dst} at {@code off} and
     * consumes them; returns how many. The caller notifies the domain if this returned more than 0.
     */
    public int takeOutput(byte[] dst, int off, int max) {
        int cons = (int) INT.getVolatile(page, OFFSET_OUT_CONS);
        int prod = (int) INT.getAcquire(page, OFFSET_OUT_PROD);
        int held = prod - cons;
        if (Integer.compareUnsigned(held, OUT_SIZE) > 0) {
            protocolError(true, "out_prod " + Integer.toUnsignedString(prod) + " is " + Integer.toUnsignedString(held)
                    + " bytes ahead of out_cons " + Integer.toUnsignedString(cons) + " (the ring holds " + OUT_SIZE
                    + ")");
            INT.setVolatile(page, OFFSET_OUT_CONS, prod);
            return 0;
        }
        int n = Math.min(held, max);
        for (int i = 0; i < n; i++) {
            dst[off + i] = page.get(OFFSET_OUT + ((cons + i) & (OUT_SIZE - 1)));
        }
        VarHandle.fullFence(); // the bytes are copied before the domain may overwrite them
        INT.setVolatile(page, OFFSET_OUT_CONS, cons + n);
        return n;
    }

    /**
     * Puts up to {@code len} bytes of {@code src} into the domain's {@code in} ring, as many as it has room for;
     * returns how many. The caller notifies the domain if this returned more than 0.
     */
    public int putInput(byte[] src, int off, int len) {
        int cons = (int) INT.getAcquire(page, OFFSET_IN_CONS);
        int prod = (int) INT.getVolatile(page, OFFSET_IN_PROD);
        int held = prod - cons;
        if (Integer.compareUnsigned(held, IN_SIZE) > 0) {
            protocolError(false, "in_cons " + Integer.toUnsignedString(cons) + " is " + Integer.toUnsignedString(-held)
                    + " bytes past in_prod " + Integer.toUnsignedString(prod) + " (the ring holds " + IN_SIZE + ")");
            prod = cons;
            held = 0;
        }
        int n = Math.min(IN_SIZE - held, len);
        VarHandle.fullFence(); // the domain has finished reading the slots before they are reused
        for (int i = 0; i < n; i++) {
            page.put(OFFSET_IN + ((prod + i) & (IN_SIZE - 1)), src[off + i]);
        }
        VarHandle.releaseFence(); // the bytes before the index that publishes them
        INT.setVolatile(page, OFFSET_IN_PROD, prod + n);
        return n;
    }

    /** How many more bytes the domain's {@code in} ring can take now. */
    public int inputRoom() {
        int held = (int) INT.getVolatile(page, OFFSET_IN_PROD) - (int) INT.getAcquire(page, OFFSET_IN_CONS);
        return Integer.compareUnsigned(held, IN_SIZE) > 0 ? IN_SIZE : IN_SIZE - held;
    }

    /** Inconsistent index pairs met so far (each one resynchronised). */
    public long protocolErrors() {
        return protocolErrors;
    }

    private void protocolError(boolean output, String what) {
        protocolErrors++;
        boolean reported = output ? outputErrorReported : inputErrorReported;
        if (!reported) {
            LOG.log(Level.ERROR, label + ": the domain broke the console ring protocol: " + what + "; resynchronising "
                    + "(further errors on this ring are not logged)");
            if (output) {
                outputErrorReported = true;
            } else {
                inputErrorReported = true;
            }
        }
    }
}
