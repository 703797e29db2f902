package io.stubdm.ioreq;

import static io.stubdm.hypervisor.IoreqAbi.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.hypervisor.sim.SimTimeoutException;
import io.stubdm.hypervisor.sim.SimVcpu;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Requests no well-behaved Xen would build from a well-behaved guest, and a Xen that breaks the slot protocol:
 * each must be answered with all-ones or a counted drop, never an exception out of the loop, a hang, or a
 * crashed guest, and the next ordinary request must still work.
 */
class HostileGuestTest {
    private EmbeddedEngine rig;
    private RecordingDevice dev;
    private RecordingDevice bar;
    private SimVcpu cpu;
    private int id;

    @BeforeEach
    void setUp() {
        rig = new EmbeddedEngine(1, 64L << 20);
        dev = new RecordingDevice(8);
        rig.ports().register(0x3f8, 8, dev, "com1");
        bar = new RecordingDevice(0x1000);
        rig.mmio().register(0xf0000000L, 0x1000, bar, "bar");
        rig.pci().register(PciConfigBus.sbdf(0, 0, 2, 0), new RecordingDevice(256));
        rig.start();
        cpu = rig.domain().vcpu(0);
        id = rig.server().serverId();
    }

    @AfterEach
    void stillServingAndNothingEscaped() {
        dev.write(7, 1, 0x5c);
        assertEquals(0x5c, cpu.inb(0x3ff), "an ordinary request still works afterwards");
        assertEquals(0, rig.loop().failures(), "nothing escaped from a handler into the loop");
        assertNull(rig.domain().crashReason());
        rig.close();
    }

    private long raw(int type, long addr, int size, boolean read, long data) {
        return cpu.sendRaw(id, SimIoreq.of(type, addr, size, read, data));
    }

    @Test
    void badSizesAreRefused() {
        for (int size : new int[] {0, 3, 5, 8, 16, -1}) {
            long v = raw(IOREQ_TYPE_PIO, 0x3f8, size, true, 0);
            assertTrue(v == -1L || v == io.stubdm.hypervisor.ByteValues.mask(size), "size " + size + " read gave " + Long.toHexString(v));
            raw(IOREQ_TYPE_PIO, 0x3f8, size, false, 0x12);
        }
        for (int size : new int[] {0, 3, 16}) {
            raw(IOREQ_TYPE_COPY, 0xf0000000L, size, true, 0);
            raw(IOREQ_TYPE_COPY, 0xf0000000L, size, false, 0);
        }
        assertEquals(0xffffffffL, raw(IOREQ_TYPE_PIO, 0xfffe, 4, true, 0), "a dword at 0xFFFE leaves the port space");
        assertTrue(dev.log.isEmpty() && bar.log.isEmpty(), "no device saw a malformed access");
        assertEquals(6 * 2 + 3 * 2 + 1, rig.stats().invalid());
    }

    @Test
    void unknownTypeIsRefused() {
        assertEquals(0xffL, raw(5, 0x3f8, 1, true, 0));
        assertEquals(0xffL, raw(0xff, 0x3f8, 1, true, 0));
        assertEquals(2, rig.stats().invalid());
        assertTrue(dev.log.isEmpty());
    }

    @Test
    void hugeAndZeroRepCountsAreRefused() {
        for (int count : new int[] {0, 4097, 100_000, -1}) {
            cpu.sendRaw(id, SimIoreq.pio(0x3f8, 1, true, 0x10000).rep(count, false, true));
            cpu.sendRaw(id, SimIoreq.mmio(0xf0000000L, 4, false, 0x10000).rep(count, false, true));
        }
        assertEquals(8, rig.stats().invalid());
        assertTrue(dev.log.isEmpty() && bar.log.isEmpty());
    }

    @Test
    void pointersOutsideRamStopTheCopyAtTheFirstBadItem() {
        long top = rig.domain().ramBytes();
        // Entirely past the end of RAM, in the VGA hole, at a "negative" (above 2^63) address.
        for (long gpa : new long[] {top + 0x1000, 0xa0000, 0xffff_ffff_ffff_f000L}) {
            cpu.sendRaw(id, SimIoreq.pio(0x3f8, 1, true, gpa).rep(16, false, true));
        }
        // df walking below address 0.
        cpu.sendRaw(id, SimIoreq.pio(0x3f8, 2, false, 4).rep(100, true, true));
        // Starts in RAM and runs into the VGA hole: the items before the hole are done, then it stops.
        dev.nextFifoValue = 0;
        cpu.sendRaw(id, SimIoreq.pio(0x3f8, 1, true, 0x9fff8).rep(16, false, true));
        for (int i = 0; i < 8; i++) {
            assertEquals(i, rig.guestMemory().readValue(0x9fff8 + i, 1));
        }
        dev.nextFifoValue = -1;
        // rep movs from RAM past the end into MMIO.
        cpu.sendRaw(id, SimIoreq.mmio(0xf0000000L, 4, false, top - 8).rep(4, false, true));
        assertEquals(2, bar.log.size(), "two dwords were RAM, the third was not");
        assertEquals(6, rig.stats().memoryFaults());
        // An MMIO rep whose device side wraps the address space is malformed, not a fault.
        cpu.sendRaw(id, SimIoreq.mmio(Long.MAX_VALUE - 4, 4, true, 0x1000).rep(4, false, true));
        assertEquals(1, rig.stats().invalid());
    }

    @Test
    void badPciConfigRequestsAreRefused() {
        long sbdf = PciConfigBus.sbdf(0, 0, 2, 0) & 0xffffffffL;
        assertEquals(0xffffffffL, raw(IOREQ_TYPE_PCI_CONFIG, sbdf << 32 | 0xfe, 4, true, 0), "past 256 bytes");
        assertEquals(0xffffffffL, raw(IOREQ_TYPE_PCI_CONFIG, sbdf << 32 | 0x100000, 4, true, 0));
        assertEquals(0xffL, cpu.sendRaw(id,
                SimIoreq.of(IOREQ_TYPE_PCI_CONFIG, sbdf << 32, 1, true, 0).rep(2, false, false)), "count 2");
        assertEquals(3, rig.stats().invalid());
        // data_is_ptr with a pointer that is not RAM.
        cpu.sendRaw(id, SimIoreq.of(IOREQ_TYPE_PCI_CONFIG, sbdf << 32, 4, true, 0xa0000).rep(1, false, true));
        assertEquals(1, rig.stats().memoryFaults());
    }

    @Test
    void aDeviceThatThrowsIsCountedAndAnsweredWithAllOnes() {
        rig.ports().register(0x100, 4, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                throw new IllegalStateException("device bug");
            }

            @Override
            public void write(long offset, int size, long value) {
                throw new ArrayIndexOutOfBoundsException(99);
            }
        }, "buggy");
        assertEquals(0xffff, cpu.inw(0x100));
        cpu.outl(0x100, 1);
        assertEquals(2, rig.stats().deviceErrors());
    }

    @Test
    void slotsThatAreNotReadyAreIgnoredAsSpurious() {
        SimIoreq r = SimIoreq.pio(0x3f8, 1, true, 0);
        for (int state : new int[] {STATE_IOREQ_NONE, STATE_IOREQ_INPROCESS, STATE_IORESP_READY, 7, 15}) {
            long before = rig.stats().spurious();
            cpu.postWithState(id, r, state);
            // Give the loop a turn to look at it; an ordinary request on vCPU 0 needs the slot, so use a task.
            awaitLoopTurn();
            assertEquals(before + 1, rig.stats().spurious(), "state " + state);
            assertEquals(state, cpu.slotState(id), "the device model did not touch a slot that was not READY");
            cpu.resetSlot(id);
        }
        assertTrue(dev.log.isEmpty());
    }

    @Test
    void aSlotChangedUnderTheEngineIsNotAnswered() {
        ByteBuffer page;
        ForeignMemory fm = rig.xen().foreignMemory(EmbeddedEngine.DEFAULT_DOMID);
        ForeignMemory.ForeignMapping m = fm.mapResource(XENMEM_RESOURCE_IOREQ_SERVER, id, 1, 1);
        page = m.buffer();
        rig.ports().register(0x200, 1, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                page.put(OFF_FLAGS, (byte) STATE_IOREQ_NONE); // a broken Xen rewrites the slot mid-request
                return 1;
            }

            @Override
            public void write(long offset, int size, long value) { }
        }, "trap");
        cpu.setTimeoutNanos(200_000_000L);
        SimIoreq r = SimIoreq.pio(0x200, 1, true, 0x99);
        long got = cpu.sendRaw(id, r);
        assertEquals(0x99, got, "Xen saw NONE and let the vCPU go on with its own data, not an answer");
        assertEquals(1, rig.stats().protocolErrors());
        m.close();
    }

    @Test
    void corruptBufferedRingPointersAreDroppedNotLoopedOn() {
        ForeignMemory.ForeignMapping m = rig.xen().foreignMemory(EmbeddedEngine.DEFAULT_DOMID)
                .mapResource(XENMEM_RESOURCE_IOREQ_SERVER, id, 0, 1);
        ByteBuffer ring = m.buffer();
        // write_pointer far ahead of read_pointer: more entries than the ring holds.
        ring.putInt(BUF_OFF_WRITE_POINTER, ring.getInt(BUF_OFF_READ_POINTER) + 5000);
        // Xen would not add to a ring that looks full, but every synchronous request drains it first.
        cpu.inb(0x3f8);
        assertEquals(1, rig.stats().bufferedErrors());
        assertEquals(ring.getInt(BUF_OFF_READ_POINTER), ring.getInt(BUF_OFF_WRITE_POINTER), "the ring is empty again");

        // A quad word whose second half never arrived. It is only recognisable as the ring's last entry (with
        // more behind it, the next slot would be taken as its high half), so a synchronous request drains it.
        int wr = ring.getInt(BUF_OFF_WRITE_POINTER);
        int slot = BUF_OFF_SLOTS + Integer.remainderUnsigned(wr, BUF_SLOT_NUM) * BUF_SLOT_SIZE;
        ring.putInt(slot, IOREQ_TYPE_COPY | (3 << BUF_SIZE_SHIFT) | (0xa0000 << BUF_ADDR_SHIFT));
        ring.putInt(slot + 4, 0x1234);
        ring.putInt(BUF_OFF_WRITE_POINTER, wr + 1);
        cpu.inb(0x3f8);
        assertEquals(2, rig.stats().bufferedErrors());
        // A read in the ring: nobody could receive its value.
        wr = ring.getInt(BUF_OFF_WRITE_POINTER);
        slot = BUF_OFF_SLOTS + Integer.remainderUnsigned(wr, BUF_SLOT_NUM) * BUF_SLOT_SIZE;
        ring.putInt(slot, IOREQ_TYPE_PIO | (1 << BUF_DIR_SHIFT) | (0x3f8 << BUF_ADDR_SHIFT));
        ring.putInt(BUF_OFF_WRITE_POINTER, wr + 1);
        cpu.inb(0x3f8);
        assertEquals(3, rig.stats().bufferedErrors());
        rig.domain().sendTimeOffset(3);
        awaitLoopTurn();
        assertEquals(3, rig.dispatcher().lastTimeOffset(), "entries after the bad ones are still served");
        assertEquals(List.of("r1@0=0", "r1@0=0", "r1@0=0"), dev.log, "only the synchronous reads reached the device");
        assertEquals(0, rig.stats().mmioWrites(), "the broken quad word was not applied");
        m.close();
    }

    @Test
    void aVcpuWhosePortNothingHandlesTimesOutWithoutHangingTheLoop() {
        // A second server made behind the engine's back: its vCPU port is bound on the loop's handle but has
        // no handler, so the loop must count and skip it.
        var dm = rig.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID);
        int other = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_ATOMIC);
        dm.mapIoRangeToIoreqServer(other, io.stubdm.hypervisor.IoRangeType.PORT, 0x900, 0x900);
        dm.setIoreqServerState(other, true);
        ForeignMemory.ForeignMapping m = rig.xen().foreignMemory(EmbeddedEngine.DEFAULT_DOMID)
                .mapResource(XENMEM_RESOURCE_IOREQ_SERVER, other, 1, 1);
        int remote = m.buffer().getInt(OFF_VP_EPORT);
        rig.loop().eventChannels().bindInterdomain(EmbeddedEngine.DEFAULT_DOMID, remote);
        cpu.setTimeoutNanos(200_000_000L);
        assertThrows(SimTimeoutException.class, () -> cpu.inb(0x900));
        assertEquals(1, rig.loop().unknownPorts());
        dm.destroyIoreqServer(other);
        m.close();
    }

    /**
     * Waits until the loop has started a turn after this call: a task that posts a task runs its second half
     * in a later turn, whose wait collected every port raised before this call.
     */
    private void awaitLoopTurn() {
        java.util.concurrent.CompletableFuture<Void> turn = new java.util.concurrent.CompletableFuture<>();
        rig.loop().execute(() -> rig.loop().execute(() -> turn.complete(null)));
        turn.join();
    }
}
