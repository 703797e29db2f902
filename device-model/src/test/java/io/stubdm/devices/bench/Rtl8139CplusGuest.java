package io.stubdm.devices.bench;

import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;

import io.stubdm.backends.net.NetStats;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.devices.rtl8139.Rtl8139;
import io.stubdm.hypervisor.sim.SimIoreq;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

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
 * {@link NicGuest} holds what this driver shares with {@link E1000Guest}.
 */
final class Rtl8139CplusGuest extends NicGuest<Rtl8139> {
    static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    static final long MMIO_BASE = 0xf2000000L;
    /** RL_8139_TX_DESC_CNT and RL_8139_RX_DESC_CNT. */
    static final int RING = RING_MAX;
    static final int CLUSTER = 2048;
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

    private static final long RX_RING = 0x101000;

    private final SimIoreq tppollWrite = mmio(TPPOLL, 1, false);
    private final SimIoreq isrRead = mmio(ISR, 2, true);
    private final SimIoreq isrWrite = mmio(ISR, 2, false);
    private final SimIoreq imrWrite = mmio(IMR, 2, false);

    private int txProducer;
    private int txConsumer;
    private int txFree = RING;
    private int rxProducer;
    private boolean rxeofAgain;

    /** The guest booted, re(4) attached and the interface up, nothing sent or received yet. */
    Rtl8139CplusGuest(int frameBytes, int batch) {
        super(frameBytes, batch, MAC,
                (loop, memory, backend) -> new Rtl8139(loop, memory, backend, MAC, Optional.empty()),
                MMIO_BASE, RING, DESC_BYTES, CLUSTER, RX_RING);
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
        rxRing.putLong(o + 8, rxBufferAddress(index));
        rxRing.putInt(o, CLUSTER | DESC_OWN | (index == RING - 1 ? DESC_EOR : 0));
    }

    // ------------------------------------------------------------------ transmit

    /**
     * Posts one batch as re_start_locked does: re_encap for each frame and one TPPOLL write ({@code re_start_tx}) for
     * all of them, which the device serves by sending them; then the TOK interrupt. A ring without room stops the
     * queue (IFF_DRV_OACTIVE): what is queued is started, and the rest waits for re_txeof in the interrupt.
     */
    @Override
    void transmitBatch() {
        long deadline = interruptDeadline();
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
            txRing.putLong(o + 8, txBufferAddress(i));
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
        write(tppollWrite, TPPOLL_NPQ);
        countPosted(queued);
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

    @Override
    int txNextDescriptor() {
        return txProducer;
    }

    // ------------------------------------------------------------------ receive

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
                verifyReceivedFrame(rxProducer, length - FCS);
            }
            newBuffer(rxProducer);
            rxConsumed++;
            budget--;
        }
        rxeofAgain = budget > 0;
    }

    // ------------------------------------------------------------------ interrupts

    /** re_intr, then re_int_task until nothing is left, then the interrupts unmasked again. */
    @Override
    protected void serviceInterrupt() {
        int status = read(isrRead);
        if ((status & INTRS_CPLUS) == 0) {
            return;
        }
        interrupts++;
        write(imrWrite, 0);
        while (true) {
            status = read(isrRead);
            write(isrWrite, status);
            boolean again = false;
            if ((status & (INT_ROK | INT_RER | INT_FOVW)) != 0) {
                rxeof();
                again = rxeofAgain;
            }
            if ((status & (INT_TOK | INT_TER | INT_TDU)) != 0) {
                txeof();
            }
            if ((read(isrRead) & INTRS_CPLUS) == 0 && !again) {
                break;
            }
        }
        write(imrWrite, INTRS_CPLUS);
    }

    // ------------------------------------------------------------------ checks, for the benchmarks' set-up

    /** Frames the chip had to hold because no cluster was free: each cost a wait for the guest. */
    long receiveHolds() {
        return nic.receiveHolds();
    }

    @Override
    void checkHealthy() {
        NetStats s = backend.stats();
        machine.checkHealthy(s.drops("rx-dma-error") + s.drops("tx-dma-error"));
        if (!s.dropsByCause().isEmpty()) {
            throw new IllegalStateException("the chip dropped frames: " + s.dropsByCause());
        }
    }

    // ------------------------------------------------------------------ register accesses

    private int r8(int reg) {
        return readRegister(reg, 1);
    }

    private int r32(int reg) {
        return readRegister(reg, 4);
    }

    private void w8(int reg, int value) {
        writeRegister(reg, 1, value);
    }

    private void w16(int reg, int value) {
        writeRegister(reg, 2, value);
    }

    private void w32(int reg, int value) {
        writeRegister(reg, 4, value);
    }
}
