package io.stubdm.devices.serial;

import io.stubdm.backends.chardev.CharBackend;
import io.stubdm.devices.IrqLine;
import io.stubdm.devices.Resettable;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.DeviceClock;
import java.util.concurrent.Executor;

/**
 * National Semiconductor PC16550D UART (TI's 16550 is the same part), the PC's COM port: eight byte registers
 * at COM1 0x3F8 / IRQ 4 or COM2 0x2F8 / IRQ 3. It behaves as QEMU's {@code hw/char/serial.c}, which hvmloader,
 * SeaBIOS, Linux's 8250 driver and FreeBSD's uart(4) are known to accept, with two differences that follow
 * from the host side not being a wire:
 *
 * <ul>
 *   <li><b>Transmit</b>: a byte leaves THR / the transmit FIFO as soon as the backend takes it, so a guest that
 *       polls LSR sees THRE and TEMT at once; but a byte stays in the FIFO, THRE and TEMT clear, for as long as
 *       the backend does not take it. QEMU gives up after a few retries and drops it; nothing is dropped here.
 *       There is no transmitter shift register to wait for, so TEMT always equals THRE.</li>
 *   <li><b>Receive</b>: the backend delivers only what fits in the receive FIFO (or RBR with FIFOs off) and
 *       holds the rest until the guest reads, as a line with hardware flow control would. Overruns (LSR.OE)
 *       therefore happen only in loopback, where the guest fills its own FIFO.</li>
 * </ul>
 *
 * <p>The host side carries bytes, not line conditions: parity errors, framing errors and breaks are never
 * received, so LSR.PE, LSR.FE, LSR.BI and LSR's FIFO-error bit read 0. The modem inputs read as a null-modem
 * cable with DCD, DSR and CTS asserted (QEMU's defaults) unless loopback feeds MCR back into them.
 *
 * <p>The interrupt line is held high while IIR reports a cause and low otherwise, so each new cause is a new
 * edge on the edge-triggered ISA line. MCR.OUT2 does not gate it, as in QEMU (on a PC, OUT2 enables the
 * board's IRQ driver; FreeBSD and Linux set it anyway).
 *
 * <p>Runs on the device loop: bus accesses, backend callbacks and the receive-timeout timer all arrive there.
 */
public final class Uart16550 implements BusDevice, Resettable {
    // Register offsets, PC16550D datasheet Table II. With LCR.DLAB set, offsets 0 and 1 are the divisor latch.
    public static final int RBR = 0;
    public static final int THR = 0;
    public static final int DLL = 0;
    public static final int IER = 1;
    public static final int DLM = 1;
    public static final int IIR = 2;
    public static final int FCR = 2;
    public static final int LCR = 3;
    public static final int MCR = 4;
    public static final int LSR = 5;
    public static final int MSR = 6;
    public static final int SCR = 7;

    /** Interrupt Enable Register bits (§8.7); bits 7:4 are always 0. */
    public static final int IER_ERBFI = 0x01;
    public static final int IER_ETBEI = 0x02;
    public static final int IER_ELSI = 0x04;
    public static final int IER_EDSSI = 0x08;

    /** Interrupt Identification Register values (§8.6, Table IV), highest priority first. */
    public static final int IIR_NO_INTERRUPT = 0x01;
    public static final int IIR_RX_LINE_STATUS = 0x06;
    public static final int IIR_RX_TIMEOUT = 0x0c;
    public static final int IIR_RX_DATA = 0x04;
    public static final int IIR_THR_EMPTY = 0x02;
    public static final int IIR_MODEM_STATUS = 0x00;
    public static final int IIR_ID_MASK = 0x0f;
    public static final int IIR_FIFOS_ENABLED = 0xc0;

    /** FIFO Control Register bits (§8.5). */
    public static final int FCR_FIFO_ENABLE = 0x01;
    public static final int FCR_RCVR_FIFO_RESET = 0x02;
    public static final int FCR_XMIT_FIFO_RESET = 0x04;
    public static final int FCR_DMA_MODE_SELECT = 0x08;
    public static final int FCR_RCVR_TRIGGER = 0xc0;

    /** Line Control Register bits (§8.1). */
    public static final int LCR_WORD_LENGTH = 0x03;
    public static final int LCR_STOP_BITS = 0x04;
    public static final int LCR_PARITY_ENABLE = 0x08;
    public static final int LCR_EVEN_PARITY = 0x10;
    public static final int LCR_STICK_PARITY = 0x20;
    public static final int LCR_SET_BREAK = 0x40;
    public static final int LCR_DLAB = 0x80;

    /** Modem Control Register bits (§8.8); bits 7:5 are always 0. */
    public static final int MCR_DTR = 0x01;
    public static final int MCR_RTS = 0x02;
    public static final int MCR_OUT1 = 0x04;
    public static final int MCR_OUT2 = 0x08;
    public static final int MCR_LOOP = 0x10;

    /** Line Status Register bits (§8.4). */
    public static final int LSR_DR = 0x01;
    public static final int LSR_OE = 0x02;
    public static final int LSR_PE = 0x04;
    public static final int LSR_FE = 0x08;
    public static final int LSR_BI = 0x10;
    public static final int LSR_THRE = 0x20;
    public static final int LSR_TEMT = 0x40;
    public static final int LSR_RCVR_FIFO_ERROR = 0x80;

    /** Modem Status Register bits (§8.9): deltas in 3:0, the complemented modem inputs in 7:4. */
    public static final int MSR_DCTS = 0x01;
    public static final int MSR_DDSR = 0x02;
    public static final int MSR_TERI = 0x04;
    public static final int MSR_DDCD = 0x08;
    public static final int MSR_CTS = 0x10;
    public static final int MSR_DSR = 0x20;
    public static final int MSR_RI = 0x40;
    public static final int MSR_DCD = 0x80;

    /** The PC's 1.8432 MHz crystal divided by 16 (§8.3): the baud rate of divisor 1. */
    public static final int BAUD_BASE = 115200;
    public static final int FIFO_BYTES = 16;

    private static final int IER_MASK = 0x0f;
    private static final int MCR_MASK = 0x1f;
    private static final int LSR_LINE_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;
    private static final int MSR_DELTAS = 0x0f;
    private static final int MSR_INPUTS = 0xf0;
    /** What the host side presents on the modem inputs: a null-modem cable with the far end ready. */
    private static final int HOST_MODEM_INPUTS = MSR_DCD | MSR_DSR | MSR_CTS;
    /** The divisor QEMU and the PC BIOS leave programmed: 9600 baud. */
    private static final int RESET_DIVISOR = 12;
    private static final int[] RX_TRIGGER_LEVELS = {1, 4, 8, 14};

    private final DeviceClock clock;
    private final IrqLine irq;
    private final CharBackend backend;

    private final byte[] rxFifo = new byte[FIFO_BYTES];
    private int rxHead;
    private int rxCount;
    private final byte[] txFifo = new byte[FIFO_BYTES];
    private int txHead;
    private int txCount;

    private int rbr;
    private int ier;
    private int fcr;
    private int lcr;
    private int mcr;
    private int scr;
    private int divisor;
    /** LSR's error bits, latched until LSR is read. */
    private int lsrErrors;
    private int msr;
    /** IIR's low nibble as of the last update. */
    private int interruptId;
    private boolean thrEmptyPending;
    private boolean rxTimeoutPending;
    private long charTimeNanos;
    private long rxTimeoutDeadline;
    private DeviceClock.Timer rxTimer;
    private boolean irqLevel;

    private long bytesTransmitted;
    private long bytesReceived;
    private long overruns;
    private long transmitOverwrites;

    /**
     * Connects {@code backend} with {@code loop} as its executor, so that the backend's deliveries run where the
     * UART does. {@code loop} is the device loop: its clock paces the receive timeout.
     */
    public <L extends DeviceClock & Executor> Uart16550(L loop, IrqLine irq, CharBackend backend) {
        this.clock = loop;
        this.irq = irq;
        this.backend = backend;
        resetRegisters();
        backend.connect(loop, new HostSide());
    }

    /** Bytes the backend took from the transmitter (loopback bytes do not count). */
    public long bytesTransmitted() {
        return bytesTransmitted;
    }

    /** Bytes received from the backend (loopback bytes do not count). */
    public long bytesReceived() {
        return bytesReceived;
    }

    /** Characters lost to receiver overruns (LSR.OE); only loopback can overrun. */
    public long overruns() {
        return overruns;
    }

    /** Bytes the guest wrote into a full THR or transmit FIFO, which overwrite the oldest (QEMU does the same). */
    public long transmitOverwrites() {
        return transmitOverwrites;
    }

    @Override
    public long read(long offset, int size) {
        // Byte registers: a wider access reads consecutive registers, as QEMU's 1-byte access size makes it.
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (long) readRegister((int) (offset + i) & 7) << (8 * i);
        }
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            writeRegister((int) (offset + i) & 7, (int) (value >>> (8 * i)) & 0xff);
        }
    }

    @Override
    public void reset() {
        resetRegisters();
        backend.acceptInput();
    }

    /** QEMU's serial_reset: 9600 8N1, FIFOs off, OUT2 set, nothing pending. */
    private void resetRegisters() {
        ier = 0;
        fcr = 0;
        lcr = 0;
        mcr = MCR_OUT2;
        scr = 0;
        rbr = 0;
        divisor = RESET_DIVISOR;
        lsrErrors = 0;
        rxHead = 0;
        rxCount = 0;
        txHead = 0;
        txCount = 0;
        thrEmptyPending = false;
        stopRxTimeout();
        msr = modemInputs();
        updateCharTime();
        updateInterrupts();
    }

    private int readRegister(int reg) {
        switch (reg) {
            case RBR:
                return (lcr & LCR_DLAB) != 0 ? divisor & 0xff : readRbr();
            case IER:
                return (lcr & LCR_DLAB) != 0 ? divisor >>> 8 : ier;
            case IIR:
                return readIir();
            case LCR:
                return lcr;
            case MCR:
                return mcr;
            case LSR:
                return readLsr();
            case MSR:
                return readMsr();
            default:
                return scr;
        }
    }

    private void writeRegister(int reg, int v) {
        switch (reg) {
            case THR:
                if ((lcr & LCR_DLAB) != 0) {
                    setDivisor((divisor & 0xff00) | v);
                } else {
                    writeThr(v);
                }
                break;
            case IER:
                if ((lcr & LCR_DLAB) != 0) {
                    setDivisor((divisor & 0x00ff) | (v << 8));
                } else {
                    writeIer(v);
                }
                break;
            case FCR:
                writeFcr(v);
                break;
            case LCR:
                lcr = v;
                updateCharTime();
                break;
            case MCR:
                writeMcr(v);
                break;
            case LSR:
            case MSR:
                break; // factory test registers on the real part; writes do nothing useful
            default:
                scr = v;
                break;
        }
    }

    // ---- receiver ----

    private boolean fifosEnabled() {
        return (fcr & FCR_FIFO_ENABLE) != 0;
    }

    private boolean loopback() {
        return (mcr & MCR_LOOP) != 0;
    }

    /** Sixteen bytes in FIFO mode; in 16450 mode RBR and THR hold one each. */
    private int capacity() {
        return fifosEnabled() ? FIFO_BYTES : 1;
    }

    private int rxTriggerLevel() {
        return RX_TRIGGER_LEVELS[(fcr & FCR_RCVR_TRIGGER) >>> 6];
    }

    private int readRbr() {
        if (rxCount > 0) {
            rbr = rxFifo[rxHead] & 0xff;
            rxHead = (rxHead + 1) % FIFO_BYTES;
            rxCount--;
            if (rxCount > 0) {
                armRxTimeout();
            }
        }
        // §8.11: reading the FIFO clears a timeout indication and restarts the timer.
        rxTimeoutPending = false;
        updateInterrupts();
        if (!loopback()) {
            backend.acceptInput();
        }
        return rbr;
    }

    /** Bytes from the backend; none while in loopback, where the receiver is cut off from the line (§8.8). */
    private int receiveFromHost(byte[] buf, int off, int len) {
        if (loopback()) {
            return 0;
        }
        int n = Math.min(len, capacity() - rxCount);
        for (int i = 0; i < n; i++) {
            rxFifo[(rxHead + rxCount) % FIFO_BYTES] = buf[off + i];
            rxCount++;
        }
        if (n > 0) {
            bytesReceived += n;
            armRxTimeout();
            updateInterrupts();
        }
        return n;
    }

    /**
     * A transmitted byte looped into the receiver. When full, §8.4 (LSR1) has a FIFO lose the new character and
     * 16450 mode overwrite RBR with it; either way LSR.OE is set.
     */
    private void receiveLooped(byte b) {
        if (rxCount < capacity()) {
            rxFifo[(rxHead + rxCount) % FIFO_BYTES] = b;
            rxCount++;
        } else {
            if (!fifosEnabled()) {
                rxFifo[rxHead] = b;
            }
            lsrErrors |= LSR_OE;
            overruns++;
        }
        armRxTimeout();
    }

    /**
     * §8.11: with FIFOs on, a character-timeout interrupt comes when data has sat in the receive FIFO for four
     * character times with no new character and no read. One timer runs; each event only moves the deadline.
     */
    private void armRxTimeout() {
        if (!fifosEnabled()) {
            return;
        }
        long wait = 4 * charTimeNanos;
        rxTimeoutDeadline = clock.nanoTime() + wait;
        if (rxTimer == null) {
            rxTimer = clock.schedule(wait, this::rxTimeoutExpired);
        }
    }

    private void rxTimeoutExpired() {
        rxTimer = null;
        if (rxCount == 0 || !fifosEnabled()) {
            return;
        }
        long early = rxTimeoutDeadline - clock.nanoTime();
        if (early > 0) {
            rxTimer = clock.schedule(early, this::rxTimeoutExpired);
            return;
        }
        rxTimeoutPending = true;
        updateInterrupts();
    }

    private void stopRxTimeout() {
        if (rxTimer != null) {
            rxTimer.cancel();
            rxTimer = null;
        }
        rxTimeoutPending = false;
    }

    // ---- transmitter ----

    private void writeThr(int v) {
        if (txCount == capacity()) {
            txHead = (txHead + 1) % FIFO_BYTES;
            txCount--;
            transmitOverwrites++;
        }
        txFifo[(txHead + txCount) % FIFO_BYTES] = (byte) v;
        txCount++;
        // §8.6: writing THR clears a THRE interrupt. Lower the line before the byte leaves and THRE comes back,
        // so that the next THRE interrupt is a new edge even when the guest writes THR from its handler.
        thrEmptyPending = false;
        updateInterrupts();
        transmit();
    }

    /** Moves bytes out of the transmit FIFO: into the receiver in loopback, else to the backend while it takes them. */
    private void transmit() {
        boolean hadBytes = txCount > 0;
        while (txCount > 0) {
            if (loopback()) {
                byte b = txFifo[txHead];
                txHead = (txHead + 1) % FIFO_BYTES;
                txCount--;
                receiveLooped(b);
                continue;
            }
            int run = Math.min(txCount, FIFO_BYTES - txHead);
            int taken = backend.write(txFifo, txHead, run);
            if (taken < 0 || taken > run) {
                throw new IllegalStateException(backend.describe() + " took " + taken + " of " + run + " bytes");
            }
            txHead = (txHead + taken) % FIFO_BYTES;
            txCount -= taken;
            bytesTransmitted += taken;
            if (taken < run) {
                break; // the backend calls writable() when it can take more
            }
        }
        if (hadBytes && txCount == 0) {
            thrEmptyPending = true;
        }
        updateInterrupts();
    }

    // ---- control and status registers ----

    private void writeIer(int v) {
        int changed = (ier ^ v) & IER_MASK;
        ier = v & IER_MASK;
        // Enabling ETBEI while THR is empty raises a THRE interrupt at once, not only on the next transition to
        // empty. The datasheet does not say so, but real parts do it, QEMU does it, and FreeBSD's transmit path
        // (which enables ETBEI after filling the FIFO and waits for the interrupt) relies on it.
        if ((changed & IER_ETBEI) != 0) {
            thrEmptyPending = (ier & IER_ETBEI) != 0 && txCount == 0;
        }
        updateInterrupts();
    }

    private int readIir() {
        int value = interruptId | (fifosEnabled() ? IIR_FIFOS_ENABLED : 0);
        // §8.6 (Table IV): reading IIR while it reports THRE is what clears that interrupt.
        if (interruptId == IIR_THR_EMPTY) {
            thrEmptyPending = false;
            updateInterrupts();
        }
        return value;
    }

    private void writeFcr(int v) {
        // §8.5: the other bits are programmed only with FCR0 set; changing FCR0 clears both FIFOs.
        boolean toggled = ((v ^ fcr) & FCR_FIFO_ENABLE) != 0;
        boolean enable = (v & FCR_FIFO_ENABLE) != 0;
        boolean resetRx = toggled || (enable && (v & FCR_RCVR_FIFO_RESET) != 0);
        boolean resetTx = toggled || (enable && (v & FCR_XMIT_FIFO_RESET) != 0);
        if (resetRx) {
            rxHead = 0;
            rxCount = 0;
            stopRxTimeout();
        }
        if (resetTx) {
            txHead = 0;
            txCount = 0;
            thrEmptyPending = true;
        }
        // DMA mode only changes the RXRDY/TXRDY pins, which no ISA DMA channel listens to here.
        fcr = enable ? v & (FCR_FIFO_ENABLE | FCR_RCVR_TRIGGER) : 0;
        updateInterrupts();
        if (resetRx && !loopback()) {
            backend.acceptInput();
        }
    }

    private void writeMcr(int v) {
        boolean wasLoopback = loopback();
        mcr = v & MCR_MASK;
        updateModemStatus();
        if (loopback() != wasLoopback) {
            // Bytes still waiting for the backend now go where the transmitter points.
            transmit();
            if (!loopback()) {
                backend.acceptInput();
            }
        }
        updateInterrupts();
    }

    private int readLsr() {
        int value = lsrErrors;
        if (rxCount > 0) {
            value |= LSR_DR;
        }
        if (txCount == 0) {
            value |= LSR_THRE | LSR_TEMT;
        }
        // §8.4: reading LSR clears the error bits (QEMU clears OE and BI; PE and FE never occur here).
        if (lsrErrors != 0) {
            lsrErrors = 0;
            updateInterrupts();
        }
        return value;
    }

    /**
     * §8.8: in loopback the modem outputs drive the modem inputs, DTR to DSR, RTS to CTS, OUT1 to RI and OUT2 to
     * DCD; otherwise the inputs are the host side's.
     */
    private int modemInputs() {
        if (!loopback()) {
            return HOST_MODEM_INPUTS;
        }
        return ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                | ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
                | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
    }

    /** §8.9: a change of CTS, DSR or DCD sets its delta bit; TERI is set when RI goes from on to off. */
    private void updateModemStatus() {
        int now = modemInputs();
        int old = msr & MSR_INPUTS;
        int changed = now ^ old;
        int deltas = msr & MSR_DELTAS;
        if ((changed & MSR_CTS) != 0) {
            deltas |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            deltas |= MSR_DDSR;
        }
        if ((changed & MSR_DCD) != 0) {
            deltas |= MSR_DDCD;
        }
        if ((old & MSR_RI) != 0 && (now & MSR_RI) == 0) {
            deltas |= MSR_TERI;
        }
        msr = now | deltas;
    }

    private int readMsr() {
        int value = msr;
        if ((msr & MSR_DELTAS) != 0) {
            msr &= MSR_INPUTS;
            updateInterrupts();
        }
        return value;
    }

    private void setDivisor(int d) {
        divisor = d;
        updateCharTime();
    }

    /**
     * One character's time on the line at the programmed divisor and frame (start bit, 5-8 data bits, parity,
     * stop bits), for the receive timeout. A zero divisor stops the real baud generator; keep the old time then.
     */
    private void updateCharTime() {
        if (divisor == 0) {
            return;
        }
        int bits = 1 + 5 + (lcr & LCR_WORD_LENGTH) + ((lcr & LCR_PARITY_ENABLE) != 0 ? 1 : 0)
                + ((lcr & LCR_STOP_BITS) != 0 ? 2 : 1);
        charTimeNanos = 1_000_000_000L * bits * divisor / BAUD_BASE;
    }

    /** QEMU's serial_update_irq: the highest-priority enabled cause (§8.6, Table IV) and the line level. */
    private void updateInterrupts() {
        int id;
        if ((ier & IER_ELSI) != 0 && (lsrErrors & LSR_LINE_ERRORS) != 0) {
            id = IIR_RX_LINE_STATUS;
        } else if ((ier & IER_ERBFI) != 0 && rxTimeoutPending) {
            id = IIR_RX_TIMEOUT;
        } else if ((ier & IER_ERBFI) != 0 && rxCount > 0 && (!fifosEnabled() || rxCount >= rxTriggerLevel())) {
            id = IIR_RX_DATA;
        } else if ((ier & IER_ETBEI) != 0 && thrEmptyPending) {
            id = IIR_THR_EMPTY;
        } else if ((ier & IER_EDSSI) != 0 && (msr & MSR_DELTAS) != 0) {
            id = IIR_MODEM_STATUS;
        } else {
            id = IIR_NO_INTERRUPT;
        }
        interruptId = id;
        boolean level = id != IIR_NO_INTERRUPT;
        if (level != irqLevel) {
            irqLevel = level;
            irq.setLevel(level);
        }
    }

    /** The backend's side of the UART, kept off the public API. */
    private final class HostSide implements CharBackend.Frontend {
        @Override
        public int receive(byte[] buf, int off, int len) {
            return receiveFromHost(buf, off, len);
        }

        @Override
        public void writable() {
            transmit();
        }
    }
}
