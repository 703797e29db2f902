package io.stubdm.devices.ide;

import io.stubdm.devices.Resettable;
import io.stubdm.hypervisor.GuestMemory;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * One channel's bus-master IDE engine (SFF-8038i rev 1.0, "Programming Interface for Bus Master IDE
 * Controller"): eight bytes of BAR4 with the command register, the status register and the PRD table pointer.
 *
 * <p>A DMA command on the drive and the guest setting START meet here, in either order; the engine then walks
 * the PRD table in guest memory, maps the regions and hands them to the drive. What the table describes beyond
 * the transfer is ignored, as QEMU does; a table that ends before the transfer does (in SFF-8038i's table of
 * status bits, "the PRD table is smaller than the transfer") ends the engine's part without an interrupt, as
 * QEMU's ide_dma_cb does. A PRD
 * table or region outside guest RAM, or bus mastering switched off in COMMAND, is a master abort: ERROR is set
 * and the drive fails the command with an interrupt.
 *
 * <p>Clearing START while the drive's backend requests are in flight clears ACTIVE at once; the requests still
 * finish and end the command normally, as QEMU's synchronous drain does in bmdma_cmd_writeb.
 */
final class BusMasterDma implements Resettable {
    private static final System.Logger LOG = System.getLogger(BusMasterDma.class.getName());

    static final int BM_COMMAND = 0;
    static final int BM_STATUS = 2;
    static final int BM_PRD_TABLE = 4;
    static final int REGISTER_BLOCK_SIZE = 8;

    static final int COMMAND_START = 0x01;
    /** Read/Write Control: 1 = the drive writes memory (a read command). */
    static final int COMMAND_TO_MEMORY = 0x08;
    static final int STATUS_ACTIVE = 0x01;
    static final int STATUS_ERROR = 0x02;
    static final int STATUS_INTERRUPT = 0x04;
    static final int STATUS_DRIVE0_DMA_CAPABLE = 0x20;
    static final int STATUS_DRIVE1_DMA_CAPABLE = 0x40;

    /** Physical Region Descriptor: bit 31 of the second dword ends the table; a byte count of 0 means 64 KiB. */
    static final long PRD_END_OF_TABLE = 0x8000_0000L;
    static final int PRD_ENTRY_SIZE = 8;
    static final int PRD_MAX_REGION = 0x10000;
    /** QEMU's fail-safe for a table without an end: one 4 KiB page of entries (bmdma_prepare_buf). */
    static final int PRD_MAX_ENTRIES = 4096 / PRD_ENTRY_SIZE;

    /** Why the engine could not run a transfer. */
    enum Failure {
        /** The PRD table or a region is not guest RAM, or bus mastering is off: ERROR is set. */
        MEMORY_FAULT,
        /** The PRD table describes less than the transfer. */
        TABLE_TOO_SHORT
    }

    /** The drive's side of a transfer. Both callbacks run on the device loop. */
    interface Client {
        /** The guest started the engine and {@code buffers} cover the transfer; the drive calls {@link #finish()}. */
        void dmaStarted(GuestBuffers buffers);

        /** The transfer cannot run; ACTIVE is already clear. */
        void dmaFailed(Failure why);
    }

    private final String name;
    private final GuestMemory memory;
    private final BooleanSupplier busMasterEnabled;
    private int command;
    private int status;
    private long prdTable;
    private Client waiting;
    private long waitingLength;
    private int faultsLogged;

    BusMasterDma(String name, GuestMemory memory, BooleanSupplier busMasterEnabled) {
        this.name = name;
        this.memory = memory;
        this.busMasterEnabled = busMasterEnabled;
    }

    // ---------------------------------------------------------------- registers, byte by byte

    int readByte(int offset) {
        return switch (offset) {
            case BM_COMMAND -> command;
            case BM_STATUS -> status;
            case BM_PRD_TABLE, BM_PRD_TABLE + 1, BM_PRD_TABLE + 2, BM_PRD_TABLE + 3 ->
                    (int) (prdTable >>> (8 * (offset - BM_PRD_TABLE))) & 0xff;
            // Offsets 1 and 3 are reserved; QEMU's bmdma_read answers them with all-ones.
            default -> 0xff;
        };
    }

    void writeByte(int offset, int value) {
        switch (offset) {
            case BM_COMMAND -> writeCommand(value);
            case BM_STATUS -> status = (value & (STATUS_DRIVE0_DMA_CAPABLE | STATUS_DRIVE1_DMA_CAPABLE))
                    | (status & STATUS_ACTIVE)
                    | (status & ~value & (STATUS_ERROR | STATUS_INTERRUPT));
            case BM_PRD_TABLE, BM_PRD_TABLE + 1, BM_PRD_TABLE + 2, BM_PRD_TABLE + 3 -> {
                int shift = 8 * (offset - BM_PRD_TABLE);
                prdTable = (prdTable & ~(0xffL << shift)) | ((long) value << shift);
                // The table is dword aligned: bits 1:0 are reserved and read as zero.
                prdTable &= 0xffff_fffcL;
            }
            default -> { }
        }
    }

    private void writeCommand(int value) {
        boolean wasStarted = (command & COMMAND_START) != 0;
        command = value & (COMMAND_START | COMMAND_TO_MEMORY);
        boolean started = (command & COMMAND_START) != 0;
        if (started && !wasStarted) {
            status |= STATUS_ACTIVE;
            if (waiting != null) {
                begin();
            }
        } else if (!started && wasStarted) {
            status &= ~STATUS_ACTIVE;
        }
    }

    // ---------------------------------------------------------------- the drive's side

    /** A drive issued a DMA command moving {@code length} bytes; runs now if the guest has set START already. */
    void request(long length, Client client) {
        waiting = client;
        waitingLength = length;
        if ((command & COMMAND_START) != 0 && (status & STATUS_ACTIVE) != 0) {
            begin();
        }
    }

    /** Forgets a request the engine has not started (the drive was reset). */
    void cancel(Client client) {
        if (waiting == client) {
            waiting = null;
        }
    }

    /** The drive moved all the data: the engine goes idle; the drive raises its interrupt next. */
    void finish() {
        status &= ~STATUS_ACTIVE;
    }

    /** The channel's interrupt was asserted (SFF-8038i: INTERRUPT is set by the drive's INTRQ). */
    void interruptRaised() {
        status |= STATUS_INTERRUPT;
    }

    private void begin() {
        Client client = waiting;
        long length = waitingLength;
        waiting = null;
        List<long[]> regions = new ArrayList<>();
        Failure failure = busMasterEnabled.getAsBoolean() ? walkTable(length, regions) : Failure.MEMORY_FAULT;
        GuestBuffers buffers = null;
        if (failure == null) {
            buffers = map(regions);
            if (buffers == null) {
                failure = Failure.MEMORY_FAULT;
            }
        }
        if (failure != null) {
            if (failure == Failure.MEMORY_FAULT) {
                status |= STATUS_ERROR;
            }
            status &= ~STATUS_ACTIVE;
            client.dmaFailed(failure);
            return;
        }
        client.dmaStarted(buffers);
    }

    /** Collects (address, length) regions covering {@code length} bytes; null when they do. */
    private Failure walkTable(long length, List<long[]> regions) {
        long remaining = length;
        try {
            for (int i = 0; i < PRD_MAX_ENTRIES && remaining > 0; i++) {
                long entry = prdTable + (long) i * PRD_ENTRY_SIZE;
                long address = memory.readValue(entry, 4) & 0xffff_fffeL;
                long control = memory.readValue(entry + 4, 4);
                int count = (int) (control & 0xfffe);
                long take = Math.min(count == 0 ? PRD_MAX_REGION : count, remaining);
                regions.add(new long[] {address, take});
                remaining -= take;
                if ((control & PRD_END_OF_TABLE) != 0) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            logFault("PRD table at 0x" + Long.toHexString(prdTable) + " is not readable: " + e.getMessage());
            return Failure.MEMORY_FAULT;
        }
        return remaining > 0 ? Failure.TABLE_TOO_SHORT : null;
    }

    private GuestBuffers map(List<long[]> regions) {
        List<GuestMemory.GuestRange> ranges = new ArrayList<>(regions.size());
        try {
            for (long[] r : regions) {
                ranges.add(memory.map(r[0], (int) r[1]));
            }
            return new GuestBuffers(ranges);
        } catch (RuntimeException e) {
            for (GuestMemory.GuestRange r : ranges) {
                r.close();
            }
            logFault("PRD region is not guest RAM: " + e.getMessage());
            return null;
        }
    }

    private void logFault(String what) {
        if (faultsLogged++ < 10) {
            LOG.log(Level.WARNING, name + ": " + what + "; the transfer fails with a bus-master error");
        }
    }

    /** Power-on state (QEMU's bmdma_reset): idle, nothing waiting. */
    @Override
    public void reset() {
        command = 0;
        status = 0;
        prdTable = 0;
        waiting = null;
    }
}
