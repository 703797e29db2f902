package io.stubdm.devices.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Frames per second through the emulated RTL8139C+ in C+ mode and the ioreq engine to and from a null backend, on one
 * thread that plays both the guest's vCPU (FreeBSD's re(4), see {@link Rtl8139CplusGuest}) and the device model's
 * loop; the counterpart of {@link E1000Benchmark}, whose notes on what is and is not measured apply here too. For
 * Gbit/s multiply the score by {@code frameBytes × 8}.
 *
 * <p>One operation is one frame, measured as 1/{@value #BATCH} of a batch. Transmit, per batch: {@value #BATCH}
 * descriptors written, one TPPOLL write as an ioreq, in which the chip reads each descriptor (16 bytes of guest
 * memory apiece), copies the frame out, hands it to the backend and gives the descriptor back; then the TOK
 * interrupt (the chip has no moderation) through {@code set_pci_intx_level} and re(4)'s handler, about nine ioreqs.
 * Receive, per batch: the backend queues {@value #BATCH} frames behind one drain task; the chip reads each frame's
 * descriptor, writes the frame and its CRC and the descriptor back, checks the IP and UDP checksums, and raises ROK;
 * the guest's interrupt handler takes the frames and hands the clusters back.
 *
 * <p>The set-up of each trial checks that every frame the backend got is byte for byte the frame in its descriptor's
 * buffer, and that every frame the guest took is byte for byte the frame injected, with its CRC and the chip's UDP
 * verdict; each operation checks the counts and each received descriptor's status and length.
 *
 * <p>Run with {@code mvn -Pbench -pl device-model verify -DskipTests -Djmh.args=Rtl8139Cplus}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Djava.util.logging.config.file=/dev/null"})
public class Rtl8139CplusBenchmark {
    /** Frames per TPPOLL write, and per drain task on receive: half of the chip's 64-descriptor ring. */
    static final int BATCH = 32;
    /** Enough batches to go round the ring four times, so wrapping (EOR) is checked too. */
    private static final int CHECK_BATCHES = 4 * Rtl8139CplusGuest.RING / BATCH + 1;

    @State(Scope.Thread)
    public static class Transmit {
        /** Frame bytes as the backend gets and gives them, without CRC. */
        @Param({"64", "1500"})
        public int frameBytes;

        Rtl8139CplusGuest guest;

        @Setup(Level.Trial)
        public void setUp() {
            guest = new Rtl8139CplusGuest(frameBytes, BATCH);
            guest.captureTransmitted();
            int first = guest.txProducer();
            for (int n = 0; n < CHECK_BATCHES; n++) {
                guest.transmitBatch();
            }
            int checked = guest.verifyTransmitted(first);
            int expected = CHECK_BATCHES * BATCH;
            if (checked != expected) {
                throw new IllegalStateException("the backend got " + checked + " frames of " + expected);
            }
            if (guest.txReclaimed() == 0) {
                throw new IllegalStateException("no transmit descriptor came back through an interrupt");
            }
            guest.checkHealthy();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                guest.checkHealthy();
                System.out.printf("%nrtl8139 C+ transmit, %d-byte frames: %d sent, %d interrupts (%.4f a frame)%n",
                        frameBytes, guest.txPosted(), guest.interrupts(),
                        (double) guest.interrupts() / guest.txPosted());
            } finally {
                guest.close();
            }
        }
    }

    @State(Scope.Thread)
    public static class Receive {
        @Param({"64", "1500"})
        public int frameBytes;

        Rtl8139CplusGuest guest;

        @Setup(Level.Trial)
        public void setUp() {
            guest = new Rtl8139CplusGuest(frameBytes, BATCH);
            guest.verifyReceived(true);
            for (int n = 0; n < CHECK_BATCHES; n++) {
                guest.receiveBatch();
            }
            guest.verifyReceived(false);
            long injected = (long) CHECK_BATCHES * BATCH;
            if (guest.rxConsumed() <= 2 * Rtl8139CplusGuest.RING || guest.rxConsumed() > injected) {
                throw new IllegalStateException("the guest checked " + guest.rxConsumed() + " of " + injected
                        + " frames: too few to have gone round the ring");
            }
            guest.checkHealthy();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                guest.checkHealthy();
                System.out.printf("%nrtl8139 C+ receive, %d-byte frames: %d injected, %d taken by the guest,"
                        + " %d interrupts (%.4f a frame), %d frames held for want of a cluster%n", frameBytes,
                        guest.rxInjected(), guest.rxConsumed(), guest.interrupts(),
                        (double) guest.interrupts() / guest.rxInjected(), guest.receiveHolds());
            } finally {
                guest.close();
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void transmit(Transmit t) {
        t.guest.transmitBatch();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void receive(Receive r) {
        r.guest.receiveBatch();
    }
}
