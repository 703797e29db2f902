package io.stubdm.devices.bench;

import io.stubdm.devices.pci.PciFunction;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.ioreq.DeviceLoop;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * What the NIC benchmarks' guest drivers have in common, whatever the chip: a {@link SteppedMachine} with one NIC
 * at 00:04.0 on INTA, its registers behind a memory BAR, and a {@link BenchNetBackend}; the caller's thread plays
 * the guest's vCPU and also turns the device loop, so there is no hand-off between threads. A subclass is the
 * driver: its bring-up, its descriptor formats and register accesses, its transmit path and its interrupt handler.
 *
 * <p>Shared here: the guest's memory layout, with the rings and receive buffers mapped once for plain loads and
 * stores, as a kernel touches coherent DMA memory (only register accesses are ioreqs); the frames, prepared before
 * anything is measured (a numbered UDP frame in each transmit buffer, as pktgen reuses one skb, and the frames to
 * receive in direct buffers, as the backend's I/O thread would have filled them); the receive path as far as the
 * backend and the interrupt line go; the wait for an interrupt while the loop turns, so that the device's timers
 * fire when they are due and that wait is measured time; the counters the benchmarks report; and the byte-for-byte
 * checks of what the backend got and what the guest took.
 */
abstract class NicGuest<N extends PciFunction> implements AutoCloseable {
    static final byte[] PEER = {0x52, 0x54, 0x00, (byte) 0xab, (byte) 0xcd, (byte) 0xef};
    static final int SLOT = 4;
    static final int INTA = 0;
    static final int FCS = 4;
    /** Frames the receive side cycles through, so that consecutive buffers hold different bytes. */
    static final int RX_FRAMES = 64;

    // Guest RAM: the transmit ring, then the receive ring at an address the subclass picks, then the buffers.
    static final long TX_RING = 0x100000;
    static final long TX_BUFFERS = 0x200000;
    static final long RX_BUFFERS = 0x300000;
    private static final long INTERRUPT_WAIT_NANOS = 2_000_000_000L;

    final int frameBytes;
    final int batch;
    /** Descriptors in each ring. */
    final int ringSize;
    /** Bytes of each transmit and receive buffer. */
    final int bufferBytes;
    private final long mmioBase;
    protected final SteppedMachine machine = new SteppedMachine();
    protected final DeviceLoop loop = machine.loop;
    protected final BenchNetBackend backend;
    protected final N nic;

    private final GuestMemory.GuestRange txRingRange;
    private final GuestMemory.GuestRange rxRingRange;
    private final GuestMemory.GuestRange rxBufferRange;
    protected final ByteBuffer txRing;
    protected final ByteBuffer rxRing;
    private final ByteBuffer rxBuffers;

    /** Frames to receive, each in its own slot as the backend's I/O thread would have filled it. */
    private final byte[][] rxFrames = new byte[RX_FRAMES][];
    private final ByteBuffer[] rxSlots = new ByteBuffer[RX_FRAMES];
    /** What each transmit buffer holds: the frame its descriptor index sends. */
    private final byte[][] txFrames;

    private long txPosted;
    /** Frames whose transmit descriptors the driver took back after the device was done with them. */
    protected long txReclaimed;
    private long rxInjected;
    /** Frames the driver took from its receive ring; with {@link #verifyReceived} on, each was checked. */
    protected long rxConsumed;
    protected long interrupts;
    /** Whether each frame the guest consumes is compared with what was injected (slow: for the set-up check). */
    protected boolean verifyReceived;
    private final CRC32 crc = new CRC32();
    /** The descriptor the first frame sent since {@link #captureTransmitted()} went out on. */
    private int firstCapturedDescriptor;

    /** Makes the NIC for the machine's device loop and memory, connected to the benchmark's backend. */
    interface NicFactory<N extends PciFunction> {
        N create(DeviceLoop loop, GuestMemory memory, BenchNetBackend backend);
    }

    /**
     * The machine started with the NIC plugged, the rings and receive buffers mapped, the frames prepared; the
     * subclass then brings the NIC up as its driver does. {@code mac} is the NIC's address (the source of the frames
     * sent, the destination of those received), {@code mmioBase} where its register BAR is mapped, and
     * {@code rxRingAddress} where in guest RAM the receive ring goes.
     */
    protected NicGuest(int frameBytes, int batch, byte[] mac, NicFactory<N> nicFactory, long mmioBase, int ringSize,
            int descriptorBytes, int bufferBytes, long rxRingAddress) {
        if (frameBytes < UdpFrames.HEADERS || frameBytes + FCS > bufferBytes) {
            throw new IllegalArgumentException("frames of " + frameBytes + " bytes do not fit this set-up");
        }
        if (batch < 1 || batch > ringSize - 2 || batch > RX_FRAMES) {
            throw new IllegalArgumentException("a batch of " + batch + " does not fit the rings");
        }
        this.frameBytes = frameBytes;
        this.batch = batch;
        this.ringSize = ringSize;
        this.bufferBytes = bufferBytes;
        this.mmioBase = mmioBase;
        backend = new BenchNetBackend(batch);
        nic = nicFactory.create(loop, machine.engine.memory(), backend);
        machine.bus.plug(SLOT, 0, nic);
        machine.start();

        GuestMemory ram = machine.guestMemory();
        txRingRange = ram.map(TX_RING, ringSize * descriptorBytes);
        rxRingRange = ram.map(rxRingAddress, ringSize * descriptorBytes);
        rxBufferRange = ram.map(RX_BUFFERS, ringSize * bufferBytes);
        txRing = txRingRange.buffer();
        rxRing = rxRingRange.buffer();
        rxBuffers = rxBufferRange.buffer();
        txFrames = new byte[ringSize][];
        for (int i = 0; i < ringSize; i++) {
            txFrames[i] = UdpFrames.udp4(PEER, mac, frameBytes, i);
            ram.write(txBufferAddress(i), txFrames[i], 0, frameBytes);
        }
        for (int i = 0; i < RX_FRAMES; i++) {
            rxFrames[i] = UdpFrames.udp4(mac, PEER, frameBytes, 0x8000 + i);
            rxSlots[i] = ByteBuffer.allocateDirect(frameBytes).put(rxFrames[i]).flip();
        }
    }

    /** Where the transmit buffer of descriptor {@code index} is in guest RAM; it holds that descriptor's frame. */
    final long txBufferAddress(int index) {
        return TX_BUFFERS + (long) index * bufferBytes;
    }

    /** Where the receive buffer of descriptor {@code index} is in guest RAM. */
    final long rxBufferAddress(int index) {
        return RX_BUFFERS + (long) index * bufferBytes;
    }

    // ------------------------------------------------------------------ transmit

    /**
     * Posts one batch of {@link #batch} frames as the driver does, started by a register write that the device serves
     * by sending them to the backend (see {@link #countPosted}); a ring without room waits for the interrupt that
     * cleans it. Takes whatever interrupt is up afterwards.
     */
    abstract void transmitBatch();

    /** The descriptor the next frame posted goes out on. */
    abstract int txNextDescriptor();

    /**
     * Counts {@code frames} more posted, and checks that the backend got every frame posted so far: the device sends
     * what a register write posts before that write returns.
     */
    protected final void countPosted(int frames) {
        txPosted += frames;
        if (backend.stats().txFrames.get() != txPosted) {
            throw new IllegalStateException("the backend got " + backend.stats().txFrames.get() + " frames of "
                    + txPosted + " posted");
        }
    }

    // ------------------------------------------------------------------ receive

    /**
     * Receives one batch: the backend's I/O thread queues {@link #batch} frames and posts one drain task, the device
     * writes them into the guest's buffers as the loop runs it, and the guest takes its interrupts, cleaning and
     * re-arming the ring, until the device has taken every frame. A frame the ring has no room for waits in the
     * backend until the driver's register writes let the device look again (e1000: an RDT write; re(4): any write
     * of its interrupt handler).
     */
    final void receiveBatch() {
        for (int n = 0; n < batch; n++) {
            backend.offer(rxSlots[(int) (rxInjected++ % RX_FRAMES)]);
        }
        long deadline = interruptDeadline();
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
     * The receive buffer of descriptor {@code index} holds the next injected frame byte for byte, {@code length}
     * bytes, then its FCS (the CRC the device appended).
     */
    protected final void verifyReceivedFrame(int index, int length) {
        byte[] expected = rxFrames[(int) (rxConsumed % RX_FRAMES)];
        byte[] got = new byte[length + FCS];
        rxBuffers.get(index * bufferBytes, got);
        if (!Arrays.equals(got, 0, length, expected, 0, expected.length)) {
            throw new IllegalStateException("receive buffer " + index + " does not hold frame " + rxConsumed);
        }
        crc.reset();
        crc.update(expected);
        int fcs = ByteBuffer.wrap(got, length, FCS).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (fcs != (int) crc.getValue()) {
            throw new IllegalStateException("receive buffer " + index + ": FCS " + Integer.toHexString(fcs));
        }
    }

    // ------------------------------------------------------------------ interrupts

    /** INTA as the simulated Xen holds it after the device's last {@code set_pci_intx_level}. */
    final boolean irqAsserted() {
        return machine.intxAsserted(SLOT, INTA);
    }

    /** The vCPU waits for the interrupt while the device loop turns; then takes it. */
    protected final void awaitInterrupt(String what, long deadline) {
        while (!irqAsserted()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("no interrupt came for " + what);
            }
            loop.runOnce(0);
        }
        serviceInterrupt();
    }

    /** A deadline for {@link #awaitInterrupt}, from now. */
    protected static long interruptDeadline() {
        return System.nanoTime() + INTERRUPT_WAIT_NANOS;
    }

    /** The driver's interrupt handler, with whatever polling it does before it unmasks the interrupts again. */
    protected abstract void serviceInterrupt();

    // ------------------------------------------------------------------ checks, for the benchmarks' set-up

    /** Keeps copies of what the backend gets from now on. */
    final void captureTransmitted() {
        firstCapturedDescriptor = txNextDescriptor();
        backend.capture();
    }

    /**
     * Checks that every frame the backend got since {@link #captureTransmitted()} is, byte for byte, the frame in
     * the buffer of the descriptor that sent it, counting descriptors from the one the first went out on; returns
     * how many.
     */
    final int verifyTransmitted() {
        var sent = backend.stopCapture();
        for (int k = 0; k < sent.size(); k++) {
            int index = (firstCapturedDescriptor + k) % ringSize;
            if (!Arrays.equals(sent.get(k), txFrames[index])) {
                throw new IllegalStateException("frame " + k + " (descriptor " + index + ") reached the backend as "
                        + sent.get(k).length + " other bytes");
            }
        }
        return sent.size();
    }

    /** Turns the byte-for-byte check of each frame the guest takes from its receive ring on or off. */
    final void verifyReceived(boolean on) {
        verifyReceived = on;
    }

    final long txPosted() {
        return txPosted;
    }

    final long txReclaimed() {
        return txReclaimed;
    }

    final long rxInjected() {
        return rxInjected;
    }

    final long rxConsumed() {
        return rxConsumed;
    }

    final long interrupts() {
        return interrupts;
    }

    /**
     * Throws if anything went wrong out of sight: a failed loop task, a device error, DMA outside RAM, and where the
     * chip counts them, frames it dropped.
     */
    abstract void checkHealthy();

    // ------------------------------------------------------------------ register accesses

    /** An access of {@code size} bytes to register {@code reg}, to build once for the data path or use once. */
    protected final SimIoreq mmio(int reg, int size, boolean read) {
        return SimIoreq.mmio(mmioBase + reg, size, read, 0);
    }

    protected final int read(SimIoreq request) {
        return (int) machine.read(request);
    }

    /** Writes {@code value}, of as many bytes as the request has, zero-extended. */
    protected final void write(SimIoreq request, int value) {
        machine.write(request, value & (0xffff_ffffL >>> (32 - 8 * request.size)));
    }

    protected final int readRegister(int reg, int size) {
        return read(mmio(reg, size, true));
    }

    protected final void writeRegister(int reg, int size, int value) {
        write(mmio(reg, size, false), value);
    }

    @Override
    public void close() {
        txRingRange.close();
        rxRingRange.close();
        rxBufferRange.close();
        machine.close();
    }
}
