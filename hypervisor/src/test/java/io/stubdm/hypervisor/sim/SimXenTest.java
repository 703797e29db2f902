package io.stubdm.hypervisor.sim;

import static io.stubdm.hypervisor.IoreqAbi.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.MemType;
import io.stubdm.hypervisor.ShutdownReason;
import io.stubdm.hypervisor.XenException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * The simulated Xen's side of the ABI, checked without the engine: what a device model reading the pages with
 * the C layout would see, Xen's dm_op argument checks, routing, and the event-channel driver's masking.
 */
class SimXenTest {
    private final SimXen xen = new SimXen();
    private final SimDomain dom = xen.createDomain(4, 16 << 20, 2);
    private final DeviceModelOps dm = xen.deviceModel(4);

    private static int errno(Runnable r) {
        return assertThrows(XenException.class, r::run).errno();
    }

    @Test
    void dmOpsCheckTheirArgumentsAsXenDoes() {
        assertEquals(XenException.EINVAL, errno(() -> dm.setIsaIrqLevel(16, 1)));
        assertEquals(XenException.EINVAL, errno(() -> dm.setIsaIrqLevel(4, 2)));
        assertEquals(XenException.EINVAL, errno(() -> dm.setPciIntxLevel(0, 1, 3, 0, 1)), "bus must be 0");
        assertEquals(XenException.EINVAL, errno(() -> dm.setPciIntxLevel(1, 0, 3, 0, 1)), "segment must be 0");
        assertEquals(XenException.EINVAL, errno(() -> dm.setPciIntxLevel(0, 0, 32, 0, 1)));
        assertEquals(XenException.EINVAL, errno(() -> dm.setPciIntxLevel(0, 0, 3, 4, 1)));
        assertEquals(XenException.EINVAL, errno(() -> dm.setPciLinkRoute(4, 5)));
        assertEquals(XenException.EINVAL, errno(() -> dm.setPciLinkRoute(0, 16)));
        assertEquals(XenException.EINVAL, errno(() -> dm.createIoreqServer(3)));
        assertEquals(XenException.ENOENT, errno(() -> dm.setIoreqServerState(9, true)));
        assertEquals(XenException.EINVAL, errno(() -> dm.modifiedMemory(4096, 1)), "past the guest's last frame");
        assertEquals(XenException.EINVAL, errno(() -> dm.setMemType(MemType.UNUSED, 0xc0, 1)));
        assertEquals(XenException.ESRCH, assertThrows(XenException.class, () -> xen.deviceModel(99)).errno());
        assertTrue(dom.dmOpLog().isEmpty(), "refused operations change nothing");

        dm.setIsaIrqLevel(4, 1);
        dm.setPciIntxLevel(0, 0, 3, 0, 1);
        dm.setPciLinkRoute(2, 11);
        dm.injectMsi(0xfee00000L, 0x4031);
        dm.remoteShutdown(ShutdownReason.POWEROFF);
        dm.setMemType(MemType.RAM_RO, 0xc0, 0x40);
        assertEquals(1, dom.isaIrqLevel(4));
        assertEquals(1, dom.pciIntxLevel(3, 0));
        assertEquals(11, dom.pciLinkRoute(2));
        assertArrayEquals(new long[] {0xfee00000L, 0x4031}, dom.msis().get(0));
        assertEquals(ShutdownReason.POWEROFF, dom.shutdowns().get(0));
        assertEquals(MemType.RAM_RO, dom.memType(0xff));
        assertEquals(MemType.RAM_RW, dom.memType(0x100));
    }

    @Test
    void rangesMergeAndUnmapMustBeContainedAsInXensRangeset() {
        int id = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_ATOMIC);
        dm.mapIoRangeToIoreqServer(id, IoRangeType.PORT, 0x10, 0x1f);
        dm.mapIoRangeToIoreqServer(id, IoRangeType.PORT, 0x20, 0x2f);
        assertEquals("{0x10-0x2f}", dom.claimedRanges(id, IoRangeType.PORT));
        assertEquals(XenException.EEXIST, errno(() -> dm.mapIoRangeToIoreqServer(id, IoRangeType.PORT, 0x2f, 0x30)));
        assertEquals(XenException.EINVAL, errno(() -> dm.mapIoRangeToIoreqServer(id, IoRangeType.PORT, 0x40, 0x3f)));
        dm.unmapIoRangeFromIoreqServer(id, IoRangeType.PORT, 0x18, 0x27);
        assertEquals("{0x10-0x17, 0x28-0x2f}", dom.claimedRanges(id, IoRangeType.PORT));
        assertEquals(XenException.ENOENT, errno(() -> dm.unmapIoRangeFromIoreqServer(id, IoRangeType.PORT, 0x16, 0x19)));
        dm.mapPcidevToIoreqServer(id, 0, 0, 1, 3);
        assertEquals("{0xb-0xb}", dom.claimedRanges(id, IoRangeType.PCI));
    }

    @Test
    void portsAppearInTheSlotsOnlyOnceTheServerIsEnabled() {
        int id = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_ATOMIC);
        ForeignMemory fm = xen.foreignMemory(4);
        ByteBuffer both = fm.mapResource(XENMEM_RESOURCE_IOREQ_SERVER, id, 0, 2).buffer();
        assertEquals(2 * PAGE_SIZE, both.capacity());
        assertEquals(0, both.getInt(PAGE_SIZE + OFF_VP_EPORT));
        dm.setIoreqServerState(id, true);
        int p0 = both.getInt(PAGE_SIZE + OFF_VP_EPORT);
        int p1 = both.getInt(PAGE_SIZE + IOREQ_SIZE + OFF_VP_EPORT);
        assertTrue(p0 > 0 && p1 > 0 && p0 != p1);
        assertNotEquals(p0, dm.getBufioreqPort(id));
        assertEquals(XenException.EINVAL, assertThrows(XenException.class,
                () -> fm.mapResource(XENMEM_RESOURCE_IOREQ_SERVER, id, 1, 2)).errno(), "a server has two frames");
        int noRing = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_OFF);
        assertEquals(XenException.ENOENT, assertThrows(XenException.class,
                () -> fm.mapResource(XENMEM_RESOURCE_IOREQ_SERVER, noRing, 0, 1)).errno());
    }

    @Test
    void foreignMappingsShareMemoryWithTheGuestAndMarkHoles() {
        ForeignMemory fm = xen.foreignMemory(4);
        int[] err = new int[256];
        ForeignMemory.ForeignMapping m = fm.mapPages(0, 256, err);
        for (int i = 0; i < 256; i++) {
            boolean hole = i >= 0xa0 && i < 0xc0;
            assertEquals(hole ? XenException.EFAULT : 0, err[i], "frame " + i);
        }
        m.buffer().putInt(0x7000, 0xfeedface);
        assertEquals(0xfeedfaceL, dom.guestMemory().readValue(0x7000, 4));
        int[] beyond = new int[4];
        fm.mapPages(16 << 8, 4, beyond); // the first frame past 16 MiB of RAM
        assertArrayEquals(new int[] {14, 14, 14, 14}, beyond);
        m.close();
        assertThrows(IllegalStateException.class, m::buffer);
    }

    @Test
    void grantMappingsFollowWhatTheGuestGrantedAndToWhom() {
        dom.grantAccess(GrantTables.RESERVED_XENSTORE, 0x200, 0, false);
        dom.grantAccess(8, 0x201, 0, true);
        dom.grantAccess(9, 0x202, 7, false);
        dom.guestMemory().writeValue(0x200L << 12, 4, 0x12345678);
        try (GrantTables gnttab = xen.openGrantTables()) {
            ForeignMemory.ForeignMapping store = gnttab.map(4, GrantTables.RESERVED_XENSTORE, true);
            assertEquals(0x12345678, store.buffer().getInt(0));
            store.buffer().putInt(8, 0xcafe);
            assertEquals(0xcafe, dom.guestMemory().readValue((0x200L << 12) + 8, 4), "the guest sees the backend's writes");
            store.close();
            assertThrows(IllegalStateException.class, store::buffer);

            ForeignMemory.ForeignMapping ro = gnttab.map(4, 8, false);
            assertThrows(java.nio.ReadOnlyBufferException.class, () -> ro.buffer().putInt(0, 1));
            ro.close();
            assertEquals(XenException.EPERM, errno(() -> gnttab.map(4, 8, true)), "a read-only grant mapped writable");
            assertEquals(XenException.EPERM, errno(() -> gnttab.map(4, 9, false)), "granted to another domain");
            assertEquals(XenException.EINVAL, errno(() -> gnttab.map(4, 10, false)), "not in use");
            dom.endAccess(8);
            assertEquals(XenException.EINVAL, errno(() -> gnttab.map(4, 8, false)), "taken back");
            assertEquals(XenException.ESRCH, errno(() -> gnttab.map(5, 1, false)), "no such domain");
        }
    }

    @Test
    void eventChannelsMaskOnDeliveryAndRedeliverOnUnmask() {
        int id = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_ATOMIC);
        dm.setIoreqServerState(id, true);
        SimIoreqServer s = dom.server(id);
        EventChannels ev = xen.openEventChannels();
        int local = ev.bindInterdomain(4, s.bufPort.port);
        assertEquals(XenException.EINVAL, errno(() -> ev.bindInterdomain(4, s.bufPort.port)), "bound already");
        int[] out = new int[8];
        assertEquals(0, ev.awaitPending(out, 0));
        s.bufPort.deliverToDm();
        s.bufPort.deliverToDm(); // while masked: remembered, not queued twice
        assertEquals(1, ev.awaitPending(out, 0));
        assertEquals(local, out[0]);
        assertEquals(0, ev.awaitPending(out, 0));
        ev.unmask(local);
        assertEquals(1, ev.awaitPending(out, 0), "the event that came while masked arrives on unmask");
        ev.unmask(local);
        assertEquals(0, ev.awaitPending(out, 1_000_000), "nothing more is pending");
        ev.wakeup();
        assertEquals(0, ev.awaitPending(out, -1), "wakeup ends an unbounded wait");
        ev.close();
    }

    @Test
    void aPortTheGuestAllocatesIsBoundOnlyByItsRemoteAndCarriesEventsBothWays() throws Exception {
        SimGuestPort forDom0 = dom.allocUnboundPort(0);
        SimGuestPort forDom7 = dom.allocUnboundPort(7);
        EventChannels ev = xen.openEventChannels();
        assertEquals(XenException.EINVAL, errno(() -> ev.bindInterdomain(4, forDom7.port())),
                "only the remote domain named at allocation may bind");
        forDom0.send(); // nobody bound yet: Xen drops it
        int[] out = new int[8];
        assertEquals(0, ev.awaitPending(out, 0));
        int local = ev.bindInterdomain(4, forDom0.port());
        assertTrue(forDom0.isBound());
        forDom0.send();
        assertEquals(1, ev.awaitPending(out, 0));
        assertEquals(local, out[0]);
        assertEquals(0, forDom0.notifications());
        ev.notify(local);
        assertEquals(1, forDom0.awaitNotificationAfter(0, 1000));
        ev.unbind(local);
        assertFalse(forDom0.isBound(), "an unbound end lets the domain's port be bound again");
        assertEquals(local + 1, ev.bindInterdomain(4, forDom0.port()));
        ev.close();
    }

    @Test
    void bufferedProducerCanonicalisesPointersAndRefusesWhenFull() {
        int id = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_ATOMIC);
        dm.setIoreqServerState(id, true);
        SimIoreqServer s = dom.server(id);
        ByteBuffer ring = s.bufPage;
        // Nobody consumes: 511 single writes fit, then Xen refuses (the caller goes synchronous).
        for (int i = 0; i < BUF_SLOT_NUM - 1; i++) {
            assertTrue(s.sendBuffered(SimIoreq.mmio(0xa0000 + i, 1, false, i)), "write " + i);
        }
        assertFalse(s.sendBuffered(SimIoreq.mmio(0xa0000, 8, false, 1)), "a quad word needs two free slots");
        assertTrue(s.sendBuffered(SimIoreq.mmio(0xa0000, 1, false, 1)));
        assertFalse(s.sendBuffered(SimIoreq.mmio(0xa0000, 1, false, 1)));
        // Consume everything the way a device model does, then the next write rebases both pointers.
        ring.putInt(BUF_OFF_READ_POINTER, BUF_SLOT_NUM);
        assertTrue(s.sendBuffered(SimIoreq.mmio(0xa0004, 8, false, 0x1122334455667788L)));
        assertEquals(0, ring.getInt(BUF_OFF_READ_POINTER));
        assertEquals(2, ring.getInt(BUF_OFF_WRITE_POINTER));
        // The quad word went to slot 511 % 511 = 0 and 1, low half first.
        int w0 = ring.getInt(BUF_OFF_SLOTS);
        assertEquals(IOREQ_TYPE_COPY, w0 & 0xff);
        assertEquals(3, (w0 >>> BUF_SIZE_SHIFT) & 3);
        assertEquals(0xa0004, w0 >>> BUF_ADDR_SHIFT);
        assertEquals(0x55667788, ring.getInt(BUF_OFF_SLOTS + 4));
        assertEquals(0x11223344, ring.getInt(BUF_OFF_SLOTS + BUF_SLOT_SIZE + 4));
        assertFalse(s.sendBuffered(SimIoreq.mmio(0x100000, 1, false, 0)), "addresses from 1 MiB do not fit 20 bits");
    }

    @Test
    void configCyclesRouteBySbdfOnlyWhileCf8IsEnabled() {
        int id = dm.createIoreqServer(HVM_IOREQSRV_BUFIOREQ_ATOMIC);
        dm.mapIoRangeToIoreqServer(id, IoRangeType.PORT, 0xcf8, 0xcff);
        dm.mapPcidevToIoreqServer(id, 0, 0, 2, 0);
        dm.setIoreqServerState(id, true);
        SimIoreq data = SimIoreq.pio(0xcfe, 2, true, 0);

        dom.observePortAccess(SimIoreq.pio(0xcf8, 4, false, 0x80001044L)); // 00:02.0 reg 0x44
        SimIoreq r = data.copy();
        assertSame(dom.server(id), dom.select(r));
        assertEquals(IOREQ_TYPE_PCI_CONFIG, r.type);
        assertEquals((0x10L << 32) | 0x46, r.addr, "SBDF above bit 32, register with the port's low bits");

        dom.observePortAccess(SimIoreq.pio(0xcf8, 4, false, 0x80001844L)); // 00:03.0: nobody claimed it
        assertNull(dom.select(data.copy()), "an unclaimed SBDF goes to the null handler even if 0xCFC is claimed");

        dom.observePortAccess(SimIoreq.pio(0xcf8, 4, false, 0x00001044L)); // enable bit clear
        r = data.copy();
        assertSame(dom.server(id), dom.select(r));
        assertEquals(IOREQ_TYPE_PIO, r.type, "with CF8 disabled the data port is plain port I/O");
        dom.observePortAccess(SimIoreq.pio(0xcf8, 2, false, 0x80001044L)); // only 4-byte writes latch
        assertEquals(IOREQ_TYPE_PIO, ((java.util.function.Supplier<Integer>) () -> {
            SimIoreq q = data.copy();
            dom.select(q);
            return q.type;
        }).get());
    }

    /**
     * Video RAM as qemu-xen handles it: populated above the guest's RAM, moved under the VGA BAR with
     * relocate_memory (contents and all, the old frames becoming holes), dirty-tracked there, and moved back.
     */
    @Test
    void populatedFramesMoveWithRelocateMemory() {
        long above = (16 << 20) >> 12;
        long bar = 0xf0000;
        dm.populatePhysmap(above, 256);
        GuestMemory guest = dom.guestMemory();
        assertTrue(guest.isRam(above << 12, 1 << 20));
        assertEquals(0, guest.readValue((above << 12) + 64, 8), "populated frames are zeroed");
        guest.writeValue((above << 12) + 0x1008, 4, 0xc0ffee);

        dm.relocateMemory(256, above, bar);
        guest = dom.guestMemory(); // a device model drops its mappings of frames it moved
        assertFalse(guest.isRam(above << 12, 4096), "the source frames are holes after the move");
        assertEquals(0xc0ffee, guest.readValue((bar << 12) + 0x1008, 4), "the contents moved with the frames");
        byte[] allDirty = new byte[32];
        java.util.Arrays.fill(allDirty, (byte) 0xff);
        assertArrayEquals(allDirty, dm.trackDirtyVram(bar, 256), "tracking the BAR's frames starts all dirty");
        assertArrayEquals(new byte[32], dm.trackDirtyVram(bar, 256));
        guest.writeValue((bar << 12) + 0x2000, 1, 7);
        assertEquals(0x04, dm.trackDirtyVram(bar, 256)[0], "the guest's write through the BAR shows as dirty");

        dm.relocateMemory(256, bar, above);
        assertEquals(7, dom.guestMemory().readValue((above << 12) + 0x2000, 1));
        assertEquals(XenException.EINVAL, errno(() -> dm.relocateMemory(1, bar, above + 256)), "nothing left there");
        assertEquals(XenException.EEXIST, errno(() -> dm.populatePhysmap(above + 10, 1)));
        assertEquals(XenException.EEXIST, errno(() -> dm.populatePhysmap(0x100, 1)), "the guest's own RAM");
        assertEquals(XenException.EEXIST, errno(() -> dm.relocateMemory(1, above, 0x100)), "onto RAM");
        assertEquals(XenException.ENOMEM, errno(() -> dm.populatePhysmap(0x800000, SimGuestRam.MAX_EXTRA_PAGES)));
    }

    @Test
    void trackDirtyVramReportsPagesThatChanged() {
        byte[] first = dm.trackDirtyVram(0x100, 16);
        assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xff}, first, "a new range starts all dirty");
        assertArrayEquals(new byte[] {0, 0}, dm.trackDirtyVram(0x100, 16));
        dom.guestMemory().writeValue(0x103000 + 8, 4, 1);
        dom.guestMemory().writeValue(0x10f000, 1, 1);
        assertArrayEquals(new byte[] {0x08, (byte) 0x80}, dm.trackDirtyVram(0x100, 16));
        assertEquals(XenException.EINVAL, errno(() -> dm.trackDirtyVram(0, 1 << 19)));
    }
}
