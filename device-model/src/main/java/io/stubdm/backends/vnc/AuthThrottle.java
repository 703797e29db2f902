package io.stubdm.backends.vnc;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Limits password guessing across all connections. Delaying only the failure result would not do: a guesser
 * can stop waiting for it and try again on another connection. So after a failure, responses are evaluated
 * one per {@link #INTERVAL_NANOS} for the whole server until the queue drains; a response that would wait
 * more than {@link #MAX_WAIT_NANOS} fails at once, unevaluated, which bounds the connections left waiting.
 * Without recent failures a response is evaluated immediately.
 */
final class AuthThrottle {
    static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    static final long MAX_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Returned by {@link #admit} when the response must be failed without evaluation. */
    static final long REJECT = -1;

    private final LongSupplier clock;
    private boolean penalty;
    private long nextSlot;

    AuthThrottle(LongSupplier nanoClock) {
        this.clock = nanoClock;
    }

    AuthThrottle() {
        this(System::nanoTime);
    }

    /** Nanoseconds to wait before evaluating a response that arrived now, or {@link #REJECT}. */
    synchronized long admit() {
        long now = clock.getAsLong();
        if (!penalty || nextSlot - now <= 0) {
            penalty = false;
            return 0;
        }
        long wait = nextSlot - now;
        if (wait > MAX_WAIT_NANOS) {
            return REJECT;
        }
        nextSlot += INTERVAL_NANOS;
        return wait;
    }

    /** A response was wrong. */
    synchronized void failed() {
        long now = clock.getAsLong();
        long earliest = now + INTERVAL_NANOS;
        nextSlot = penalty && nextSlot - earliest > 0 ? nextSlot : earliest;
        penalty = true;
    }
}
