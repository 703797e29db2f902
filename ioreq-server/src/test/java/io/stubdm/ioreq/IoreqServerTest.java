package io.stubdm.ioreq;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.hypervisor.sim.SimVcpu;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine against the simulated Xen: set-up order, every request type, both directions, rep, buffered ring. */
class IoreqServerTest {
    private EmbeddedEngine rig;

    @AfterEach
    void tearDown() {
        if (rig != null) {
            rig.close();
        }
    }

    @Test
    void setUpFollowsQemuOrderAndClaimsWhatTheBusesHold() {
        rig = new EmbeddedEngine(2, 64L << 20);
        rig.ports().register(0x3f8, 8, new RecordingDevice(8), "com1");
        rig.ports().register(0x480, 4, new RecordingDevice(4), "a");
        rig.ports().register(0x484, 4, new RecordingDevice(4), "b");
        rig.mmio().register(0xfe000000L, 0x1000, new RecordingDevice(0x1000), "bar");
        rig.pci().register(PciConfigBus.sbdf(0, 0, 1, 3), new RecordingDevice(256));
        rig.start();

        List<String> log = rig.domain().dmOpLog();
        assertEquals("create_ioreq_server(0x2, 0x0)", log.get(0), "created with BUFIOREQ_ATOMIC");
        assertEquals("set_ioreq_server_state(0x0, 0x1)", log.get(1), "enabled before the ports are read");
        assertTrue(log.get(2).startsWith("map_io_range_to_ioreq_server"), log.toString());
        int id = rig.server().serverId();
        // Adjacent ranges merge in Xen's rangeset, as a real Xen holds them.
        assertEquals("{0x3f8-0x3ff, 0x480-0x487}", rig.domain().claimedRanges(id, IoRangeType.PORT));
        assertEquals("{0xfe000000-0xfe000fff}", rig.domain().claimedRanges(id, IoRangeType.MEMORY));
        assertEquals("{0xb-0xb}", rig.domain().claimedRanges(id, IoRangeType.PCI));

        IoBus.Registration late = rig.ports().register(0x2f8, 8, new RecordingDevice(8), "com2");
        assertEquals("{0x2f8-0x2ff, 0x3f8-0x3ff, 0x480-0x487}", rig.domain().claimedRanges(id, IoRangeType.PORT));
        late.unregister();
        assertEquals("{0x3f8-0x3ff, 0x480-0x487}", rig.domain().claimedRanges(id, IoRangeType.PORT));
    }

    @Test
    void portReadsAndWritesOfEverySize() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice dev = new RecordingDevice(8);
        rig.ports().register(0x3f8, 8, dev, "dev");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);

        cpu.outb(0x3f9, 0x1ab); // a byte port takes the low byte only
        cpu.outw(0x3fa, 0x12345);
        cpu.outl(0x3fc, 0x89abcdefL);
        assertEquals(List.of("w1@1=ab", "w2@2=2345", "w4@4=89abcdef"), dev.log);
        assertEquals(0xab, cpu.inb(0x3f9));
        assertEquals(0x2345, cpu.inw(0x3fa));
        assertEquals(0x89abcdefL, cpu.inl(0x3fc));
        assertEquals(0xcdef2345L, cpu.inl(0x3fa) & 0xffffffffL, "a dword across registers reads little-endian");
        assertEquals(4, rig.stats().pioReads());
        assertEquals(3, rig.stats().pioWrites());
    }

    @Test
    void unclaimedBytesReadAllOnesAndWritesAreDroppedAndCounted() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice a = new RecordingDevice(2);
        RecordingDevice b = new RecordingDevice(2);
        rig.ports().register(0x500, 2, a, "a");
        rig.ports().register(0x502, 2, b, "b");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);

        // Xen merged 0x500-0x503 into one range, so it forwards an access straddling both devices.
        cpu.outl(0x500, 0x44332211L);
        assertEquals(List.of("w1@0=11", "w1@1=22"), a.log);
        assertEquals(List.of("w1@0=33", "w1@1=44"), b.log);
        assertEquals(0x44332211L, cpu.inl(0x500));

        // A port nobody claimed never reaches the device model: Xen's null handler answers.
        assertEquals(0xff, cpu.inb(0x600));
        assertEquals(1, rig.domain().nullReads());

        // Ports the server claims but no device holds any more (a device removed while Xen still routes to us).
        IoBus.Registration r = rig.ports().register(0x700, 4, new RecordingDevice(4), "gone");
        rig.dispatcher().ports().attach(new RangeClaimer() {
            @Override
            public void claim(IoRangeType type, long start, long end) { }

            @Override
            public void release(IoRangeType type, long start, long end) { }
        });
        r.unregister(); // the no-op claimer keeps Xen's range, so the accesses still arrive
        assertEquals(0xffffffffL, cpu.inl(0x700));
        cpu.outw(0x700, 0x1234);
        assertEquals(4, rig.ports().unclaimedReads());
        assertEquals(2, rig.ports().unclaimedWrites());
    }

    @Test
    void mmioOfEverySizeIncludingQuadWords() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice dev = new RecordingDevice(64);
        rig.mmio().register(0xfebf0000L, 64, dev, "bar0");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);

        cpu.mmioWrite(0xfebf0008L, 8, 0x0123456789abcdefL);
        cpu.mmioWrite(0xfebf0010L, 4, 0xdeadbeefL);
        cpu.mmioWrite(0xfebf0014L, 2, 0xcafe);
        cpu.mmioWrite(0xfebf0016L, 1, 0x5a);
        assertEquals(0x0123456789abcdefL, cpu.mmioRead(0xfebf0008L, 8));
        assertEquals(0x5acafedeadbeefL, cpu.mmioRead(0xfebf0010L, 8));
        assertEquals(0xcafe, cpu.mmioRead(0xfebf0014L, 2));
        assertEquals(4, rig.stats().mmioWrites());
        assertEquals(3, rig.stats().mmioReads());
    }

    @Test
    void pciConfigCyclesArriveDecodedBySbdfWithTheLowAddressBits() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice cfg = new RecordingDevice(256);
        cfg.regs[0] = (byte) 0x86;
        cfg.regs[1] = (byte) 0x80;
        cfg.regs[2] = 0x00;
        cfg.regs[3] = 0x70;
        rig.pci().register(PciConfigBus.sbdf(0, 0, 1, 0), cfg);
        RecordingDevice cf8Listener = new RecordingDevice(4);
        rig.ports().register(0xcf8, 4, cf8Listener, "pci-host");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);

        assertEquals(0x70008086L, cpu.pciConfigRead(0, 1, 0, 0, 4));
        assertEquals(0x7000, cpu.pciConfigRead(0, 1, 0, 2, 2), "offset 2 arrives as register 2 (port 0xCFE)");
        cpu.pciConfigWrite(0, 1, 0, 0x61, 1, 0x0b); // byte write through port 0xCFD
        assertEquals("w1@61=b", cfg.log.get(cfg.log.size() - 1));
        // Xen latches CF8 and still forwards the write to whoever claims port 0xCF8.
        assertEquals(String.format("w4@0=%x", 0x80000860L), cf8Listener.log.get(cf8Listener.log.size() - 1));
        // A function nobody registered reads all-ones: software's "no device".
        assertEquals(0xffffffffL, cpu.pciConfigRead(0, 5, 0, 0, 4));
        assertEquals(2, rig.stats().pciReads());
        assertEquals(1, rig.stats().pciWrites());
    }

    @Test
    void stringPortInputAndOutputWalkGuestMemoryUpAndDown() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice dev = new RecordingDevice(2);
        rig.ports().register(0x1f0, 2, dev, "ata-data");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);

        // rep insw, df clear: 256 words from the data port into a sector buffer.
        dev.nextFifoValue = 0x1000;
        cpu.ins(0x1f0, 2, 0x10000, 256, false);
        for (int i = 0; i < 256; i++) {
            assertEquals(0x1000 + i, rig.guestMemory().readValue(0x10000 + 2L * i, 2), "word " + i);
        }
        // df set: items go downwards from the given address, first item at the highest address.
        dev.nextFifoValue = 0x2000;
        cpu.ins(0x1f0, 2, 0x20000 + 2 * 9, 10, true);
        for (int i = 0; i < 10; i++) {
            assertEquals(0x2000 + i, rig.guestMemory().readValue(0x20000 + 2L * (9 - i), 2), "df word " + i);
        }

        // rep outsl: dwords from memory out to the port in order, and with df in reverse order.
        dev.nextFifoValue = -1;
        RecordingDevice out = new RecordingDevice(4);
        rig.ports().register(0x1000, 4, out, "out");
        for (int i = 0; i < 4; i++) {
            rig.guestMemory().writeValue(0x30000 + 4L * i, 4, 0xa0 + i);
        }
        cpu.outs(0x1000, 4, 0x30000, 4, false);
        cpu.outs(0x1000, 4, 0x30000 + 12, 4, true);
        assertEquals(List.of("w4@0=a0", "w4@0=a1", "w4@0=a2", "w4@0=a3", "w4@0=a3", "w4@0=a2", "w4@0=a1", "w4@0=a0"),
                out.log);
    }

    @Test
    void repMovsBetweenMmioAndRamInBothDirectionsAndRepStos() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice dev = new RecordingDevice(0x100);
        rig.mmio().register(0xf0000000L, 0x100, dev, "bar");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);

        for (int i = 0; i < 8; i++) {
            rig.guestMemory().writeValue(0x40000 + 8L * i, 8, 0x1111111111111111L * (i + 1));
        }
        cpu.movsToMmio(0xf0000000L, 0x40000, 8, 8, false);
        for (int i = 0; i < 8; i++) {
            assertEquals(0x1111111111111111L * (i + 1), dev.read(8L * i, 8), "qword " + i);
        }
        // MMIO -> RAM with df: item i of each side moves together, both walking down.
        cpu.movsFromMmio(0xf0000000L + 4 * 3, 0x50000 + 4 * 3, 4, 4, true);
        for (int i = 0; i < 4; i++) {
            assertEquals(dev.read(4L * i, 4) & 0xffffffffL, rig.guestMemory().readValue(0x50000 + 4L * i, 4), "dword " + i);
        }
        // The other two combinations: RAM -> MMIO walking down, MMIO -> RAM walking up.
        for (int i = 0; i < 4; i++) {
            rig.guestMemory().writeValue(0x60000 + 2L * i, 2, 0x7000 + i);
        }
        cpu.movsToMmio(0xf0000040L + 2 * 3, 0x60000 + 2 * 3, 2, 4, true);
        cpu.movsFromMmio(0xf0000040L, 0x70000, 2, 4, false);
        for (int i = 0; i < 4; i++) {
            assertEquals(0x7000 + i, dev.read(0x40 + 2L * i, 2), "word " + i + " in the device");
            assertEquals(0x7000 + i, rig.guestMemory().readValue(0x70000 + 2L * i, 2), "word " + i + " back in RAM");
        }
        // rep stos: one value written to successive addresses.
        cpu.stosToMmio(0xf0000080L, 2, 0xbeef, 16, false);
        for (int i = 0; i < 16; i++) {
            assertEquals(0xbeef, dev.read(0x80 + 2L * i, 2), "word " + i);
        }
        // A rep read without data_is_ptr leaves the last item's value.
        long last = rig.domain().vcpu(0).send(SimIoreq.mmio(0xf0000080L, 2, true, 0).rep(3, false, false));
        assertEquals(0xbeef, last);
        assertEquals(0, rig.stats().memoryFaults());
    }

    @Test
    void timeOffsetAndInvalidate() {
        rig = new EmbeddedEngine(1, 64L << 20);
        rig.start();
        ((io.stubdm.hypervisor.MapCacheGuestMemory) rig.memory()).readValue(0x100000, 4); // populate the map cache
        assertTrue(((io.stubdm.hypervisor.MapCacheGuestMemory) rig.memory()).mappedBuckets() > 0);

        assertEquals(1, rig.domain().sendTimeOffset(-3600));
        rig.domain().sendInvalidate(0); // synchronous: returns once the device model answered
        assertEquals(1, rig.stats().invalidates());
        assertEquals(0, ((io.stubdm.hypervisor.MapCacheGuestMemory) rig.memory()).mappedBuckets(), "INVALIDATE drops every cached mapping");
        assertEquals(1, rig.stats().timeOffsets(), "the buffered TIMEOFFSET was drained before INVALIDATE");
        assertEquals(-3600, rig.dispatcher().lastTimeOffset());
    }

    @Test
    void bufferedRingWrapsAroundInOrderWithQuadWordsSplitAcrossSlots() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice vga = new RecordingDevice(0x20000);
        rig.mmio().register(0xa0000, 0x20000, vga, "vga-window");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);

        // Several laps of the 511-slot ring; every 7th write is 8 bytes and takes two slots, so some straddle
        // slot 510 -> slot 0. The loop drains concurrently, so the ring also fills and Xen falls back to sync.
        int writes = 5000;
        for (int i = 0; i < writes; i++) {
            int size = i % 7 == 0 ? 8 : 2;
            long value = i % 7 == 0 ? 0x0101010101010101L * (i & 0x7f) + ((long) i << 32) : i & 0xffff;
            cpu.mmioWrite(0xa0000 + (i % 0x1000) * 8L, size, value);
        }
        // A synchronous read after the buffered writes sees all of them (drain-before-serve).
        long probe = cpu.mmioRead(0xa0000 + ((writes - 1) % 0x1000) * 8L, 2);
        assertEquals((writes - 1) & 0xffff, probe);
        List<String> writesSeen = new ArrayList<>();
        for (String s : vga.log) {
            if (s.startsWith("w")) {
                writesSeen.add(s);
            }
        }
        assertEquals(writes, writesSeen.size());
        for (int i = 0; i < writes; i++) {
            int size = i % 7 == 0 ? 8 : 2;
            long value = i % 7 == 0 ? 0x0101010101010101L * (i & 0x7f) + ((long) i << 32) : i & 0xffff;
            assertEquals(String.format("w%d@%x=%x", size, (i % 0x1000) * 8L, value), writesSeen.get(i), "write " + i);
        }
        assertTrue(rig.stats().buffered() > 0, "some writes went through the ring");
        assertEquals(0, rig.stats().bufferedErrors());
    }

    @Test
    void severalVcpusAtOnce() throws Exception {
        int vcpus = 4;
        rig = new EmbeddedEngine(vcpus, 64L << 20);
        long[] perCpu = new long[vcpus];
        rig.ports().register(0x510, 4 * vcpus, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return perCpu[(int) offset / 4];
            }

            @Override
            public void write(long offset, int size, long value) {
                perCpu[(int) offset / 4] += value;
            }
        }, "counters");
        rig.start();
        ExecutorService pool = Executors.newFixedThreadPool(vcpus);
        List<Future<?>> done = new ArrayList<>();
        int rounds = 2000;
        for (int c = 0; c < vcpus; c++) {
            int cpu = c;
            done.add(pool.submit(() -> {
                SimVcpu v = rig.domain().vcpu(cpu);
                for (int i = 0; i < rounds; i++) {
                    v.outl(0x510 + 4 * cpu, 1);
                    assertEquals(i + 1, v.inl(0x510 + 4 * cpu));
                }
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        for (int c = 0; c < vcpus; c++) {
            assertEquals(rounds, perCpu[c]);
        }
        assertEquals(2L * rounds * vcpus, rig.stats().served());
        assertNull(rig.domain().crashReason());
    }

    @Test
    void stoppedServerLeavesTheGuestToXensNullHandlerAndCloseReleasesEverything() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice dev = new RecordingDevice(4);
        rig.ports().register(0x3f8, 4, dev, "dev");
        rig.start();
        SimVcpu cpu = rig.domain().vcpu(0);
        cpu.outb(0x3f8, 0x42);
        rig.server().setEnabled(false);
        assertEquals(0xff, cpu.inb(0x3f8));
        assertEquals(1, rig.domain().nullReads());
        rig.server().setEnabled(true);
        assertEquals(0x42, cpu.inb(0x3f8));

        int id = rig.server().serverId();
        rig.close();
        assertFalse(rig.domain().serverIds().contains(id), "the server is destroyed in Xen");
        assertEquals(0, rig.xen().liveForeignMappings(), "the ioreq pages are unmapped");
        rig = null;
    }

    @Test
    void drainsTheBufferedRingBeforeServingASynchronousRequest() {
        rig = new EmbeddedEngine(1, 64L << 20);
        RecordingDevice vga = new RecordingDevice(0x20000);
        rig.mmio().register(0xa0000, 0x20000, vga, "vga-window");
        rig.server().start();
        SimVcpu cpu = rig.domain().vcpu(0);
        cpu.mmioWrite(0xa0010, 1, 0x77); // buffered: returns without the device model running
        assertTrue(vga.log.isEmpty());
        SimIoreq read = SimIoreq.mmio(0xa0010, 1, true, 0);
        cpu.post(rig.server().serverId(), read);
        rig.server().serve(0); // serve the vCPU before the loop has seen the buffered port
        assertEquals(List.of("w1@10=77", "r1@10=77"), vga.log);
        assertEquals(0x77L, cpu.poll(rig.server().serverId(), read));
    }

    @Test
    void asynchronousTasksAndTimersRunOnTheLoop() throws Exception {
        rig = new EmbeddedEngine(1, 64L << 20);
        rig.start();
        java.util.concurrent.CompletableFuture<Thread> ran = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<Long> fired = new java.util.concurrent.CompletableFuture<>();
        long before = System.nanoTime();
        rig.loop().execute(() -> {
            ran.complete(Thread.currentThread());
            rig.loop().schedule(20_000_000L, () -> fired.complete(System.nanoTime()));
        });
        assertEquals("embedded-device-loop", ran.get(5, java.util.concurrent.TimeUnit.SECONDS).getName());
        assertTrue(fired.get(5, java.util.concurrent.TimeUnit.SECONDS) - before >= 20_000_000L);
    }
}
