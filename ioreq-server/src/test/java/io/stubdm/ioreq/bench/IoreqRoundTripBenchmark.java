package io.stubdm.ioreq.bench;

import io.stubdm.hypervisor.MapCacheGuestMemory;
import io.stubdm.hypervisor.sim.SimDomain;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.hypervisor.sim.SimXen;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.DeviceLoop;
import io.stubdm.ioreq.IoBus;
import io.stubdm.ioreq.IoreqDispatcher;
import io.stubdm.ioreq.IoreqServer;
import io.stubdm.ioreq.PciConfigBus;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One ioreq round trip through the simulated Xen on one core: the benchmark thread plays Xen filling the vCPU's
 * slot and notifying, steps the device loop once (event channel, unmask, INPROCESS, buffered-ring check,
 * dispatch, IORESP_READY, notify), and takes the response back as Xen would.
 *
 * <p>Run with {@code mvn -Pbench -pl ioreq-server -am verify -DskipTests}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Djava.util.logging.config.file=/dev/null"})
public class IoreqRoundTripBenchmark {
    private static final int DOMID = 3;
    private static final int PORT = 0x510;
    private static final long SECTOR_BUFFER = 0x100000;

    private SimXen xen;
    private DeviceLoop loop;
    private IoreqServer server;
    private SimVcpu vcpu;
    private int serverId;
    private final SimIoreq pioRead = SimIoreq.pio(PORT, 4, true, 0);
    private final SimIoreq sectorRead = SimIoreq.pio(PORT, 2, true, SECTOR_BUFFER).rep(256, false, true);

    @Setup(Level.Trial)
    public void setUp() {
        xen = new SimXen();
        SimDomain domain = xen.createDomain(DOMID, 64 << 20, 1);
        IoBus ports = IoBus.ports();
        ports.register(PORT, 4, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return 0x2a;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        }, "constant");
        IoreqDispatcher dispatcher = new IoreqDispatcher(ports, IoBus.mmio(), new PciConfigBus(),
                new MapCacheGuestMemory(xen.foreignMemory(DOMID)));
        loop = new DeviceLoop(xen.openEventChannels(), "bench-loop");
        server = new IoreqServer(xen, DOMID, 1, loop, dispatcher);
        server.start();
        serverId = server.serverId();
        vcpu = domain.vcpu(0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        server.close();
        loop.close();
    }

    private long roundTrip(SimIoreq r) {
        vcpu.post(serverId, r);
        loop.runOnce(0);
        Long data = vcpu.poll(serverId, r);
        if (data == null) {
            throw new IllegalStateException("no response after one loop turn");
        }
        return data;
    }

    /** {@code inl} from a port whose device returns a constant. */
    @Benchmark
    public long pioReadRoundTrip() {
        return roundTrip(pioRead);
    }

    /** {@code rep insw} of one 512-byte sector into guest RAM, as SeaBIOS and ata(4) read a sector by PIO. */
    @Benchmark
    public long repInswSectorRoundTrip() {
        return roundTrip(sectorRead);
    }
}
