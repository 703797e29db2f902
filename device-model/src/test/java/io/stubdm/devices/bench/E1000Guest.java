package io.stubdm.devices.bench;

import static io.stubdm.devices.e1000.E1000Regs.*;

import io.stubdm.devices.e1000.E1000;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.hypervisor.sim.SimIoreq;
import java.util.Optional;

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
 * {@link NicGuest} holds what this driver shares with {@link Rtl8139CplusGuest}.
 */
final class E1000Guest extends NicGuest<E1000> {
    static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static final long MMIO_BASE = 0xfebc0000L;
    /** e1000's default TxDescriptors and RxDescriptors. */
    static final int RING = 256;
    /** rx_buffer_len for a 1500-byte MTU (RCTL.BSIZE 2048); transmit buffers get the same room. */
    static final int BUFFER_SIZE = 2048;
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

    private static final long RX_RING = 0x110000;

    // The register accesses of the data path, built once: a benchmark posts them without allocating.
    private final SimIoreq tdtWrite = mmio(TDT, 4, false);
    private final SimIoreq rdtWrite = mmio(RDT, 4, false);
    private final SimIoreq icrRead = mmio(ICR, 4, true);
    private final SimIoreq statusRead = mmio(STATUS, 4, true);
    private final SimIoreq imcWrite = mmio(IMC, 4, false);
    private final SimIoreq imsWrite = mmio(IMS, 4, false);

    private int txNextToUse;
    private int txNextToClean;
    private int rxNextToUse;
    private int rxNextToClean;

    /** The guest booted, the NIC probed and opened, nothing sent or received yet. */
    E1000Guest(int frameBytes, int batch) {
        super(frameBytes, batch, MAC,
                (loop, memory, backend) -> new E1000(loop, memory, backend, MAC, Optional.empty()),
                MMIO_BASE, RING, DESCRIPTOR_SIZE, BUFFER_SIZE, RX_RING);
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
    @Override
    void transmitBatch() {
        if (txUnused() < batch) {
            long deadline = interruptDeadline();
            while (txUnused() < batch) {
                awaitInterrupt("transmit descriptors done", deadline);
            }
        }
        int i = txNextToUse;
        for (int n = 0; n < batch; n++) {
            int o = i * DESCRIPTOR_SIZE;
            txRing.putLong(o, txBufferAddress(i));
            txRing.putInt(o + 8, TX_COMMAND | frameBytes);
            txRing.putInt(o + 12, 0);
            i = i + 1 == RING ? 0 : i + 1;
        }
        txNextToUse = i;
        write(tdtWrite, i);
        countPosted(batch);
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
            txReclaimed++;
        }
        txNextToClean = i;
    }

    @Override
    int txNextDescriptor() {
        return txNextToUse;
    }

    // ------------------------------------------------------------------ receive

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
                verifyReceivedFrame(i, length);
                verifyChecksumOffload(i, status);
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
            rxRing.putLong(i * DESCRIPTOR_SIZE, rxBufferAddress(i));
            i = i + 1 == RING ? 0 : i + 1;
        }
        rxNextToUse = i;
        write(rdtWrite, i == 0 ? RING - 1 : i - 1);
    }

    /** The checksum offload verified the frame's UDP checksum (TCPCS, and IXSM clear: not ignored). */
    private static void verifyChecksumOffload(int index, int status) {
        if ((status & (RXD_STAT_TCPCS | RXD_STAT_IXSM)) != RXD_STAT_TCPCS) {
            throw new IllegalStateException("receive descriptor " + index + ": UDP checksum not verified, status 0x"
                    + Integer.toHexString(status));
        }
    }

    // ------------------------------------------------------------------ interrupts

    /** e1000_intr, then e1000_clean as NAPI runs it until a poll does less than its budget, then e1000_irq_enable. */
    @Override
    protected void serviceInterrupt() {
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

    /** A statistics register, read (and so cleared) through an ioreq as a driver reads it. */
    int readStatistic(int reg) {
        return r(reg);
    }

    @Override
    void checkHealthy() {
        machine.checkHealthy(nic.dmaErrors());
    }

    // ------------------------------------------------------------------ register accesses

    private int r(int reg) {
        return readRegister(reg, 4);
    }

    private void w(int reg, int value) {
        writeRegister(reg, 4, value);
    }
}
