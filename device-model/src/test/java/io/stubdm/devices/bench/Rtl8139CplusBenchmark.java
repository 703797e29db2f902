package io.stubdm.devices.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

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
public class Rtl8139CplusBenchmark extends NicBenchmark {
    /** Frames per TPPOLL write, and per drain task on receive: half of the chip's 64-descriptor ring. */
    static final int BATCH = 32;
    /** The set-up's checks go round the ring four times, so wrapping (EOR) is checked too. */
    private static final GuestSetup<Rtl8139CplusGuest> SETUP =
            new GuestSetup<>("rtl8139 C+", 4, frameBytes -> new Rtl8139CplusGuest(frameBytes, BATCH));

    @State(Scope.Thread)
    public static class Transmit extends TransmitState<Rtl8139CplusGuest> {
        public Transmit() {
            super(SETUP);
        }
    }

    @State(Scope.Thread)
    public static class Receive extends ReceiveState<Rtl8139CplusGuest> {
        public Receive() {
            super(SETUP);
        }

        @Override
        String receiveNotes() {
            return ", " + guest.receiveHolds() + " frames held for want of a cluster";
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
