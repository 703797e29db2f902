package io.stubdm.runtime.xenpv;

import io.stubdm.backends.chardev.CharBackend;
import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.XenException;
import io.stubdm.ioreq.DeviceLoop;
import java.lang.System.Logger.Level;

/**
 * One PV console of a stub domain, the backend half of QEMU's {@code hw/char/xen_console.c}: the bytes the
 * domain writes into its ring go to the console's output (a file, a pipe, a pty), and what the output gives
 * (keystrokes on the pty, the saved state libxl writes into the restore pipe) goes into the ring.
 *
 * <p>The output is open for the console's whole life; the ring comes and goes with the frontend
 * ({@link #attach}/{@link #detach}). Everything runs on the loop.
 *
 * <p>Output that the character backend cannot take at once waits in a buffer of at most {@code limit} bytes (the
 * frontend's {@code limit} key, QEMU's cap); once that is full the ring is left unread, so the domain waits for
 * room instead of losing bytes.
 */
final class PvConsole implements CharBackend.Frontend {
    private static final System.Logger LOG = System.getLogger(PvConsole.class.getName());

    /** Ring readings per serve() before the rest waits for the loop's next turn (16 full rings, 32 KiB). */
    private static final int TURNS_PER_SERVE = 16;

    private final String label;
    private final CharBackend output;
    private final DeviceLoop loop;
    private final EventChannels eventChannels;
    private final int limit;

    /** Output taken from the ring and not yet taken by the backend: {@code pending[start..end)}. */
    private byte[] pending = new byte[XenConsoleRing.OUT_SIZE];
    private int start;
    private int end;
    private boolean backendFull;
    /** The backend holds input the ring had no room (or no ring) for; it waits for acceptInput. */
    private boolean inputHeld;

    private XenConsoleRing ring;
    private ForeignMemory.ForeignMapping mapping;
    private int localPort = -1;
    private long bytesOut;
    private long bytesIn;
    private boolean closed;

    /**
     * Takes {@code output}, connected to this console from now on. {@code limit}: the most output bytes to hold
     * while the backend cannot take them (at least one ring's worth is always allowed).
     */
    PvConsole(String label, CharBackend output, int limit, DeviceLoop loop) {
        this.label = label;
        this.output = output;
        this.loop = loop;
        this.eventChannels = loop.eventChannels();
        this.limit = Math.max(limit, XenConsoleRing.OUT_SIZE);
        output.connect(loop, this);
    }

    String label() {
        return label;
    }

    CharBackend output() {
        return output;
    }

    boolean isAttached() {
        return ring != null;
    }

    /**
     * Connects the ring in {@code ringPage} (owned from now on) and the event channel, bound at {@code localPort},
     * and serves whatever the domain left in the ring already.
     */
    void attach(ForeignMemory.ForeignMapping ringPage, int boundLocalPort) {
        if (ring != null) {
            throw new IllegalStateException(label + " is attached already");
        }
        mapping = ringPage;
        localPort = boundLocalPort;
        ring = new XenConsoleRing(ringPage.buffer(), label);
        loop.registerPort(boundLocalPort, p -> onEvent());
        serve();
    }

    /** Unbinds the event channel and unmaps the ring; output already taken still goes out. */
    void detach() {
        if (ring == null) {
            return;
        }
        loop.unregisterPort(localPort);
        try {
            eventChannels.unbind(localPort);
        } catch (XenException e) {
            LOG.log(Level.WARNING, label + ": unbinding event channel port " + localPort + ": " + e.getMessage());
        }
        mapping.close();
        ring = null;
        mapping = null;
        localPort = -1;
    }

    private void onEvent() {
        serve();
        eventChannels.unmask(localPort);
    }

    /** Moves what can move both ways and notifies the domain if its ring changed. */
    private void serve() {
        if (ring == null || closed) {
            return;
        }
        boolean changed = false;
        // Ring to buffer to backend, until the ring is empty or the buffer is full (writable() resumes then). A
        // domain that writes as fast as the backend takes gets a bounded share of the loop per turn.
        for (int turn = 0; ; turn++) {
            flushPending();
            int room = limit - (end - start);
            if (room == 0) {
                break;
            }
            if (turn == TURNS_PER_SERVE) {
                loop.execute(this::serve);
                break;
            }
            makeRoom(Math.min(room, XenConsoleRing.OUT_SIZE));
            int n = ring.takeOutput(pending, end, Math.min(room, pending.length - end));
            if (n == 0) {
                break;
            }
            end += n;
            bytesOut += n;
            changed = true;
        }
        if (changed) {
            eventChannels.notify(localPort);
        }
        if (inputHeld && ring.inputRoom() > 0) {
            inputHeld = false;
            output.acceptInput(); // delivers through receive(), which notifies
        }
    }

    /** Makes {@code want} bytes of room after {@code end}, compacting or growing {@link #pending} up to limit. */
    private void makeRoom(int want) {
        if (pending.length - end >= want) {
            return;
        }
        int held = end - start;
        if (pending.length - held >= want) {
            System.arraycopy(pending, start, pending, 0, held);
        } else {
            byte[] bigger = new byte[Math.min(limit, Math.max(pending.length * 2, held + want))];
            System.arraycopy(pending, start, bigger, 0, held);
            pending = bigger;
        }
        start = 0;
        end = held;
    }

    private void flushPending() {
        if (start == end || backendFull) {
            return;
        }
        int n = output.write(pending, start, end - start);
        start += n;
        if (start == end) {
            start = 0;
            end = 0;
        } else {
            backendFull = true;
        }
    }

    @Override
    public void writable() {
        backendFull = false;
        flushPending();
        serve();
    }

    @Override
    public int receive(byte[] buf, int off, int len) {
        if (ring == null || closed) {
            inputHeld = true;
            return 0;
        }
        int n = ring.putInput(buf, off, len);
        if (n > 0) {
            bytesIn += n;
            eventChannels.notify(localPort);
        }
        if (n < len) {
            inputHeld = true;
        }
        return n;
    }

    /** Bytes taken from the domain's output ring / put into its input ring. */
    long bytesOut() {
        return bytesOut;
    }

    long bytesIn() {
        return bytesIn;
    }

    /** Output waiting for the backend. */
    int pendingBytes() {
        return end - start;
    }

    /** Detaches and closes the output, which flushes what it took. */
    void close() {
        if (closed) {
            return;
        }
        if (start != end) {
            LOG.log(Level.WARNING, label + ": closing with " + (end - start) + " bytes of output the backend "
                    + output.describe() + " never took");
        }
        detach();
        closed = true;
        output.close();
        start = 0;
        end = 0;
    }
}
