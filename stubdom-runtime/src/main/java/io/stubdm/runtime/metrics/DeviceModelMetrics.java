package io.stubdm.runtime.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.stubdm.backends.block.BlockStats;
import io.stubdm.backends.net.NetStats;
import io.stubdm.devices.serial.Uart16550;
import io.stubdm.devices.xenplatform.UnplugEvent;
import io.stubdm.devices.xenplatform.XenPlatformDevice;
import io.stubdm.hypervisor.IoreqAbi;
import io.stubdm.ioreq.DeviceRequests;
import io.stubdm.ioreq.Ioreq;
import io.stubdm.ioreq.IoreqObserver;
import io.stubdm.ioreq.IoreqStats;
import io.stubdm.ioreq.IoBus;
import io.stubdm.ioreq.PciConfigBus;
import io.stubdm.runtime.DeviceModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * One device model's metrics in a Prometheus registry: what the ioreq engine served (by type, by device, and how
 * long each vCPU waited), what no device claimed, each NIC's and disk's traffic, the serial ports' bytes, the
 * Xen platform device's unplug events, and the JVM's own heap, GC, threads and uptime. Every series carries the
 * labels {@code domid}, {@code name} and {@code uuid}; per-device series add {@code device}.
 *
 * <p>Counters read the devices' own counters when scraped ({@link FunctionCounter}), so the device loop pays
 * nothing for them; only the service-time histogram is recorded as requests are answered. Devices that appear
 * later (a BAR the guest maps, a new drop cause) are bound at the next scrape.
 */
public final class DeviceModelMetrics implements AutoCloseable {
    /** The Prometheus text exposition format that {@link #scrape()} returns. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** Upper bounds of the ioreq service-time histogram: a port access served in microseconds, a disk flush in ms. */
    static final Duration[] SERVICE_BUCKETS = {
            Duration.ofNanos(1_000), Duration.ofNanos(2_500), Duration.ofNanos(5_000), Duration.ofNanos(10_000),
            Duration.ofNanos(25_000), Duration.ofNanos(50_000), Duration.ofNanos(100_000), Duration.ofNanos(250_000),
            Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(25),
            Duration.ofMillis(100), Duration.ofSeconds(1)};

    // One description per family: Micrometer takes a family's HELP from whichever meter it writes first, so every
    // meter of a family carries the same text.
    private static final String UNCLAIMED = "Bytes accessed where no device answers (reads see 0xFF, writes are dropped)";
    private static final String DEVICE_IOREQS = "Requests sent to each device (a rep request counts once)";
    private static final String NIC_FRAMES = "Frames the guest sent (tx) and received (rx)";
    private static final String NIC_BYTES = "Bytes of the frames the guest sent (tx) and received (rx)";
    private static final String DISK_BYTES = "Bytes read and written";
    private static final String SERIAL_BYTES = "Bytes the guest sent (tx) and received (rx) on its serial port";

    private final PrometheusMeterRegistry registry;
    private final List<AutoCloseable> binders = new ArrayList<>();
    /** Re-run at each scrape: bind what has appeared since (bus ranges, drop causes). */
    private final List<Runnable> refreshers = new ArrayList<>();
    private final Timer[] serviceTimers = new Timer[IoreqAbi.IOREQ_TYPE_INVALIDATE + 1];

    /**
     * A registry for domain {@code domid} ({@code name} and {@code uuid} as libxl knows them; empty when unknown).
     * With {@code jvm}, the process's JVM and uptime metrics are included (off in tests that compare whole scrapes).
     */
    public DeviceModelMetrics(int domid, String name, String uuid, boolean jvm) {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags(Tags.of("domid", Integer.toString(domid), "name", name, "uuid", uuid));
        // Without java.management (a runtime jlinked without it) the JVM's own metrics are left out, not fatal.
        if (jvm && ModuleLayer.boot().findModule("java.management").isPresent()) {
            JvmGcMetrics gc = new JvmGcMetrics();
            gc.bindTo(registry);
            binders.add(gc);
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            new ClassLoaderMetrics().bindTo(registry);
            new UptimeMetrics().bindTo(registry);
        }
    }

    /**
     * The metrics of a whole device model: its ioreq engine and buses, every NIC, drive and serial port, and the
     * platform device's unplug events, with the JVM's. The service-time histogram is connected to its ioreq server.
     */
    public static DeviceModelMetrics forDeviceModel(DeviceModel dm, String uuid) {
        DeviceModelMetrics m = new DeviceModelMetrics(dm.args().domid(), dm.args().name(), uuid, true);
        m.bindIoreqs(dm.ioreqStats()).bindBus("port", dm.ports()).bindBus("mmio", dm.mmio())
                .bindPciConfig(dm.pciConfig());
        dm.setIoreqObserver(m.ioreqObserver());
        for (DeviceModel.Nic nic : dm.nics()) {
            m.bindNic(nic.netdev(), nic.model(), nic.backend().stats(), nic.linkUp());
        }
        for (DeviceModel.Drive drive : dm.drives()) {
            drive.backend().ifPresent(b -> m.bindDisk(drive.device(), b.stats()));
        }
        List<Uart16550> uarts = dm.machine().serialPorts();
        for (int i = 0; i < uarts.size(); i++) {
            m.bindSerial("serial" + i, uarts.get(i));
        }
        XenPlatformDevice platform = dm.machine().platformDevice();
        if (platform != null) {
            m.bindUnplugEvents(platform::unplugEvents);
        }
        return m;
    }

    public MeterRegistry registry() {
        return registry;
    }

    /**
     * The ioreq engine: requests by type and direction, errors by cause, and the service-time histogram, which
     * {@link #ioreqObserver()} feeds.
     */
    public DeviceModelMetrics bindIoreqs(IoreqStats stats) {
        ioreqs(stats, "pio", "read", IoreqStats::pioReads);
        ioreqs(stats, "pio", "write", IoreqStats::pioWrites);
        ioreqs(stats, "mmio", "read", IoreqStats::mmioReads);
        ioreqs(stats, "mmio", "write", IoreqStats::mmioWrites);
        ioreqs(stats, "pci_config", "read", IoreqStats::pciReads);
        ioreqs(stats, "pci_config", "write", IoreqStats::pciWrites);
        ioreqs(stats, "timeoffset", "write", IoreqStats::timeOffsets);
        ioreqs(stats, "invalidate", "write", IoreqStats::invalidates);
        FunctionCounter.builder("stubdm_ioreqs_buffered", stats, IoreqStats::buffered)
                .description("Requests taken from the buffered ring (also counted by type)").register(registry);
        ioreqErrors(stats, "invalid", IoreqStats::invalid);
        ioreqErrors(stats, "memory_fault", IoreqStats::memoryFaults);
        ioreqErrors(stats, "device_error", IoreqStats::deviceErrors);
        ioreqErrors(stats, "spurious", IoreqStats::spurious);
        ioreqErrors(stats, "protocol", IoreqStats::protocolErrors);
        ioreqErrors(stats, "unknown_port", IoreqStats::unknownPorts);
        ioreqErrors(stats, "buffered", IoreqStats::bufferedErrors);
        serviceTimers[IoreqAbi.IOREQ_TYPE_PIO] = serviceTimer("pio");
        serviceTimers[IoreqAbi.IOREQ_TYPE_COPY] = serviceTimer("mmio");
        serviceTimers[IoreqAbi.IOREQ_TYPE_PCI_CONFIG] = serviceTimer("pci_config");
        return this;
    }

    private void ioreqs(IoreqStats stats, String type, String direction, ToDoubleFunction<IoreqStats> f) {
        FunctionCounter.builder("stubdm_ioreqs", stats, f).tags("type", type, "direction", direction)
                .description("Requests the ioreq engine served, by type and direction").register(registry);
    }

    private void ioreqErrors(IoreqStats stats, String cause, ToDoubleFunction<IoreqStats> f) {
        FunctionCounter.builder("stubdm_ioreq_errors", stats, f).tag("cause", cause)
                .description("Requests and notifications the engine refused or could not complete, by cause")
                .register(registry);
    }

    private Timer serviceTimer(String type) {
        return Timer.builder("stubdm_ioreq_service").tag("type", type)
                .description("Time from taking a vCPU's request to answering it")
                .serviceLevelObjectives(SERVICE_BUCKETS).register(registry);
    }

    /** Feeds the service-time histogram; give it to the ioreq server. Runs on the device loop and allocates nothing. */
    public IoreqObserver ioreqObserver() {
        return (Ioreq r, long nanos) -> {
            Timer t = r.type >= 0 && r.type < serviceTimers.length ? serviceTimers[r.type] : null;
            if (t != null) {
                t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
            }
        };
    }

    /**
     * Requests each device on {@code bus} was sent ({@code space} port, mmio or pci_config), and the accesses no
     * device claimed. Devices registered later are picked up at the next scrape.
     */
    public DeviceModelMetrics bindBus(String space, IoBus bus) {
        bindDeviceRequests(space, bus::requestsByDevice);
        FunctionCounter.builder("stubdm_unclaimed_accesses", bus, IoBus::unclaimedReads)
                .tags("space", space, "direction", "read").description(UNCLAIMED).register(registry);
        FunctionCounter.builder("stubdm_unclaimed_accesses", bus, IoBus::unclaimedWrites)
                .tags("space", space, "direction", "write").description(UNCLAIMED).register(registry);
        return this;
    }

    /** As {@link #bindBus} for PCI configuration space: a function that is not there counts as unclaimed. */
    public DeviceModelMetrics bindPciConfig(PciConfigBus bus) {
        bindDeviceRequests("pci_config", bus::requestsByDevice);
        FunctionCounter.builder("stubdm_unclaimed_accesses", bus, PciConfigBus::unclaimedReads)
                .tags("space", "pci_config", "direction", "read").description(UNCLAIMED).register(registry);
        FunctionCounter.builder("stubdm_unclaimed_accesses", bus, PciConfigBus::unclaimedWrites)
                .tags("space", "pci_config", "direction", "write").description(UNCLAIMED).register(registry);
        return this;
    }

    private void bindDeviceRequests(String space, Supplier<List<DeviceRequests>> devices) {
        Set<DeviceRequests> bound = new HashSet<>();
        Runnable refresh = () -> {
            for (DeviceRequests d : devices.get()) {
                if (bound.add(d)) {
                    FunctionCounter.builder("stubdm_device_ioreqs", d, DeviceRequests::reads)
                            .tags("device", d.device(), "space", space, "direction", "read")
                            .description(DEVICE_IOREQS).register(registry);
                    FunctionCounter.builder("stubdm_device_ioreqs", d, DeviceRequests::writes)
                            .tags("device", d.device(), "space", space, "direction", "write")
                            .description(DEVICE_IOREQS).register(registry);
                }
            }
        };
        refresh.run();
        refreshers.add(refresh);
    }

    /** A NIC ({@code device} is its -netdev id): frames and bytes each way, drops by cause, and its link. */
    public DeviceModelMetrics bindNic(String device, String model, NetStats stats, BooleanSupplier linkUp) {
        Tags t = Tags.of("device", device, "model", model);
        FunctionCounter.builder("stubdm_nic_frames", stats, s -> s.txFrames.get()).tags(t).tag("direction", "tx")
                .description(NIC_FRAMES).register(registry);
        FunctionCounter.builder("stubdm_nic_frames", stats, s -> s.rxFrames.get()).tags(t).tag("direction", "rx")
                .description(NIC_FRAMES).register(registry);
        FunctionCounter.builder("stubdm_nic_bytes", stats, s -> s.txBytes.get()).tags(t).tag("direction", "tx")
                .baseUnit("bytes").description(NIC_BYTES).register(registry);
        FunctionCounter.builder("stubdm_nic_bytes", stats, s -> s.rxBytes.get()).tags(t).tag("direction", "rx")
                .baseUnit("bytes").description(NIC_BYTES).register(registry);
        Gauge.builder("stubdm_nic_link_up", linkUp, l -> l.getAsBoolean() ? 1 : 0).tags(t)
                .description("1 while the guest's NIC reports link (e1000 STATUS.LU), else 0").register(registry);
        Set<String> causes = new HashSet<>();
        Runnable refresh = () -> {
            for (String cause : stats.dropsByCause().keySet()) {
                if (causes.add(cause)) {
                    FunctionCounter.builder("stubdm_nic_drops", stats, s -> s.drops(cause)).tags(t)
                            .tag("cause", cause).description("Frames dropped, by cause").register(registry);
                }
            }
        };
        refresh.run();
        refreshers.add(refresh);
        return this;
    }

    /** A disk or CD-ROM ({@code device} as query-block names it): operations, bytes, time spent, errors. */
    public DeviceModelMetrics bindDisk(String device, BlockStats stats) {
        Tags t = Tags.of("device", device);
        op(t, stats, "read", s -> s.readOps.get(), s -> s.readNanos.get());
        op(t, stats, "write", s -> s.writeOps.get(), s -> s.writeNanos.get());
        op(t, stats, "flush", s -> s.flushOps.get(), s -> s.flushNanos.get());
        FunctionCounter.builder("stubdm_disk_bytes", stats, s -> s.readBytes.get()).tags(t).tag("op", "read")
                .baseUnit("bytes").description(DISK_BYTES).register(registry);
        FunctionCounter.builder("stubdm_disk_bytes", stats, s -> s.writeBytes.get()).tags(t).tag("op", "write")
                .baseUnit("bytes").description(DISK_BYTES).register(registry);
        FunctionCounter.builder("stubdm_disk_errors", stats, s -> s.errors.get()).tags(t)
                .description("Requests that failed in the backend (the guest saw an I/O error)").register(registry);
        return this;
    }

    private void op(Tags t, BlockStats stats, String op, ToDoubleFunction<BlockStats> count,
            ToDoubleFunction<BlockStats> nanos) {
        FunctionCounter.builder("stubdm_disk_requests", stats, count).tags(t).tag("op", op)
                .description("Completed requests, by operation").register(registry);
        // Summed service time: divided by the requests, it is the mean latency over any interval (rate/rate).
        FunctionCounter.builder("stubdm_disk_request_time_seconds", stats, s -> nanos.applyAsDouble(s) / 1e9)
                .tags(t).tag("op", op).description("Time completed requests spent in the backend, summed")
                .register(registry);
    }

    /** A serial port ({@code device} serial0, serial1 ...): bytes each way and receive overruns. */
    public DeviceModelMetrics bindSerial(String device, Uart16550 uart) {
        Tags t = Tags.of("device", device);
        FunctionCounter.builder("stubdm_serial_bytes", uart, Uart16550::bytesTransmitted).tags(t)
                .tag("direction", "tx").baseUnit("bytes").description(SERIAL_BYTES).register(registry);
        FunctionCounter.builder("stubdm_serial_bytes", uart, Uart16550::bytesReceived).tags(t)
                .tag("direction", "rx").baseUnit("bytes").description(SERIAL_BYTES).register(registry);
        FunctionCounter.builder("stubdm_serial_overruns", uart, Uart16550::overruns).tags(t)
                .description("Bytes lost because the guest had not read the receive FIFO").register(registry);
        return this;
    }

    /** The Xen platform device's unplug requests, by what they unplugged. */
    public DeviceModelMetrics bindUnplugEvents(Supplier<List<UnplugEvent>> events) {
        for (UnplugEvent.Kind kind : UnplugEvent.Kind.values()) {
            FunctionCounter.builder("stubdm_unplug_events", events,
                            e -> e.get().stream().filter(ev -> ev.kind() == kind).count())
                    .tag("kind", kind.name().toLowerCase(Locale.ROOT))
                    .description("Emulated-device unplug requests from the guest's PV drivers").register(registry);
        }
        return this;
    }

    /** The registry in the Prometheus text format ({@link #CONTENT_TYPE}). */
    public String scrape() {
        synchronized (refreshers) {
            refreshers.forEach(Runnable::run);
        }
        return registry.scrape();
    }

    @Override
    public void close() {
        for (AutoCloseable b : binders) {
            try {
                b.close();
            } catch (Exception e) {
                // a binder that fails to let go only leaks its listener in a process that is ending
            }
        }
        registry.close();
    }
}
