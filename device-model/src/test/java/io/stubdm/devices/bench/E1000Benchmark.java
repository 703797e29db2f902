package io.stubdm.devices.bench;

import static io.stubdm.devices.e1000.E1000Regs.*;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

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
public class E1000Benchmark extends NicBenchmark {
    /** Frames per TDT write, and per drain task on receive: what {@code xmit_more} and a TAP read burst give. */
    static final int BATCH = 32;
    /** The set-up's checks go round the 256-descriptor ring twice, so wrapping is checked too. */
    private static final GuestSetup<E1000Guest> SETUP =
            new GuestSetup<>("e1000", 2, frameBytes -> new E1000Guest(frameBytes, BATCH));

    /** The transmit side of one guest; GPTC must count every frame its set-up sent. */
    @State(Scope.Thread)
    public static class Transmit extends TransmitState<E1000Guest> {
        public Transmit() {
            super(SETUP);
        }

        @Override
        void checkChipCounter(long frames) {
            checkStatistic(guest, GPTC, "GPTC", frames);
        }
    }

    /** The receive side of one guest; GPRC must count every frame its set-up injected. */
    @State(Scope.Thread)
    public static class Receive extends ReceiveState<E1000Guest> {
        public Receive() {
            super(SETUP);
        }

        @Override
        void checkChipCounter(long frames) {
            checkStatistic(guest, GPRC, "GPRC", frames);
        }
    }

    private static void checkStatistic(E1000Guest guest, int reg, String name, long frames) {
        int counted = guest.readStatistic(reg);
        if (counted != frames) {
            throw new IllegalStateException(name + " says " + counted + " frames of " + frames);
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
