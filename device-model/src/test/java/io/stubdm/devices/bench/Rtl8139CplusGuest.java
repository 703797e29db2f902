package io.stubdm.devices.bench;

import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;

import io.stubdm.backends.net.NetStats;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.devices.rtl8139.Rtl8139;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.ioreq.DeviceLoop;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * A {@link SteppedMachine} with one RTL8139C+ at 00:04.0 in C+ mode and the data path of FreeBSD's re(4)
 * ({@code sys/dev/re/if_re.c}) as the device tests' {@code FreeBsdRe} replays it, running on the caller's thread,
 * which also turns the device loop.
 *
 * <p>The driver's side: registers through the memory BAR; rings of 64 descriptors (the 8139C+'s), 2 KiB receive
 * clusters; C+ command with receive checksum offload and VLAN stripping, re(4)'s defaults; no transmit checksum
 * offload (the frames carry their checksums, as pktgen's do). Transmit is {@code re_encap} per frame (one descriptor,
 * FS|LS|OWN) and one TPPOLL write per batch ({@code re_start_tx}); without {@code RE_TX_MODERATION} every poll ends
 * in a TOK interrupt. Interrupts are {@code re_intr} then {@code re_int_task}: ISR read, IMR 0, then ISR read and
 * acknowledged, {@code re_rxeof} (16 frames a call, each cluster handed back with OWN) and {@code re_txeof}, again
 * while ISR shows work or {@code re_rxeof} says EAGAIN, then IMR restored. The chip has no interrupt throttling:
 * every batch costs an interrupt. The guest touches its rings and buffers with plain loads and stores through one
 * mapping each; only register accesses are ioreqs.
 *
 * <p>re_rxeof says EAGAIN only when it did <em>not</em> use its whole budget, so after 16 frames the task stops once
 * ISR is clear and the rest of a batch stays in the ring until the next ROK; when all 64 clusters are full the chip
 * holds the next frame in the backend until the handler's register writes let it look again. That is how re(4)
 * behaves, and it costs a second interrupt every other batch or so ({@link #receiveHolds()} counts the holds).
 */
final class Rtl8139CplusGuest implements AutoCloseable {
    static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    static final byte[] PEER = {0x52, 0x54, 0x00, (byte) 0xab, (byte) 0xcd, (byte) 0xef};
    static final int SLOT = 4;
    static final int INTA = 0;
    static final long MMIO_BASE = 0xf2000000L;
    /** RL_8139_TX_DESC_CNT and RL_8139_RX_DESC_CNT. */
    static final int RING = RING_MAX;
    static final int CLUSTER = 2048;
    static final int FCS = 4;
    static final int RXEOF_BUDGET = 16;
    /** RL_INTRS_CPLUS without RE_TX_MODERATION. */
    static final int INTRS_CPLUS = INT_ROK | INT_RER | INT_TER | INT_TOK | INT_RXOVW | INT_PUN_LINKCHG | INT_FOVW
            | INT_TIMEOUT | INT_SERR;
    static final int RXCFG_CONFIG = 0xe000 | 0x0700 | 0x1800;
    static final int TXCFG_CONFIG = 0x03000000 | 0x0700;
    /** RL_RDESC_STAT_RXERRSUM. */
    static final int RX_ERROR_SUMMARY = 0x00100000;
    /** RL_RDESC_STAT_FRAGLEN. */
    static final int RX_LENGTH = 0x1fff;
    static final int RX_PROTOCOL = 0x00030000;
    /** Frames the receive side cycles through, so that consecutive clusters hold different bytes. */
    static final int RX_FRAMES = 64;

    private static final long TX_RING = 0x100000;
    private static final long RX_RING = 0x101000;
    private static final long TX_BUFFERS = 0x200000;
    private static final long RX_CLUSTERS = 0x300000;
    private static final long INTERRUPT_WAIT_NANOS = 2_000_000_000L;

    final int frameBytes;
    final int batch;
    private final SteppedMachine machine = new SteppedMachine();
    private final DeviceLoop loop = machine.loop;
    private final BenchNetBackend backend;
    private final Rtl8139 nic;

    private final GuestMemory.GuestRange txRingRange;
    private final GuestMemory.GuestRange rxRingRange;
    private final GuestMemory.GuestRange rxClusterRange;
    private final ByteBuffer txRing;
    private final ByteBuffer rxRing;
    private final ByteBuffer rxClusters;

    private final SimIoreq tppollWrite = mmio(TPPOLL, 1, false);
    private final SimIoreq isrRead = mmio(ISR, 2, true);
    private final SimIoreq isrWrite = mmio(ISR, 2, false);
    private final SimIoreq imrWrite = mmio(IMR, 2, false);

    private final byte[][] rxFrames = new byte[RX_FRAMES][];
    private final ByteBuffer[] rxSlots = new ByteBuffer[RX_FRAMES];
    private final byte[][] txFrames = new byte[RING][];

    private int txProducer;
    private int txConsumer;
    private int txFree = RING;
    private int rxProducer;
    private boolean rxeofAgain;
    private long txPosted;
    private long txReclaimed;
    private long rxInjected;
    private long rxConsumed;
    private long interrupts;
    private boolean verifyReceived;
    private final CRC32 crc = new CRC32();

    /** The guest booted, re(4) attached and the interface up, nothing sent or received yet. */
    Rtl8139CplusGuest(int frameBytes, int batch) {
        if (frameBytes < UdpFrames.HEADERS || frameBytes + FCS > CLUSTER) {
            throw new IllegalArgumentException("frames of " + frameBytes + " bytes do not fit this set-up");
        }
        if (batch < 1 || batch > RING - 2 || batch > RX_FRAMES) {
            throw new IllegalArgumentException("a batch of " + batch + " does not fit the rings");
        }
        this.frameBytes = frameBytes;
        this.batch = batch;
        backend = new BenchNetBackend(batch);
        nic = new Rtl8139(loop, machine.engine.memory(), backend, MAC, Optional.empty());
        machine.bus.plug(SLOT, 0, nic);
        machine.start();

        GuestMemory ram = machine.guestMemory();
        txRingRange = ram.map(TX_RING, RING * DESC_BYTES);
        rxRingRange = ram.map(RX_RING, RING * DESC_BYTES);
        rxClusterRange = ram.map(RX_CLUSTERS, RING * CLUSTER);
        txRing = txRingRange.buffer();
        rxRing = rxRingRange.buffer();
        rxClusters = rxClusterRange.buffer();
        for (int i = 0; i < RING; i++) {
            txFrames[i] = UdpFrames.udp4(PEER, MAC, frameBytes, i);
            ram.write(txBuffer(i), txFrames[i], 0, frameBytes);
        }
        for (int i = 0; i < RX_FRAMES; i++) {
            rxFrames[i] = UdpFrames.udp4(MAC, PEER, frameBytes, 0x8000 + i);
            rxSlots[i] = ByteBuffer.allocateDirect(frameBytes).put(rxFrames[i]).flip();
        }
        attachAndInit();
    }

    // ------------------------------------------------------------------ bring-up

    /** What re_attach and re_init_locked leave: BAR1 mapped, bus mastering, the chip reset, C+ rings running. */
    private void attachAndInit() {
        machine.pciConfigWrite(SLOT, PciRegs.BAR0 + 4, 4, MMIO_BASE);
        machine.pciConfigWrite(SLOT, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY | PciRegs.COMMAND_MASTER);

        // re_stop, re_reset
        w32(RCR, r32(RCR) & ~(RCR_AAP | RCR_APM | RCR_AM | RCR_AB));
        w8(CR, 0);
        w16(IMR, 0);
        w16(ISR, 0xffff);
        w8(CR, CR_RST);
        for (int i = 0; (r8(CR) & CR_RST) != 0; i++) {
            if (i == 1000) {
                throw new IllegalStateException("reset never completed");
            }
        }

        // The rings: every cluster owned by the chip, the transmit ring empty with EOR on its last descriptor.
        for (int i = 0; i < RING; i++) {
            newBuffer(i);
            txRing.putLong(i * DESC_BYTES, 0).putLong(i * DESC_BYTES + 8, 0);
        }
        txRing.putInt((RING - 1) * DESC_BYTES, DESC_EOR);

        // re_init_locked: "We must configure the C+ register before all others."
        w16(CPCR, CPCR_MULRW | CPCR_RX_CHKSUM | CPCR_RX_VLAN | CPCR_RX_ENB | CPCR_TX_ENB);
        w8(CR9346, CR9346_CONFIG_WRITE);
        w32(IDR0, ByteBuffer.wrap(MAC).order(ByteOrder.LITTLE_ENDIAN).getInt(0));
        w32(IDR0 + 4, (MAC[4] & 0xff) | (MAC[5] & 0xff) << 8);
        w8(CR9346, 0);
        w32(RDSAR + 4, (int) (RX_RING >>> 32));
        w32(RDSAR, (int) RX_RING);
        w32(TNPDS + 4, (int) (TX_RING >>> 32));
        w32(TNPDS, (int) TX_RING);
        w8(CR, CR_TE | CR_RE);
        w32(TCR, TXCFG_CONFIG);
        w8(ETTHR, 16);
        w32(MAR0, 0);
        w32(MAR0 + 4, 0);
        w32(RCR, RXCFG_CONFIG | RCR_APM | RCR_AB);
        w16(IMR, INTRS_CPLUS);
        w16(ISR, INTRS_CPLUS);
        w32(MPC, 0);
        if (irqAsserted()) {
            throw new IllegalStateException("an interrupt is up before anything was sent or received");
        }
    }

    /** re_newbuf: the cluster back to the chip, OWN, EOR on the last descriptor. */
    private void newBuffer(int index) {
        int o = index * DESC_BYTES;
        rxRing.putInt(o + 4, 0);
        rxRing.putLong(o + 8, RX_CLUSTERS + (long) CLUSTER * index);
        rxRing.putInt(o, CLUSTER | DESC_OWN | (index == RING - 1 ? DESC_EOR : 0));
    }

    // ------------------------------------------------------------------ transmit

    /**
     * Posts one batch as re_start_locked does: re_encap for each frame and one TPPOLL write ({@code re_start_tx}) for
     * all of them, which the device serves by sending them; then the TOK interrupt. A ring without room stops the
     * queue (IFF_DRV_OACTIVE): what is queued is started, and the rest waits for re_txeof in the interrupt.
     */
    void transmitBatch() {
        long deadline = System.nanoTime() + INTERRUPT_WAIT_NANOS;
        int queued = 0;
        for (int n = 0; n < batch; ) {
            if (txFree - 1 <= 1) {
                if (queued > 0) {
                    startTransmit(queued);
                    queued = 0;
                }
                awaitInterrupt("transmit descriptors handed back", deadline);
                continue;
            }
            int i = txProducer;
            int o = i * DESC_BYTES;
            txRing.putInt(o + 4, 0);
            txRing.putLong(o + 8, txBuffer(i));
            txRing.putInt(o, frameBytes | DESC_FS | DESC_LS | DESC_OWN | (i == RING - 1 ? DESC_EOR : 0));
            txProducer = i + 1 == RING ? 0 : i + 1;
            txFree--;
            queued++;
            n++;
        }
        startTransmit(queued);
        if (irqAsserted()) {
            serviceInterrupt();
        }
    }

    /** re_start_tx: TPPOLL.NPQ; the chip sends every frame it owns before the write returns. */
    private void startTransmit(int queued) {
        machine.write(tppollWrite, TPPOLL_NPQ);
        txPosted += queued;
        if (backend.stats().txFrames.get() != txPosted) {
            throw new IllegalStateException("the backend got " + backend.stats().txFrames.get() + " frames of "
                    + txPosted + " posted");
        }
    }

    /** re_txeof: descriptors the chip handed back (OWN clear), in order. */
    private void txeof() {
        while (txConsumer != txProducer) {
            int command = txRing.getInt(txConsumer * DESC_BYTES);
            if ((command & DESC_OWN) != 0) {
                break;
            }
            if ((command & DESC_LS) != 0) {
                txReclaimed++;
            }
            txFree++;
            txConsumer = txConsumer + 1 == RING ? 0 : txConsumer + 1;
        }
    }

    private static long txBuffer(int index) {
        return TX_BUFFERS + (long) index * CLUSTER;
    }

    // ------------------------------------------------------------------ receive

    /**
     * Receives one batch: the backend's I/O thread queues {@link #batch} frames and posts one drain task, the device
     * writes them into the guest's clusters as the loop runs it, and the guest takes its interrupts until the device
     * has taken every frame. A frame with no cluster to go to waits in the backend until a register write (the
     * interrupt handler's) lets the chip look again.
     */
    void receiveBatch() {
        for (int n = 0; n < batch; n++) {
            backend.offer(rxSlots[(int) (rxInjected++ % RX_FRAMES)]);
        }
        long deadline = System.nanoTime() + INTERRUPT_WAIT_NANOS;
        while (backend.waiting() > 0) {
            loop.runOnce(0);
            if (irqAsserted()) {
                serviceInterrupt();
            } else if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the device took " + (batch - backend.waiting()) + " of " + batch
                        + " frames and raised no interrupt");
            }
        }
        if (backend.stats().rxFrames.get() != rxInjected) {
            throw new IllegalStateException("the device took " + backend.stats().rxFrames.get() + " frames of "
                    + rxInjected + " injected");
        }
        if (irqAsserted()) {
            serviceInterrupt();
        }
    }

    /**
     * re_rxeof: up to {@link #RXEOF_BUDGET} frames whose descriptors the chip handed back, each checked (one
     * cluster, no error, the frame's length with its CRC, a UDP checksum the chip verified) and its cluster handed
     * back. Says EAGAIN, as re_rxeof does, when it did not use up its budget.
     */
    private void rxeof() {
        int budget = RXEOF_BUDGET;
        for (; budget > 0; rxProducer = rxProducer + 1 == RING ? 0 : rxProducer + 1) {
            int o = rxProducer * DESC_BYTES;
            int status = rxRing.getInt(o);
            if ((status & DESC_OWN) != 0) {
                break;
            }
            int length = status & RX_LENGTH;
            if ((status & (DESC_FS | DESC_LS)) != (DESC_FS | DESC_LS) || (status & RX_ERROR_SUMMARY) != 0
                    || length != frameBytes + FCS || (status & RX_PROTOCOL) != RXD_PID_UDP
                    || (status & (RXD_IPF | RXD_UDPF)) != 0) {
                throw new IllegalStateException(String.format("receive descriptor %d: status 0x%08x for a %d-byte"
                        + " frame", rxProducer, status, frameBytes));
            }
            if (verifyReceived) {
                verifyCluster(rxProducer, length - FCS);
            }
            newBuffer(rxProducer);
            rxConsumed++;
            budget--;
        }
        rxeofAgain = budget > 0;
    }

    /** The cluster holds the next injected frame byte for byte, then its CRC. */
    private void verifyCluster(int index, int length) {
        byte[] expected = rxFrames[(int) (rxConsumed % RX_FRAMES)];
        byte[] got = new byte[length + FCS];
        rxClusters.get(index * CLUSTER, got);
        if (!Arrays.equals(got, 0, length, expected, 0, expected.length)) {
            throw new IllegalStateException("receive cluster " + index + " does not hold frame " + rxConsumed);
        }
        crc.reset();
        crc.update(expected);
        int fcs = ByteBuffer.wrap(got, length, FCS).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (fcs != (int) crc.getValue()) {
            throw new IllegalStateException("receive cluster " + index + ": CRC " + Integer.toHexString(fcs));
        }
    }

    // ------------------------------------------------------------------ interrupts

    boolean irqAsserted() {
        return machine.intxAsserted(SLOT, INTA);
    }

    private void awaitInterrupt(String what, long deadline) {
        while (!irqAsserted()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("no interrupt came for " + what);
            }
            loop.runOnce(0);
        }
        serviceInterrupt();
    }

    /** re_intr, then re_int_task until nothing is left, then the interrupts unmasked again. */
    private void serviceInterrupt() {
        int status = (int) machine.read(isrRead);
        if ((status & INTRS_CPLUS) == 0) {
            return;
        }
        interrupts++;
        machine.write(imrWrite, 0);
        while (true) {
            status = (int) machine.read(isrRead);
            machine.write(isrWrite, status);
            boolean again = false;
            if ((status & (INT_ROK | INT_RER | INT_FOVW)) != 0) {
                rxeof();
                again = rxeofAgain;
            }
            if ((status & (INT_TOK | INT_TER | INT_TDU)) != 0) {
                txeof();
            }
            if (((int) machine.read(isrRead) & INTRS_CPLUS) == 0 && !again) {
                break;
            }
        }
        machine.write(imrWrite, INTRS_CPLUS);
    }

    // ------------------------------------------------------------------ checks, for the benchmarks' set-up

    void captureTransmitted() {
        backend.capture();
    }

    /** As {@link E1000Guest#verifyTransmitted}: every captured frame is its descriptor's buffer, byte for byte. */
    int verifyTransmitted(int firstIndex) {
        var sent = backend.stopCapture();
        for (int k = 0; k < sent.size(); k++) {
            int index = (firstIndex + k) % RING;
            if (!Arrays.equals(sent.get(k), txFrames[index])) {
                throw new IllegalStateException("frame " + k + " (descriptor " + index + ") reached the backend as "
                        + sent.get(k).length + " other bytes");
            }
        }
        return sent.size();
    }

    void verifyReceived(boolean on) {
        verifyReceived = on;
    }

    int txProducer() {
        return txProducer;
    }

    long txPosted() {
        return txPosted;
    }

    long txReclaimed() {
        return txReclaimed;
    }

    long rxInjected() {
        return rxInjected;
    }

    long rxConsumed() {
        return rxConsumed;
    }

    long interrupts() {
        return interrupts;
    }

    /** Frames the chip had to hold because no cluster was free: each cost a wait for the guest. */
    long receiveHolds() {
        return nic.receiveHolds();
    }

    void checkHealthy() {
        NetStats s = backend.stats();
        machine.checkHealthy(s.drops("rx-dma-error") + s.drops("tx-dma-error"));
        if (!s.dropsByCause().isEmpty()) {
            throw new IllegalStateException("the chip dropped frames: " + s.dropsByCause());
        }
    }

    // ------------------------------------------------------------------ register accesses

    private static SimIoreq mmio(int reg, int size, boolean read) {
        return SimIoreq.mmio(MMIO_BASE + reg, size, read, 0);
    }

    private int r8(int reg) {
        return (int) machine.read(mmio(reg, 1, true));
    }

    private int r32(int reg) {
        return (int) machine.read(mmio(reg, 4, true));
    }

    private void w8(int reg, int value) {
        machine.write(mmio(reg, 1, false), value & 0xff);
    }

    private void w16(int reg, int value) {
        machine.write(mmio(reg, 2, false), value & 0xffff);
    }

    private void w32(int reg, int value) {
        machine.write(mmio(reg, 4, false), value & 0xffff_ffffL);
    }

    @Override
    public void close() {
        txRingRange.close();
        rxRingRange.close();
        rxClusterRange.close();
        machine.close();
    }
}
