package io.stubdm.devices.bench;

import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the NIC benchmarks ({@link E1000Benchmark}, {@link Rtl8139CplusBenchmark}) share: the JMH settings (frames
 * per second, one fork), the frame sizes, and the per-trial state of one {@link NicGuest} for each direction, whose
 * set-up proves that the data path is real before anything is measured and whose tear-down reports what the trial
 * did. A benchmark names its NIC, how it boots its guest and how many times round the ring its set-up checks go
 * ({@link GuestSetup}), and adds the checks only its chip allows ({@link GuestState#checkChipCounter}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Djava.util.logging.config.file=/dev/null"})
public abstract class NicBenchmark {
    /**
     * How a benchmark gets its guest: {@code nicName} for the reports, {@code boot} to make a guest for frames of a
     * given size (its batch fixed by the benchmark), and {@code checkLaps}, how many times round the guest's rings
     * the set-up's checks go, so that wrapping is checked too.
     */
    record GuestSetup<G extends NicGuest<?>>(String nicName, int checkLaps, IntFunction<G> boot) {}

    /** One guest for one trial. */
    @State(Scope.Thread)
    public abstract static class GuestState<G extends NicGuest<?>> {
        /** Frame bytes as the backend gets and gives them, without FCS. */
        @Param({"64", "1500"})
        public int frameBytes;

        final GuestSetup<G> setup;
        G guest;

        GuestState(GuestSetup<G> setup) {
            this.setup = setup;
        }

        /** Boots the guest; returns how many batches the set-up's check sends or injects. */
        int boot() {
            guest = setup.boot().apply(frameBytes);
            // A batch more than the laps, so that the check goes on past the descriptor it began at.
            return setup.checkLaps() * guest.ringSize / guest.batch + 1;
        }

        /**
         * Checks a counter the chip keeps of the frames it sent or received, where it has one a driver reads:
         * it must say {@code frames}. None by default.
         */
        void checkChipCounter(long frames) {
        }
    }

    /** The transmit side of one guest; its set-up proves that frames really reach the backend intact. */
    @State(Scope.Thread)
    public abstract static class TransmitState<G extends NicGuest<?>> extends GuestState<G> {
        TransmitState(GuestSetup<G> setup) {
            super(setup);
        }

        @Setup(Level.Trial)
        public void setUp() {
            int checkBatches = boot();
            guest.captureTransmitted();
            for (int n = 0; n < checkBatches; n++) {
                guest.transmitBatch();
            }
            int checked = guest.verifyTransmitted();
            int expected = checkBatches * guest.batch;
            if (checked != expected) {
                throw new IllegalStateException("the backend got " + checked + " frames of " + expected);
            }
            checkChipCounter(expected);
            if (guest.txReclaimed() == 0) {
                throw new IllegalStateException("no transmit descriptor came back through an interrupt");
            }
            guest.checkHealthy();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                guest.checkHealthy();
                System.out.printf("%n%s transmit, %d-byte frames: %d sent, %d interrupts (%.4f a frame)%n",
                        setup.nicName(), frameBytes, guest.txPosted(), guest.interrupts(),
                        (double) guest.interrupts() / guest.txPosted());
            } finally {
                guest.close();
            }
        }
    }

    /** The receive side of one guest; its set-up proves that injected frames really land in guest buffers. */
    @State(Scope.Thread)
    public abstract static class ReceiveState<G extends NicGuest<?>> extends GuestState<G> {
        ReceiveState(GuestSetup<G> setup) {
            super(setup);
        }

        @Setup(Level.Trial)
        public void setUp() {
            int checkBatches = boot();
            guest.verifyReceived(true);
            for (int n = 0; n < checkBatches; n++) {
                guest.receiveBatch();
            }
            guest.verifyReceived(false);
            long injected = (long) checkBatches * guest.batch;
            // A driver may leave the last frames in its ring for the next interrupt (re(4) does), so the guest
            // need only have taken more than half the laps injected, which is still at least once round the ring.
            long lapsToExceed = setup.checkLaps() / 2;
            if (guest.rxConsumed() <= lapsToExceed * guest.ringSize || guest.rxConsumed() > injected) {
                throw new IllegalStateException("the guest checked " + guest.rxConsumed() + " of " + injected
                        + " frames: too few to have gone round the ring");
            }
            checkChipCounter(injected);
            guest.checkHealthy();
        }

        /** What the report adds after the interrupts, where the chip has more to say. */
        String receiveNotes() {
            return "";
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                guest.checkHealthy();
                System.out.printf("%n%s receive, %d-byte frames: %d injected, %d taken by the guest,"
                        + " %d interrupts (%.4f a frame)%s%n", setup.nicName(), frameBytes, guest.rxInjected(),
                        guest.rxConsumed(), guest.interrupts(), (double) guest.interrupts() / guest.rxInjected(),
                        receiveNotes());
            } finally {
                guest.close();
            }
        }
    }
}
