package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

import io.stubdm.devices.IrqLine;
import io.stubdm.ioreq.DeviceClock;

/**
 * ICR, IMS and the timers between an event and the interrupt it causes.
 *
 * <p>The line is {@code (ICR & IMS) != 0} (13.4.17), re-evaluated on every change of either, so causes latched
 * while masked fire as soon as IMS unmasks them (em(4) writes ICS=LSC before it enables interrupts). Reading ICR
 * clears it and drops the line, which em_intr needs to tell its interrupts from a shared line's.
 *
 * <p>Throttling (ITR, 13.4.18): a rising edge comes no sooner than ITR × 256 ns after the previous one; the
 * causes wait in ICR and the line rises when the interval is over. ITR = 0 does not throttle.
 *
 * <p>Delays: RXT0 follows a received frame after RDTR × 1.024 µs of quiet (each frame restarts that packet
 * timer), or RADV × 1.024 µs after the first frame at the latest (13.4.30, 13.4.31); RDTR = 0 means at once.
 * TXDW for a descriptor with IDE waits likewise for TIDV (restarted per descriptor) or TADV; one without IDE,
 * or TIDV = 0, fires at once and takes any pending delayed TXDW with it. Every delay ends in an interrupt.
 */
final class Interrupts {
    /** RDTR, RADV, TIDV and TADV count 1.024 µs. */
    private static final long DELAY_UNIT_NANOS = 1024;
    private static final long THROTTLE_UNIT_NANOS = 256;

    private final int[] regs;
    private final DeviceClock clock;
    private final IrqLine line;
    private final Runnable throttleOver = this::throttleOver;
    private final DelayedCause receive;
    private final DelayedCause transmit;

    private int cause;
    private int mask;
    private boolean asserted;
    private boolean everAsserted;
    private long lastAssertion;
    private DeviceClock.Timer throttle;

    Interrupts(int[] regs, DeviceClock clock, IrqLine line) {
        this.regs = regs;
        this.clock = clock;
        this.line = line;
        this.receive = new DelayedCause(ICR_RXT0, RDTR, RADV);
        this.transmit = new DelayedCause(ICR_TXDW, TIDV, TADV);
    }

    int cause() {
        return cause;
    }

    int mask() {
        return mask;
    }

    void raise(int causes) {
        cause |= causes & ICR_VALID;
        update();
    }

    /** ICR read: every cause, now cleared. */
    int readAndClear() {
        int c = cause;
        cause = 0;
        update();
        return c;
    }

    /** ICR write: clears the causes written as 1. */
    void acknowledge(int causes) {
        cause &= ~causes;
        update();
    }

    void enable(int causes) {
        mask |= causes & ICR_VALID;
        update();
    }

    void disable(int causes) {
        mask &= ~causes;
        update();
    }

    /** A frame went to the host: RXT0 now, or when the receive delay timers say. */
    void frameReceived() {
        receive.event(true);
    }

    /** RDTR written with FPD: whatever RXT0 is being delayed fires now. */
    void flushReceiveDelay() {
        if (receive.pending()) {
            receive.flush();
        }
    }

    /** Descriptors were written back with RS; {@code delayable} when every one of them had IDE. */
    void descriptorsDone(boolean delayable) {
        transmit.event(delayable);
    }

    /** Everything off and forgotten: what a device reset leaves. */
    void reset() {
        cause = 0;
        mask = 0;
        everAsserted = false;
        if (throttle != null) {
            throttle.cancel();
            throttle = null;
        }
        receive.cancel();
        transmit.cancel();
        drive(false);
    }

    private void update() {
        if ((cause & mask) == 0) {
            drive(false);
            return;
        }
        if (asserted || throttle != null) {
            return;
        }
        long interval = (regs[ITR >> 2] & 0xffff) * THROTTLE_UNIT_NANOS;
        long now = clock.nanoTime();
        if (interval != 0 && everAsserted && now - lastAssertion < interval) {
            throttle = clock.schedule(lastAssertion + interval - now, throttleOver);
            return;
        }
        everAsserted = true;
        lastAssertion = now;
        drive(true);
    }

    private void throttleOver() {
        throttle = null;
        update();
    }

    private void drive(boolean level) {
        if (asserted != level) {
            asserted = level;
            line.setLevel(level);
        }
    }

    /**
     * One delayed cause: a packet timer each event pushes back and an absolute timer the first event starts.
     * The packet timer keeps one scheduled timer and a deadline it moves, so a stream of events does not
     * schedule a timer each.
     */
    private final class DelayedCause {
        private final int bit;
        private final int packetReg;
        private final int absoluteReg;
        private final Runnable packetCheck = this::packetCheck;
        private final Runnable fire = this::flush;
        private DeviceClock.Timer packetTimer;
        private long packetDeadline;
        private DeviceClock.Timer absoluteTimer;

        DelayedCause(int bit, int packetReg, int absoluteReg) {
            this.bit = bit;
            this.packetReg = packetReg;
            this.absoluteReg = absoluteReg;
        }

        void event(boolean delayable) {
            long packetDelay = (regs[packetReg >> 2] & 0xffff) * DELAY_UNIT_NANOS;
            if (packetDelay == 0 || !delayable) {
                flush();
                return;
            }
            long now = clock.nanoTime();
            packetDeadline = now + packetDelay;
            if (packetTimer == null) {
                packetTimer = clock.schedule(packetDelay, packetCheck);
            }
            long absoluteDelay = (regs[absoluteReg >> 2] & 0xffff) * DELAY_UNIT_NANOS;
            if (absoluteDelay != 0 && absoluteTimer == null) {
                absoluteTimer = clock.schedule(absoluteDelay, fire);
            }
        }

        private void packetCheck() {
            long left = packetDeadline - clock.nanoTime();
            if (left > 0) {
                packetTimer = clock.schedule(left, packetCheck);
                return;
            }
            packetTimer = null;
            flush();
        }

        boolean pending() {
            return packetTimer != null || absoluteTimer != null;
        }

        void flush() {
            cancel();
            raise(bit);
        }

        void cancel() {
            if (packetTimer != null) {
                packetTimer.cancel();
                packetTimer = null;
            }
            if (absoluteTimer != null) {
                absoluteTimer.cancel();
                absoluteTimer = null;
            }
        }
    }
}
