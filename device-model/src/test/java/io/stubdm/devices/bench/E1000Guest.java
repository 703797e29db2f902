package io.stubdm.devices.bench;

import static io.stubdm.devices.e1000.E1000Regs.*;

import io.stubdm.devices.e1000.E1000;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.ioreq.DeviceLoop;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * A {@link SteppedMachine} with one 82540EM at 00:04.0 and the data path of Linux's e1000 driver
 * ({@code drivers/net/ethernet/intel/e1000/e1000_main.c}) running on the caller's thread, which also turns the
 * device loop: one thread, one core, no hand-off between threads.
 *
 * <p>The driver's side, as Linux does it with its defaults: rings of 256 descriptors and 2048-byte buffers; ITR for
 * 20000 interrupts/s (the initial dynamic setting, kept fixed here), TIDV 8, TADV 32, RDTR 0, RADV 8; legacy
 * transmit descriptors with EOP, IFCS, RS and IDE, a batch of frames posted before one TDT write
 * ({@code netdev_xmit_more}); receive with the FCS kept (Linux subtracts it) and RXCSUM.TUOFL. Interrupts are
 * {@code e1000_intr} then the NAPI poll ({@code e1000_clean}): ICR read, IMC all and a flushing STATUS read, the
 * transmit ring cleaned by DD, the receive ring cleaned by DD with buffers re-armed and RDT written every 16
 * descriptors ({@code E1000_RX_BUFFER_WRITE}) and at the end, then IMS and a flushing STATUS read. The guest touches
 * its rings and buffers with plain loads and stores through one mapping each, as a kernel touches coherent DMA
 * memory; only register accesses are ioreqs.
 *
 * <p>While the guest waits for an interrupt (a full transmit ring, receive buffers all used) it keeps turning the
 * device loop, so the device's timers (TIDV/TADV, ITR) fire when they are due and that wait is measured time.
 */
final class E1000Guest implements AutoCloseable {
    static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static final byte[] PEER = {0x52, 0x54, 0x00, (byte) 0xab, (byte) 0xcd, (byte) 0xef};
    static final int SLOT = 4;
    static final int INTA = 0;
    static final long MMIO_BASE = 0xfebc0000L;
    /** e1000's default TxDescriptors and RxDescriptors. */
    static final int RING = 256;
    /** rx_buffer_len for a 1500-byte MTU (RCTL.BSIZE 2048); transmit buffers get the same room. */
    static final int BUFFER_SIZE = 2048;
    static final int FCS = 4;
    static final int NAPI_BUDGET = 64;
    static final int RX_BUFFER_WRITE = 16;
    static final int ITR_VALUE = 1_000_000_000 / (20000 * 256);
    static final int TIDV_VALUE = 8;
    static final int TADV_VALUE = 32;
    static final int RADV_VALUE = 8;
    static final int IMS_ENABLE_MASK = ICR_RXT0 | ICR_TXDW | ICR_RXDMT0 | ICR_RXSEQ | ICR_LSC;
    static final int TCTL_VALUE = TCTL_PSP | TCTL_RTLC | 0x0f << TCTL_CT_SHIFT | 0x3f << TCTL_COLD_SHIFT | TCTL_EN;
    static final int TIPG_COPPER = 8 | 8 << 10 | 6 << 20;
    static final int TX_COMMAND = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS | TXD_CMD_IDE;
    /** Frames the receive side cycles through, so that consecutive buffers hold different bytes. */
    static final int RX_FRAMES = 64;

    private static final long TX_RING = 0x100000;
    private static final long RX_RING = 0x110000;
    private static final long TX_BUFFERS = 0x200000;
    private static final long RX_BUFFERS = 0x300000;
    private static final long INTERRUPT_WAIT_NANOS = 2_000_000_000L;

    final int frameBytes;
    final int batch;
    private final SteppedMachine machine = new SteppedMachine();
    private final DeviceLoop loop = machine.loop;
    private final BenchNetBackend backend;
    private final E1000 nic;

    private final GuestMemory.GuestRange txRingRange;
    private final GuestMemory.GuestRange rxRingRange;
    private final GuestMemory.GuestRange rxBufferRange;
    private final ByteBuffer txRing;
    private final ByteBuffer rxRing;
    private final ByteBuffer rxBuffers;

    // The register accesses of the data path, built once: a benchmark posts them without allocating.
    private final SimIoreq tdtWrite = mmio(TDT, false);
    private final SimIoreq rdtWrite = mmio(RDT, false);
    private final SimIoreq icrRead = mmio(ICR, true);
    private final SimIoreq statusRead = mmio(STATUS, true);
    private final SimIoreq imcWrite = mmio(IMC, false);
    private final SimIoreq imsWrite = mmio(IMS, false);

    /** Frames to receive, each in its own slot as the backend's I/O thread would have filled it. */
    private final byte[][] rxFrames = new byte[RX_FRAMES][];
    private final ByteBuffer[] rxSlots = new ByteBuffer[RX_FRAMES];
    /** What each transmit buffer holds: the frame its descriptor index sends. */
    private final byte[][] txFrames = new byte[RING][];

    private int txNextToUse;
    private int txNextToClean;
    private int rxNextToUse;
    private int rxNextToClean;
    private long txPosted;
    private long txCleaned;
    private long rxInjected;
    private long rxConsumed;
    private long interrupts;
    private boolean verifyReceived;
    private final CRC32 crc = new CRC32();

    /** The guest booted, the NIC probed and opened, nothing sent or received yet. */
    E1000Guest(int frameBytes, int batch) {
        if (frameBytes < UdpFrames.HEADERS || frameBytes + FCS > BUFFER_SIZE) {
            throw new IllegalArgumentException("frames of " + frameBytes + " bytes do not fit this set-up");
        }
        if (batch < 1 || batch > RING - 2 || batch > RX_FRAMES) {
            throw new IllegalArgumentException("a batch of " + batch + " does not fit the rings");
        }
        this.frameBytes = frameBytes;
        this.batch = batch;
        backend = new BenchNetBackend(batch);
        nic = new E1000(loop, machine.engine.memory(), backend, MAC, Optional.empty());
        machine.bus.plug(SLOT, 0, nic);
        machine.start();

        GuestMemory ram = machine.guestMemory();
        txRingRange = ram.map(TX_RING, RING * DESCRIPTOR_SIZE);
        rxRingRange = ram.map(RX_RING, RING * DESCRIPTOR_SIZE);
        rxBufferRange = ram.map(RX_BUFFERS, RING * BUFFER_SIZE);
        txRing = txRingRange.buffer();
        rxRing = rxRingRange.buffer();
        rxBuffers = rxBufferRange.buffer();
        for (int i = 0; i < RING; i++) {
            txFrames[i] = UdpFrames.udp4(PEER, MAC, frameBytes, i);
            ram.write(txBuffer(i), txFrames[i], 0, frameBytes);
        }
        for (int i = 0; i < RX_FRAMES; i++) {
            rxFrames[i] = UdpFrames.udp4(MAC, PEER, frameBytes, 0x8000 + i);
            rxSlots[i] = ByteBuffer.allocateDirect(frameBytes).put(rxFrames[i]).flip();
        }
        probeAndOpen();
    }

    // ------------------------------------------------------------------ bring-up

    /** What SeaBIOS and e1000_probe/e1000_open leave: BAR0 mapped, bus mastering, the MAC reset, both units up. */
    private void probeAndOpen() {
        machine.pciConfigWrite(SLOT, PciRegs.BAR0, 4, MMIO_BASE);
        machine.pciConfigWrite(SLOT, PciRegs.COMMAND, 2, PciRegs.COMMAND_MEMORY | PciRegs.COMMAND_MASTER);

        // e1000_reset_hw
        w(IMC, 0xffffffff);
        w(RCTL, 0);
        w(TCTL, TCTL_PSP);
        r(STATUS);
        w(CTRL, r(CTRL) | CTRL_RST);
        w(IMC, 0xffffffff);
        r(ICR);

        // e1000_configure_tx
        w(TDBAL, (int) TX_RING);
        w(TDBAH, (int) (TX_RING >>> 32));
        w(TDLEN, RING * DESCRIPTOR_SIZE);
        w(TDH, 0);
        w(TDT, 0);
        w(TIPG, TIPG_COPPER);
        w(TIDV, TIDV_VALUE);
        w(TADV, TADV_VALUE);
        w(TCTL, TCTL_VALUE);

        // e1000_setup_rctl, e1000_configure_rx
        w(RCTL, 0);
        w(RDTR, 0);
        w(RADV, RADV_VALUE);
        w(ITR, ITR_VALUE);
        w(RDLEN, RING * DESCRIPTOR_SIZE);
        w(RDBAH, (int) (RX_RING >>> 32));
        w(RDBAL, (int) RX_RING);
        w(RDH, 0);
        w(RDT, 0);
        w(RXCSUM, r(RXCSUM) | RXCSUM_TUOFL);
        w(RCTL, RCTL_EN | RCTL_BAM);

        // e1000_alloc_rx_buffers for E1000_DESC_UNUSED: every descriptor but one.
        allocRxBuffers(RING - 1);

        // e1000_irq_enable; the link-change interrupt e1000_open forces through ICS is taken as e1000_intr would.
        w(IMS, IMS_ENABLE_MASK);
        w(ICS, ICR_LSC);
        if (!irqAsserted()) {
            throw new IllegalStateException("ICS=LSC raised no interrupt through set_pci_intx_level");
        }
        serviceInterrupt();
        if ((r(STATUS) & STATUS_LU) == 0) {
            throw new IllegalStateException("the link is down after open");
        }
    }

    // ------------------------------------------------------------------ transmit

    /**
     * Posts one batch, as {@code e1000_xmit_frame} posts frames with {@code xmit_more}: a descriptor per frame, then
     * one TDT write, which the device serves by sending the batch to the backend. A ring without room for the batch
     * stops the queue until an interrupt cleans it. Takes the interrupt if one is up afterwards.
     */
    void transmitBatch() {
        if (txUnused() < batch) {
            long deadline = System.nanoTime() + INTERRUPT_WAIT_NANOS;
            while (txUnused() < batch) {
                awaitInterrupt("transmit descriptors done", deadline);
            }
        }
        int i = txNextToUse;
        for (int n = 0; n < batch; n++) {
            int o = i * DESCRIPTOR_SIZE;
            txRing.putLong(o, txBuffer(i));
            txRing.putInt(o + 8, TX_COMMAND | frameBytes);
            txRing.putInt(o + 12, 0);
            i = i + 1 == RING ? 0 : i + 1;
        }
        txNextToUse = i;
        write(tdtWrite, i);
        txPosted += batch;
        if (backend.stats().txFrames.get() != txPosted) {
            throw new IllegalStateException("the backend got " + backend.stats().txFrames.get() + " frames of "
                    + txPosted + " posted");
        }
        if (irqAsserted()) {
            serviceInterrupt();
        }
    }

    /** E1000_DESC_UNUSED for the transmit ring. */
    private int txUnused() {
        return (txNextToClean > txNextToUse ? 0 : RING) + txNextToClean - txNextToUse - 1;
    }

    /** e1000_clean_tx_irq: every descriptor with DD, in order, given back to the driver. */
    private void cleanTx() {
        int i = txNextToClean;
        while (i != txNextToUse && (txRing.get(i * DESCRIPTOR_SIZE + 12) & TXD_STAT_DD) != 0) {
            txRing.putInt(i * DESCRIPTOR_SIZE + 12, 0);
            i = i + 1 == RING ? 0 : i + 1;
            txCleaned++;
        }
        txNextToClean = i;
    }

    private static long txBuffer(int index) {
        return TX_BUFFERS + (long) index * BUFFER_SIZE;
    }

    // ------------------------------------------------------------------ receive

    /**
     * Receives one batch: the backend's I/O thread queues {@link #batch} frames and posts one drain task, the device
     * writes them into the guest's buffers as the loop runs it, and the guest takes its interrupts, cleaning and
     * re-arming the ring, until the device has taken every frame. Frames the ring had no room for wait in the backend
     * until an RDT write makes room.
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
     * e1000_clean_rx_irq: up to {@code budget} descriptors with DD, each checked (one buffer, no error, the frame's
     * length once the FCS is taken off), buffers re-armed every {@link #RX_BUFFER_WRITE} and at the end. Returns
     * the work done.
     */
    private int cleanRx(int budget) {
        int work = 0;
        int cleaned = 0;
        int i = rxNextToClean;
        while (work < budget) {
            int o = i * DESCRIPTOR_SIZE;
            int status = rxRing.get(o + 12) & 0xff;
            if ((status & RXD_STAT_DD) == 0) {
                break;
            }
            work++;
            int length = (rxRing.getShort(o + 8) & 0xffff) - FCS;
            int errors = rxRing.get(o + 13) & 0xff;
            if ((status & RXD_STAT_EOP) == 0 || errors != 0 || length != frameBytes) {
                throw new IllegalStateException(String.format("receive descriptor %d: status 0x%02x errors 0x%02x,"
                        + " %d bytes for a %d-byte frame", i, status, errors, length, frameBytes));
            }
            if (verifyReceived) {
                verifyBuffer(i, length, status);
            }
            rxRing.put(o + 12, (byte) 0);
            rxConsumed++;
            i = i + 1 == RING ? 0 : i + 1;
            if (++cleaned >= RX_BUFFER_WRITE) {
                rxNextToClean = i;
                allocRxBuffers(cleaned);
                cleaned = 0;
            }
        }
        rxNextToClean = i;
        int unused = (rxNextToClean > rxNextToUse ? 0 : RING) + rxNextToClean - rxNextToUse - 1;
        if (unused > 0) {
            allocRxBuffers(unused);
        }
        return work;
    }

    /** e1000_alloc_rx_buffers: {@code count} buffers from next_to_use, then RDT on the last one filled. */
    private void allocRxBuffers(int count) {
        int i = rxNextToUse;
        for (int n = 0; n < count; n++) {
            rxRing.putLong(i * DESCRIPTOR_SIZE, RX_BUFFERS + (long) i * BUFFER_SIZE);
            i = i + 1 == RING ? 0 : i + 1;
        }
        rxNextToUse = i;
        write(rdtWrite, i == 0 ? RING - 1 : i - 1);
    }

    /** The buffer holds the next injected frame byte for byte, its FCS, and the checksum offload's verdict. */
    private void verifyBuffer(int index, int length, int status) {
        byte[] expected = rxFrames[(int) (rxConsumed % RX_FRAMES)];
        byte[] got = new byte[length + FCS];
        rxBuffers.get(index * BUFFER_SIZE, got);
        if (!Arrays.equals(got, 0, length, expected, 0, expected.length)) {
            throw new IllegalStateException("receive buffer " + index + " does not hold frame " + rxConsumed);
        }
        crc.reset();
        crc.update(expected);
        int fcs = ByteBuffer.wrap(got, length, FCS).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (fcs != (int) crc.getValue()) {
            throw new IllegalStateException("receive buffer " + index + ": FCS " + Integer.toHexString(fcs));
        }
        if ((status & (RXD_STAT_TCPCS | RXD_STAT_IXSM)) != RXD_STAT_TCPCS) {
            throw new IllegalStateException("receive descriptor " + index + ": UDP checksum not verified, status 0x"
                    + Integer.toHexString(status));
        }
    }

    // ------------------------------------------------------------------ interrupts

    /** INTA as the simulated Xen holds it after the device's last {@code set_pci_intx_level}. */
    boolean irqAsserted() {
        return machine.intxAsserted(SLOT, INTA);
    }

    /** The vCPU waits for the interrupt while the device loop turns; then takes it. */
    private void awaitInterrupt(String what, long deadline) {
        while (!irqAsserted()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("no interrupt came for " + what);
            }
            loop.runOnce(0);
        }
        serviceInterrupt();
    }

    /** e1000_intr, then e1000_clean as NAPI runs it until a poll does less than its budget, then e1000_irq_enable. */
    private void serviceInterrupt() {
        int icr = read(icrRead);
        if (icr == 0) {
            return;
        }
        interrupts++;
        write(imcWrite, 0xffffffff);
        read(statusRead);
        int work;
        do {
            cleanTx();
            work = cleanRx(NAPI_BUDGET);
        } while (work == NAPI_BUDGET);
        write(imsWrite, IMS_ENABLE_MASK);
        read(statusRead);
    }

    // ------------------------------------------------------------------ checks, for the benchmarks' set-up

    /** Keeps copies of what the backend gets from now on. */
    void captureTransmitted() {
        backend.capture();
    }

    /**
     * Checks that every frame the backend got since {@link #captureTransmitted()} is, byte for byte, the frame in
     * the buffer of the descriptor that sent it, counting descriptors from {@code firstIndex}; returns how many.
     */
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

    /** Whether each frame the guest consumes is compared with what was injected (slow: for the set-up check). */
    void verifyReceived(boolean on) {
        verifyReceived = on;
    }

    /** A statistics register, read (and so cleared) through an ioreq as a driver reads it. */
    int readStatistic(int reg) {
        return r(reg);
    }

    int txNextToUse() {
        return txNextToUse;
    }

    long txPosted() {
        return txPosted;
    }

    long txCleaned() {
        return txCleaned;
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

    /** Throws if anything went wrong out of sight: a failed loop task, a device error, DMA outside RAM. */
    void checkHealthy() {
        machine.checkHealthy(nic.dmaErrors());
    }

    // ------------------------------------------------------------------ register accesses

    private static SimIoreq mmio(int reg, boolean read) {
        return SimIoreq.mmio(MMIO_BASE + reg, 4, read, 0);
    }

    private int read(SimIoreq request) {
        return (int) machine.read(request);
    }

    private void write(SimIoreq request, int value) {
        machine.write(request, value & 0xffff_ffffL);
    }

    private int r(int reg) {
        return read(mmio(reg, true));
    }

    private void w(int reg, int value) {
        write(mmio(reg, false), value);
    }

    @Override
    public void close() {
        txRingRange.close();
        rxRingRange.close();
        rxBufferRange.close();
        machine.close();
    }
}
