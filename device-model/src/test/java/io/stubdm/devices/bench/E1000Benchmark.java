package io.stubdm.devices.bench;

import static io.stubdm.devices.e1000.E1000Regs.*;

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
 * Frames per second through the emulated 82540EM and the ioreq engine to and from a null backend, on one thread
 * that plays both the guest's vCPU (Linux's e1000 driver, see {@link E1000Guest}) and the device model's loop. The
 * score is frames/s; for Gbit/s multiply by {@code frameBytes × 8} (frame bytes as the backend sees them: Ethernet
 * header to payload end, no FCS, preamble or gap).
 *
 * <p>One operation is one frame, measured as 1/{@value #BATCH} of a batch. Transmit, per batch: the guest writes
 * {@value #BATCH} legacy descriptors into its ring (the frames are in its buffers already, as pktgen reuses one
 * skb), one TDT write goes as an MMIO ioreq (slot, event channel, one loop turn, dispatch, response), in which the
 * device reads the descriptors in bulk, copies each frame out of guest RAM, hands it to the backend (counted,
 * dropped), writes DD back and arms its TIDV/TADV timers; then whatever interrupt is up (TXDW after TADV, at most
 * 20000/s by ITR) through the simulated Xen's {@code set_pci_intx_level}, with the guest's interrupt handler and
 * NAPI poll (five more ioreqs per interrupt) reclaiming descriptors by DD. Receive, per batch: the backend queues
 * {@value #BATCH} frames and posts one drain task, as its I/O thread does; the loop runs it and the device filters
 * each frame, computes its FCS and checksums, writes it into a guest buffer and the descriptor back, and raises
 * RXT0 (ITR-throttled); the guest's interrupt handler and NAPI poll check each descriptor, re-arm 16 buffers per
 * RDT write (an ioreq) and re-enable interrupts. When the ring is full the guest or the backend waits for the next
 * interrupt while the loop turns, and that time counts.
 *
 * <p>Not included: what a real Xen adds per ioreq (VM exit, the event channel through the hypervisor, waking the
 * device model's thread: here the ioreq page and event channel are in-process and the loop is stepped, never
 * woken), the backend's own thread and syscalls, and the guest's network stack above the driver. Included although
 * a real system spends it elsewhere: the driver's own work (it shares the thread) and the simulated Xen's
 * bookkeeping, which logs every {@code set_pci_intx_level} call.
 *
 * <p>The set-up of each trial checks that the data path is real before anything is measured: every frame the
 * backend got must be byte for byte the frame in the buffer its descriptor pointed to (and GPTC must agree), and
 * every frame the guest took from its ring must be byte for byte the frame injected, with its FCS and a verified
 * UDP checksum (and GPRC must agree). Each operation then also checks that the backend counted every frame posted,
 * or the device every frame injected, and each received descriptor's status, errors and length.
 *
 * <p>Run with {@code mvn -Pbench -pl device-model verify -DskipTests -Djmh.args=E1000} after installing the modules
 * it depends on ({@code mvn -pl device-model -am install -DskipTests}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Djava.util.logging.config.file=/dev/null"})
public class E1000Benchmark {
    /** Frames per TDT write, and per drain task on receive: what {@code xmit_more} and a TAP read burst give. */
    static final int BATCH = 32;
    /** Enough batches to go round the 256-descriptor ring twice, so wrapping is checked too. */
    private static final int CHECK_BATCHES = 2 * E1000Guest.RING / BATCH + 1;

    /** The transmit side of one guest; its set-up proves that frames really reach the backend intact. */
    @State(Scope.Thread)
    public static class Transmit {
        /** Frame bytes as the backend gets and gives them, without FCS. */
        @Param({"64", "1500"})
        public int frameBytes;

        E1000Guest guest;

        @Setup(Level.Trial)
        public void setUp() {
            guest = new E1000Guest(frameBytes, BATCH);
            guest.captureTransmitted();
            int first = guest.txNextToUse();
            for (int n = 0; n < CHECK_BATCHES; n++) {
                guest.transmitBatch();
            }
            int checked = guest.verifyTransmitted(first);
            int expected = CHECK_BATCHES * BATCH;
            if (checked != expected) {
                throw new IllegalStateException("the backend got " + checked + " frames of " + expected);
            }
            int counted = guest.readStatistic(GPTC);
            if (counted != expected) {
                throw new IllegalStateException("GPTC says " + counted + " frames of " + expected);
            }
            if (guest.txCleaned() == 0) {
                throw new IllegalStateException("no transmit descriptor came back with DD through an interrupt");
            }
            guest.checkHealthy();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                guest.checkHealthy();
                System.out.printf("%ne1000 transmit, %d-byte frames: %d sent, %d interrupts (%.4f a frame)%n",
                        frameBytes, guest.txPosted(), guest.interrupts(),
                        (double) guest.interrupts() / guest.txPosted());
            } finally {
                guest.close();
            }
        }
    }

    /** The receive side of one guest; its set-up proves that injected frames really land in guest buffers. */
    @State(Scope.Thread)
    public static class Receive {
        @Param({"64", "1500"})
        public int frameBytes;

        E1000Guest guest;

        @Setup(Level.Trial)
        public void setUp() {
            guest = new E1000Guest(frameBytes, BATCH);
            guest.verifyReceived(true);
            for (int n = 0; n < CHECK_BATCHES; n++) {
                guest.receiveBatch();
            }
            guest.verifyReceived(false);
            long injected = (long) CHECK_BATCHES * BATCH;
            if (guest.rxConsumed() <= E1000Guest.RING || guest.rxConsumed() > injected) {
                throw new IllegalStateException("the guest checked " + guest.rxConsumed() + " of " + injected
                        + " frames: too few to have gone round the ring");
            }
            int counted = guest.readStatistic(GPRC);
            if (counted != injected) {
                throw new IllegalStateException("GPRC says " + counted + " frames of " + injected);
            }
            guest.checkHealthy();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                guest.checkHealthy();
                System.out.printf("%ne1000 receive, %d-byte frames: %d injected, %d taken by the guest,"
                        + " %d interrupts (%.4f a frame)%n", frameBytes, guest.rxInjected(), guest.rxConsumed(),
                        guest.interrupts(), (double) guest.interrupts() / guest.rxInjected());
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
