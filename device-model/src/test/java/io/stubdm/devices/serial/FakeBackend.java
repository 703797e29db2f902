package io.stubdm.devices.serial;

import io.stubdm.backends.chardev.CharBackend;
import io.stubdm.ioreq.DeviceClock;
import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * A backend the test scripts, used on the device loop only: it records output, holds input until the UART has
 * room for it, and can be made to take output one byte per interval, like a slow host.
 */
final class FakeBackend implements CharBackend {
    private final DeviceClock clock;
    private final long nanosPerByte;
    private Frontend frontend;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final ArrayDeque<Byte> input = new ArrayDeque<>();
    private long nextByteAt;
    private boolean wakeupScheduled;
    private int refusedWrites;

    /** Takes all output at once. */
    FakeBackend() {
        this(null, 0);
    }

    private FakeBackend(DeviceClock clock, long nanosPerByte) {
        this.clock = clock;
        this.nanosPerByte = nanosPerByte;
    }

    /** Takes one byte of output per {@code nanosPerByte}. */
    static FakeBackend slow(DeviceClock clock, long nanosPerByte) {
        return new FakeBackend(clock, nanosPerByte);
    }

    @Override
    public void connect(Executor loop, Frontend frontend) {
        this.frontend = frontend;
    }

    @Override
    public int write(byte[] buf, int off, int len) {
        if (clock == null) {
            output.write(buf, off, len);
            return len;
        }
        long now = clock.nanoTime();
        int taken = 0;
        if (now >= nextByteAt) {
            output.write(buf[off]);
            nextByteAt = now + nanosPerByte;
            taken = 1;
        } else {
            refusedWrites++;
        }
        // The contract: having taken less than offered, call writable() once more can be taken.
        if (taken < len && !wakeupScheduled) {
            wakeupScheduled = true;
            clock.schedule(nextByteAt - now, () -> {
                wakeupScheduled = false;
                frontend.writable();
            });
        }
        return taken;
    }

    @Override
    public void acceptInput() {
        while (!input.isEmpty()) {
            byte[] one = {input.peek()};
            if (frontend.receive(one, 0, 1) == 0) {
                return;
            }
            input.poll();
        }
    }

    /** Host bytes for the guest; what does not fit now waits for the UART to ask. */
    void send(byte... bytes) {
        for (byte b : bytes) {
            input.add(b);
        }
        acceptInput();
    }

    int pendingInput() {
        return input.size();
    }

    byte[] output() {
        return output.toByteArray();
    }

    /** Writes refused because the slow backend was still busy. */
    int refusedWrites() {
        return refusedWrites;
    }

    @Override
    public String describe() {
        return "fake";
    }

    @Override
    public void close() {
    }
}
