package io.stubdm.ioreq;

/** Time and timers as devices see them: monotonic nanoseconds and one-shot callbacks on the device loop. */
public interface DeviceClock {

    long nanoTime();

    /** Runs {@code task} on the device loop after {@code delayNanos}. Call from the device loop only. */
    Timer schedule(long delayNanos, Runnable task);

    interface Timer {
        /** Stops the timer if it has not fired; harmless afterwards. */
        void cancel();
    }
}
