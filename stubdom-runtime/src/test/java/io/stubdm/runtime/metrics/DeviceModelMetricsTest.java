package io.stubdm.runtime.metrics;

import static io.stubdm.runtime.metrics.PromText.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.backends.block.BlockStats;
import io.stubdm.backends.net.NetStats;
import io.stubdm.devices.xenplatform.UnplugEvent;
import io.stubdm.hypervisor.IoreqAbi;
import io.stubdm.hypervisor.PlainGuestMemory;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.IoBus;
import io.stubdm.ioreq.Ioreq;
import io.stubdm.ioreq.IoreqDispatcher;
import io.stubdm.ioreq.PciConfigBus;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DeviceModelMetricsTest {
    private final DeviceModelMetrics metrics = new DeviceModelMetrics(7, "fw1", "6b1e4c4a-2f57-4c3e-9d8e-0f5a3b1c2d3e", false);

    @AfterEach
    void close() {
        metrics.close();
    }

    /** A device that answers every read with 0x5a and keeps nothing. */
    private static final BusDevice ECHO = new BusDevice() {
        @Override
        public long read(long offset, int size) {
            return 0x5a;
        }

        @Override
        public void write(long offset, int size, long value) {
        }
    };

    private static Ioreq pio(boolean read, long port, int size) {
        return new Ioreq().set(IoreqAbi.IOREQ_TYPE_PIO, port, 0, 1, size, read, false, false);
    }

    @Test
    void everySeriesCarriesTheGuestsLabels() {
        metrics.bindDisk("ide0-hd0", new BlockStats());
        for (String line : metrics.scrape().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                assertEquals("7", PromText.labels(line).get("domid"), line);
                assertEquals("fw1", PromText.labels(line).get("name"), line);
                assertEquals("6b1e4c4a-2f57-4c3e-9d8e-0f5a3b1c2d3e", PromText.labels(line).get("uuid"), line);
            }
        }
    }

    @Test
    void ioreqsAreCountedByTypeByDeviceAndUnclaimed() {
        IoBus ports = IoBus.ports();
        IoBus mmio = IoBus.mmio();
        PciConfigBus pci = new PciConfigBus();
        ports.register(0x3f8, 8, ECHO, "com1");
        pci.register(PciConfigBus.sbdf(0, 0, 3, 0), ECHO, "e1000");
        IoreqDispatcher d = new IoreqDispatcher(ports, mmio, pci, PlainGuestMemory.of(0, 1 << 20));
        metrics.bindIoreqs(d.stats()).bindBus("port", ports).bindBus("mmio", mmio).bindPciConfig(pci);

        // A UART probe as Linux's 8250 driver starts it: LCR written, scratch written and read back, LSR read.
        d.dispatch(pio(false, 0x3fb, 1));
        d.dispatch(pio(false, 0x3ff, 1));
        d.dispatch(pio(true, 0x3ff, 1));
        d.dispatch(pio(true, 0x3fd, 1));
        // COM2 is not there: the probe reads 0xFF from nothing.
        d.dispatch(pio(true, 0x2fd, 1));
        // Config space of 00:03.0 (there) and 00:04.0 (not there), as a bus scan reads vendor IDs.
        d.dispatch(new Ioreq().set(IoreqAbi.IOREQ_TYPE_PCI_CONFIG, (long) PciConfigBus.sbdf(0, 0, 3, 0) << 32, 0, 1, 4,
                true, false, false));
        d.dispatch(new Ioreq().set(IoreqAbi.IOREQ_TYPE_PCI_CONFIG, (long) PciConfigBus.sbdf(0, 0, 4, 0) << 32, 0, 1, 4,
                true, false, false));
        String text = metrics.scrape();

        assertEquals(3, value(text, "stubdm_ioreqs_total", "type", "pio", "direction", "read"));
        assertEquals(2, value(text, "stubdm_ioreqs_total", "type", "pio", "direction", "write"));
        assertEquals(2, value(text, "stubdm_ioreqs_total", "type", "pci_config", "direction", "read"));
        assertEquals(0, value(text, "stubdm_ioreqs_total", "type", "mmio", "direction", "read"));
        assertEquals(2, value(text, "stubdm_device_ioreqs_total", "device", "com1", "space", "port", "direction", "read"));
        assertEquals(2, value(text, "stubdm_device_ioreqs_total", "device", "com1", "space", "port", "direction", "write"));
        assertEquals(1, value(text, "stubdm_device_ioreqs_total", "device", "e1000", "space", "pci_config",
                "direction", "read"));
        assertEquals(1, value(text, "stubdm_unclaimed_accesses_total", "space", "port", "direction", "read"));
        assertEquals(1, value(text, "stubdm_unclaimed_accesses_total", "space", "pci_config", "direction", "read"));
        assertEquals(0, value(text, "stubdm_ioreq_errors_total", "cause", "invalid"));

        // A size-3 port access is malformed: refused and counted as such, not as a port read.
        d.dispatch(pio(true, 0x3f8, 3));
        text = metrics.scrape();
        assertEquals(1, value(text, "stubdm_ioreq_errors_total", "cause", "invalid"));
        assertEquals(3, value(text, "stubdm_ioreqs_total", "type", "pio", "direction", "read"));
    }

    @Test
    void aDeviceRegisteredLaterIsScrapedAndABarThatMovesKeepsItsCount() {
        IoBus mmio = IoBus.mmio();
        IoBus ports = IoBus.ports();
        IoreqDispatcher d = new IoreqDispatcher(ports, mmio, new PciConfigBus(), PlainGuestMemory.of(0, 1 << 20));
        metrics.bindIoreqs(d.stats()).bindBus("mmio", mmio);
        assertFalse(metrics.scrape().contains("e1000 BAR0"));

        // hvmloader places BAR0, the OS moves it: two registrations of one range name.
        IoBus.Registration at = mmio.register(0xf0000000L, 0x20000, ECHO, "e1000 BAR0");
        d.dispatch(new Ioreq().set(IoreqAbi.IOREQ_TYPE_COPY, 0xf0000008L, 0, 1, 4, true, false, false));
        at.unregister();
        mmio.register(0xfe000000L, 0x20000, ECHO, "e1000 BAR0");
        d.dispatch(new Ioreq().set(IoreqAbi.IOREQ_TYPE_COPY, 0xfe000008L, 0, 1, 4, true, false, false));
        d.dispatch(new Ioreq().set(IoreqAbi.IOREQ_TYPE_COPY, 0xfe0000d0L, 0, 1, 4, false, false, false));

        String text = metrics.scrape();
        assertEquals(2, value(text, "stubdm_device_ioreqs_total", "device", "e1000 BAR0", "direction", "read"));
        assertEquals(1, value(text, "stubdm_device_ioreqs_total", "device", "e1000 BAR0", "direction", "write"));
    }

    @Test
    void serviceTimesFallIntoTheirBuckets() {
        metrics.bindIoreqs(new io.stubdm.ioreq.IoreqStats());
        Ioreq port = pio(true, 0x3fd, 1);
        Ioreq mmio = new Ioreq().set(IoreqAbi.IOREQ_TYPE_COPY, 0xf0000000L, 0, 1, 4, true, false, false);
        metrics.ioreqObserver().served(port, 800);
        metrics.ioreqObserver().served(port, 3_000);
        metrics.ioreqObserver().served(mmio, 2_000_000);
        metrics.ioreqObserver().served(new Ioreq().set(99, 0, 0, 1, 1, true, false, false), 5); // no such type
        String text = metrics.scrape();

        assertEquals(2, value(text, "stubdm_ioreq_service_seconds_count", "type", "pio"));
        assertEquals(3.8e-6, value(text, "stubdm_ioreq_service_seconds_sum", "type", "pio"), 1e-12);
        assertEquals(1, value(text, "stubdm_ioreq_service_seconds_bucket", "type", "pio", "le", "1.0E-6"));
        assertEquals(2, value(text, "stubdm_ioreq_service_seconds_bucket", "type", "pio", "le", "5.0E-6"));
        assertEquals(0, value(text, "stubdm_ioreq_service_seconds_bucket", "type", "mmio", "le", "0.001"));
        assertEquals(1, value(text, "stubdm_ioreq_service_seconds_bucket", "type", "mmio", "le", "0.005"));
        assertEquals(0, value(text, "stubdm_ioreq_service_seconds_count", "type", "pci_config"));
    }

    @Test
    void nicFramesBytesDropsAndLink() {
        NetStats stats = new NetStats();
        AtomicBoolean link = new AtomicBoolean(false);
        metrics.bindNic("net0", "e1000", stats, link::get);
        String before = metrics.scrape();
        assertEquals(0, value(before, "stubdm_nic_link_up", "device", "net0"));
        assertFalse(before.contains("stubdm_nic_drops_total"), "no drop cause yet, no series");

        // A ping: one 98-byte echo request out, the reply in; then a frame the guest had no buffer for.
        stats.txFrames.incrementAndGet();
        stats.txBytes.addAndGet(98);
        stats.rxFrames.incrementAndGet();
        stats.rxBytes.addAndGet(98);
        stats.drop("rx-no-buffer");
        link.set(true);
        String text = metrics.scrape();
        assertEquals(1, value(text, "stubdm_nic_frames_total", "device", "net0", "model", "e1000", "direction", "tx"));
        assertEquals(98, value(text, "stubdm_nic_bytes_total", "device", "net0", "direction", "rx"));
        assertEquals(1, value(text, "stubdm_nic_drops_total", "device", "net0", "cause", "rx-no-buffer"));
        assertEquals(1, value(text, "stubdm_nic_link_up", "device", "net0"));
    }

    @Test
    void diskRequestsBytesTimeAndErrors() {
        BlockStats stats = new BlockStats();
        metrics.bindDisk("ide0-hd0", stats);
        // Eight 4 KiB reads taking 2 ms in all, one 512-byte write of 1 ms, a flush, a failed read.
        stats.readOps.addAndGet(8);
        stats.readBytes.addAndGet(8 * 4096);
        stats.readNanos.addAndGet(2_000_000);
        stats.writeOps.incrementAndGet();
        stats.writeBytes.addAndGet(512);
        stats.writeNanos.addAndGet(1_000_000);
        stats.flushOps.incrementAndGet();
        stats.errors.incrementAndGet();
        String text = metrics.scrape();
        assertEquals(8, value(text, "stubdm_disk_requests_total", "device", "ide0-hd0", "op", "read"));
        assertEquals(1, value(text, "stubdm_disk_requests_total", "device", "ide0-hd0", "op", "flush"));
        assertEquals(32768, value(text, "stubdm_disk_bytes_total", "device", "ide0-hd0", "op", "read"));
        assertEquals(512, value(text, "stubdm_disk_bytes_total", "device", "ide0-hd0", "op", "write"));
        assertEquals(0.002, value(text, "stubdm_disk_request_time_seconds_total", "device", "ide0-hd0", "op", "read"),
                1e-12);
        assertEquals(1, value(text, "stubdm_disk_errors_total", "device", "ide0-hd0"));
    }

    @Test
    void unplugEventsByKind() {
        List<UnplugEvent> events = new ArrayList<>();
        metrics.bindUnplugEvents(() -> events);
        // Linux's xen-platform-pci: disks and NICs in one mask write to port 0x10.
        events.add(new UnplugEvent(UnplugEvent.Kind.DISKS, UnplugEvent.Protocol.UNPLUG_MASK, List.of("ide0-hd0")));
        events.add(new UnplugEvent(UnplugEvent.Kind.NICS, UnplugEvent.Protocol.UNPLUG_MASK, List.of("e1000")));
        String text = metrics.scrape();
        assertEquals(1, value(text, "stubdm_unplug_events_total", "kind", "disks"));
        assertEquals(1, value(text, "stubdm_unplug_events_total", "kind", "nics"));
        assertEquals(0, value(text, "stubdm_unplug_events_total", "kind", "nvme"));
    }

    /**
     * A whole device model's scrape is what the exporter's strict parser accepts, and every family says what it is:
     * Micrometer takes a family's HELP from whichever of its meters comes first, so none may lack a description.
     */
    @Test
    void aWholeScrapeParsesAndEveryFamilyHasHelp() throws Exception {
        try (DeviceModelMetrics all = new DeviceModelMetrics(7, "fw1", "", true)) {
            IoBus ports = IoBus.ports();
            ports.register(0x3f8, 8, ECHO, "com1");
            PciConfigBus pci = new PciConfigBus();
            pci.register(PciConfigBus.sbdf(0, 0, 3, 0), ECHO, "e1000");
            NetStats net = new NetStats();
            net.drop("rx-no-buffer");
            all.bindIoreqs(new io.stubdm.ioreq.IoreqStats()).bindBus("port", ports).bindBus("mmio", IoBus.mmio())
                    .bindPciConfig(pci).bindNic("net0", "e1000", net, () -> true)
                    .bindDisk("ide0-hd0", new BlockStats()).bindUnplugEvents(List::of);
            List<PrometheusText.Family> families = PrometheusText.parse(all.scrape());
            assertTrue(families.size() > 20, "families: " + families.size());
            for (PrometheusText.Family f : families) {
                assertFalse(f.help() == null || f.help().isBlank(), f.name() + " has no HELP");
            }
        }
    }

    @Test
    void theJvmAndUptimeAreThereWhenAsked() {
        try (DeviceModelMetrics withJvm = new DeviceModelMetrics(7, "fw1", "", true)) {
            String text = withJvm.scrape();
            assertTrue(heapUsed(text) > 0, "heap in use");
            assertTrue(value(text, "jvm_threads_live_threads") > 0);
            assertTrue(value(text, "process_uptime_seconds") >= 0);
            assertTrue(text.contains("jvm_gc_"), "GC metrics");
        }
    }

    /** The heap in use, summed over this JVM's heap pools (which ones depends on the collector the tests run with). */
    private static double heapUsed(String text) {
        double sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
