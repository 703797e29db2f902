package io.stubdm.devices.ide.bench;

import io.stubdm.backends.block.BlockBackend;
import io.stubdm.backends.block.BlockBackends;
import io.stubdm.backends.block.DriveSpec;
import io.stubdm.devices.IrqLine;
import io.stubdm.devices.ide.Ata;
import io.stubdm.devices.ide.AtaDisk;
import io.stubdm.devices.ide.PiixIde;
import io.stubdm.devices.pci.PciBus;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.sim.SimDomain;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.DeviceLoop;
import io.stubdm.ioreq.EmbeddedEngine;
import io.stubdm.machine.XenIrqLines;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Bus-master DMA reads from a cached raw image through the PIIX3 IDE controller, the ioreq engine and the
 * simulated Xen: one benchmark operation is one READ DMA EXT command as a Linux guest's ata_piix issues it.
 *
 * <p><b>Set-up, once per trial.</b> A raw image of {@link #imageMiB} MiB of seeded random bytes is written to a
 * temporary directory and read back once, so it sits in the host page cache. It is opened the way the launcher
 * opens a {@code -drive} ({@link BlockBackends#open} with {@code format=raw,cache=writeback}: a
 * {@code RawFileBackend} whose reads run on its I/O threads and complete on the device loop) and attached as an
 * {@link AtaDisk} at the primary master of a {@link PiixIde} plugged at 00:01.1. Its ISA IRQ 14 goes through
 * {@link XenIrqLines}, as in the xenfv machine, to {@code set_isa_irq_level} of the simulated Xen. The guest
 * programs PCI config the way hvmloader leaves it (IDETIM decode enable on both channels, BAR4 at 0xC000, I/O
 * decode and bus master in COMMAND) and clears nIEN.
 *
 * <p><b>One operation.</b> The guest writes the PRD table for its buffer (entries split at 64 KiB boundaries, a
 * 64 KiB entry written with a count of 0, the last with EOT, as {@code LinuxAtaPiix.fillSg} in the IDE tests
 * transcribes ata_bmdma_fill_sg) and then makes the port accesses {@code LinuxAtaPiix.dma} transcribes from
 * ata_bmdma_qc_issue and ata_bmdma_port_intr: device select, the 48-bit task file, the PRD table address, the
 * direction, the command, START; after the interrupt the bus-master status, clearing START, Alternate Status and
 * Status, and writing the bus-master status back to clear it. That is 28 ioreq round trips per command; a command
 * that does not end with INTERRUPT set and Status showing only DRDY fails the run.
 * <ul>
 *   <li>{@link #sequentialRead128k}: 128 KiB (256 sectors, two PRD entries) per command, the LBA advancing
 *       through the image and wrapping at its end.</li>
 *   <li>{@link #randomRead4k}: 4 KiB (8 sectors, one PRD entry) per command at a 4 KiB-aligned LBA drawn from
 *       a seeded {@link Random}.</li>
 * </ul>
 * The buffers rotate through 32 MiB of guest RAM, so the destination of the copy is not one cache-resident
 * buffer; a guest's page cache is not one either.
 *
 * <p><b>Who runs the device loop</b> ({@link #deviceLoop}):
 * <ul>
 *   <li>{@code own-thread}: the production arrangement. The loop runs on its own thread; the benchmark thread is
 *       the vCPU and blocks in {@link SimVcpu} on every access until the loop answers, and sleeps from START
 *       until the interrupt, woken when the loop raises IRQ 14, as Xen wakes a halted vCPU when it injects one.
 *       Every access therefore costs two thread hand-offs; on a machine with few, busy cores these dominate.
 *       This is the real path.</li>
 *   <li>{@code stepped}: the benchmark thread plays the vCPU and also turns the loop itself
 *       ({@link DeviceLoop#runOnce}) for each access, as {@code IoreqRoundTripBenchmark} does, so no access waits
 *       for another thread to be scheduled. The backend's reads still run on its I/O threads and complete through
 *       the loop's task queue, as in production. This shows what the path costs in CPU with the scheduler taken
 *       out. Requests go straight to the one ioreq server's slot, leaving out the simulated Xen's range lookup.
 *       Guest and device model share one core here, which is how the target (2 GB/s sequential on one core) is
 *       put; the I/O threads' copies out of the page cache are not on that core in either mode.</li>
 * </ul>
 *
 * <p><b>Figures.</b> The primary result is commands per second; the {@code :bytes} line, an
 * {@link AuxCounters} counter, is the bytes the guest received per second (printed by JMH with the unit
 * "ops/s"). For the sequential case bytes/s = commands/s × 131072, so the target of 2 GB/s on one core is
 * about 15,300 commands/s; the random case moves 4096 bytes per command.
 *
 * <p><b>Correctness.</b> Each trial starts with a check that reads sequentially (including the wrap at the end
 * of the image) and at random LBAs into buffers filled with a poison pattern and compares every buffer with the
 * image file; each iteration ends by comparing the last buffer read; each trial ends by checking that the
 * backend read exactly the bytes the guest asked for. The simulated Xen keeps a log of every dm_op, so each
 * command also adds two entries to a list there (the raise and the lowering of IRQ 14).
 *
 * <p>Run with {@code mvn -Pbench -pl device-model verify -DskipTests} after installing the modules it depends
 * on ({@code mvn -pl device-model -am install -DskipTests}); {@code -Djmh.args="IdeDma -f 1 -wi 2 -i 3"} makes a
 * quicker run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Djava.util.logging.config.file=/dev/null"})
public class IdeDmaBenchmark {
    private static final int SECTOR = AtaDisk.SECTOR_SIZE;
    private static final int SEQUENTIAL_BYTES = 128 << 10;
    private static final int RANDOM_BYTES = 4 << 10;
    private static final long IMAGE_SEED = 0x1de_d4aL;
    private static final long RANDOM_LBA_SEED = 42;
    private static final long GUEST_RAM = 64L << 20;
    /** The port's PRD table, allocated once like a driver's; a page holds 512 entries. */
    private static final long PRD_TABLE = 0x100000;
    /** Where the guest's buffers rotate, clear of the PRD table. */
    private static final long DATA_AREA = 16L << 20;
    private static final long DATA_AREA_SIZE = 32L << 20;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long INTERRUPT_TIMEOUT_NANOS = 5 * NANOS_PER_SECOND;

    /** Where hvmloader's I/O window puts BAR4 when the IDE function is the only I/O BAR, as in the IDE tests. */
    private static final int BMIBA = 0xc000;
    private static final int IDE_DEVICE = 1;
    private static final int IDE_FUNCTION = 1;
    private static final int CMD = PiixIde.PRIMARY_COMMAND_BLOCK;
    private static final int CTL = PiixIde.PRIMARY_CONTROL_BLOCK;
    private static final int IRQ = PiixIde.PRIMARY_IRQ;

    // Linux's names (include/linux/ata.h, as LinuxAtaPiix uses them).
    private static final int ATA_DEVICE_OBS = 0xa0;
    private static final int ATA_LBA = 0x40;
    private static final int ATA_DEVCTL_OBS = 0x08;
    private static final int ATA_DMA_CMD = 0;
    private static final int ATA_DMA_STATUS = 2;
    private static final int ATA_DMA_TABLE_OFS = 4;
    private static final int ATA_DMA_WR = 0x08;
    private static final int ATA_DMA_START = 0x01;
    private static final int ATA_DMA_INTR = 0x04;
    private static final int ATA_DMA_ERR = 0x02;
    private static final long ATA_PRD_EOT = 0x8000_0000L;
    private static final int PRD_REGION = 0x10000;
    private static final int STATUS_CHECKED = Ata.STATUS_BSY | Ata.STATUS_DRDY | Ata.STATUS_DF | Ata.STATUS_DRQ
            | Ata.STATUS_ERR;

    /** {@code own-thread} (production) or {@code stepped}; see the class comment. */
    @Param({"own-thread", "stepped"})
    public String deviceLoop;

    @Param("256")
    public int imageMiB;

    private Path directory;
    private Path image;
    private FileChannel imageForChecks;
    private EmbeddedEngine engine;
    private BlockBackend backend;
    private GuestMemory ram;
    private PortIo io;
    private volatile Thread sleepingVcpu;

    private long imageSectors;
    private long nextSequentialLba;
    private long sequentialCommands;
    private long randomCommands;
    private Random randomLbas;
    /** Bytes the guest asked for, to hold against what the backend read. */
    private long bytesRequested;
    private long lastLba = -1;
    private long lastBuffer;
    private int lastLength;

    /** Bytes the guest received, reported next to the command rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Transferred {
        public long bytes;

        @Setup(Level.Iteration)
        public void clear() {
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        if (!deviceLoop.equals("own-thread") && !deviceLoop.equals("stepped")) {
            throw new IllegalArgumentException("deviceLoop is own-thread or stepped, not " + deviceLoop);
        }
        try {
            build(deviceLoop.equals("stepped"));
        } catch (IOException | RuntimeException | Error e) {
            release();
            throw e;
        }
    }

    private void build(boolean stepped) throws IOException {
        directory = Files.createTempDirectory("ide-dma-bench");
        image = directory.resolve("disk.raw");
        writeImage(image, (long) imageMiB << 20);
        imageSectors = ((long) imageMiB << 20) / SECTOR;
        imageForChecks = FileChannel.open(image, StandardOpenOption.READ);

        engine = new EmbeddedEngine(1, GUEST_RAM);
        ram = engine.guestMemory();
        DeviceLoop loop = engine.loop();
        backend = BlockBackends.open(DriveSpec.parse("file=" + image
                + ",if=ide,index=0,media=disk,format=raw,cache=writeback"), loop).orElseThrow();
        XenIrqLines irqs = new XenIrqLines(engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID));
        IrqLine toXen = irqs.isa(IRQ);
        IrqLine primary = high -> {
            toXen.setLevel(high);
            if (high) {
                // Xen wakes a halted vCPU when it injects an interrupt; the simulated one is a parked thread.
                Thread t = sleepingVcpu;
                if (t != null) {
                    LockSupport.unpark(t);
                }
            }
        };
        PiixIde ide = new PiixIde(engine.memory(), primary, irqs.isa(PiixIde.SECONDARY_IRQ));
        ide.attach(0, new AtaDisk(backend, true));
        new PciBus(engine.pci(), engine.ports(), engine.mmio(), (device, pin) -> IrqLine.NONE)
                .plug(IDE_DEVICE, IDE_FUNCTION, ide);
        for (PiixIde.PortRange r : ide.legacyPorts()) {
            engine.ports().register(r.base(), r.length(), r.device(), r.name());
        }

        SimVcpu vcpu = engine.vcpu(0);
        if (stepped) {
            engine.server().start();
            io = new SteppedIo(vcpu, engine.server().serverId(), loop, engine.domain());
            // Config cycles need the simulated Xen's CF8 routing, which only a blocking SimVcpu access does; a
            // helper thread turns the loop meanwhile.
            withLoopTurnedByHelper(loop, () -> hvmloaderPciSetup(vcpu));
        } else {
            engine.start();
            io = new ThreadedIo(vcpu, engine.domain());
            hvmloaderPciSetup(vcpu);
        }
        io.out(CTL, 1, ATA_DEVCTL_OBS); // nIEN clear: the port as LinuxAtaPiix.softreset leaves it

        checkReadsMatchTheImage();
        nextSequentialLba = 0;
        randomLbas = new Random(RANDOM_LBA_SEED);
    }

    @TearDown(Level.Iteration)
    public void checkLastRead() throws IOException {
        if (lastLba >= 0) {
            checkBuffer(lastLba, lastBuffer, lastLength);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        EmbeddedEngine closedEngine = engine;
        BlockBackend closedBackend = backend;
        // Closing the engine joins the loop thread, so what the loop counted is visible afterwards.
        release();
        long read = closedBackend.stats().readBytes.get();
        if (read != bytesRequested) {
            throw new IllegalStateException("the backend read " + read + " bytes, the guest asked for "
                    + bytesRequested);
        }
        if (closedEngine.loop().failures() != 0 || closedEngine.stats().deviceErrors() != 0) {
            throw new IllegalStateException("handlers failed: loop " + closedEngine.loop().failures()
                    + ", devices " + closedEngine.stats().deviceErrors());
        }
    }

    /** Frees whatever the set-up got as far as creating; the image must not outlive the trial. */
    private void release() throws IOException {
        if (engine != null) {
            engine.close();
            engine = null;
        }
        if (backend != null) {
            backend.close();
            backend = null;
        }
        if (imageForChecks != null) {
            imageForChecks.close();
            imageForChecks = null;
        }
        if (image != null) {
            Files.deleteIfExists(image);
            image = null;
        }
        if (directory != null) {
            Files.deleteIfExists(directory);
            directory = null;
        }
    }

    /** READ DMA EXT of 128 KiB at the next LBA of a sequential pass over the image. */
    @Benchmark
    public long sequentialRead128k(Transferred transferred) {
        long lba = nextSequentialLba;
        int sectors = SEQUENTIAL_BYTES / SECTOR;
        nextSequentialLba = lba + 2L * sectors > imageSectors ? 0 : lba + sectors;
        long buffer = DATA_AREA + sequentialCommands++ % (DATA_AREA_SIZE / SEQUENTIAL_BYTES) * SEQUENTIAL_BYTES;
        readDma(lba, sectors, buffer);
        transferred.bytes += SEQUENTIAL_BYTES;
        return lba;
    }

    /** READ DMA EXT of 4 KiB at a random 4 KiB-aligned LBA. */
    @Benchmark
    public long randomRead4k(Transferred transferred) {
        long lba = randomLba();
        long buffer = DATA_AREA + randomCommands++ % (DATA_AREA_SIZE / RANDOM_BYTES) * RANDOM_BYTES;
        readDma(lba, RANDOM_BYTES / SECTOR, buffer);
        transferred.bytes += RANDOM_BYTES;
        return lba;
    }

    private long randomLba() {
        int blocks = (int) (imageSectors * SECTOR / RANDOM_BYTES);
        return (long) randomLbas.nextInt(blocks) * (RANDOM_BYTES / SECTOR);
    }

    // ---------------------------------------------------------------- the guest's driver

    /**
     * One interrupt-driven READ DMA EXT of {@code sectors} at {@code lba} into guest RAM at {@code buffer}, with
     * the accesses of {@code LinuxAtaPiix.dma} for a 48-bit read on device 0.
     */
    private void readDma(long lba, int sectors, long buffer) {
        int bytes = sectors * SECTOR;
        fillPrdTable(buffer, bytes);
        bytesRequested += bytes;

        io.out(CMD + Ata.REG_DEVICE, 1, ATA_DEVICE_OBS);
        io.in(CTL, 1); // ata_sff_pause
        // ata_sff_tf_load: the high-order bytes first.
        io.out(CMD + Ata.REG_FEATURES, 1, 0);
        io.out(CMD + Ata.REG_SECTOR_COUNT, 1, sectors >> 8);
        io.out(CMD + Ata.REG_LBA_LOW, 1, (lba >>> 24) & 0xff);
        io.out(CMD + Ata.REG_LBA_MID, 1, (lba >>> 32) & 0xff);
        io.out(CMD + Ata.REG_LBA_HIGH, 1, (lba >>> 40) & 0xff);
        io.out(CMD + Ata.REG_FEATURES, 1, 0);
        io.out(CMD + Ata.REG_SECTOR_COUNT, 1, sectors & 0xff);
        io.out(CMD + Ata.REG_LBA_LOW, 1, lba & 0xff);
        io.out(CMD + Ata.REG_LBA_MID, 1, (lba >>> 8) & 0xff);
        io.out(CMD + Ata.REG_LBA_HIGH, 1, (lba >>> 16) & 0xff);
        io.out(CMD + Ata.REG_DEVICE, 1, ATA_LBA | ATA_DEVICE_OBS);
        // ata_bmdma_setup: table, direction (WR: the device writes memory), command.
        io.out(BMIBA + ATA_DMA_TABLE_OFS, 4, PRD_TABLE);
        int dmactl = (int) io.in(BMIBA + ATA_DMA_CMD, 1);
        io.out(BMIBA + ATA_DMA_CMD, 1, (dmactl & ~(ATA_DMA_WR | ATA_DMA_START)) | ATA_DMA_WR);
        io.out(CMD + Ata.REG_COMMAND, 1, Ata.CMD_READ_DMA_EXT);
        io.in(CTL, 1); // ata_sff_pause
        // ata_bmdma_start
        dmactl = (int) io.in(BMIBA + ATA_DMA_CMD, 1);
        io.out(BMIBA + ATA_DMA_CMD, 1, dmactl | ATA_DMA_START);

        io.awaitInterrupt();

        // ata_bmdma_port_intr: host status, ata_bmdma_stop, the status read that acknowledges the drive's
        // interrupt, ata_bmdma_irq_clear.
        int hostStat = (int) io.in(BMIBA + ATA_DMA_STATUS, 1);
        io.out(BMIBA + ATA_DMA_CMD, 1, io.in(BMIBA + ATA_DMA_CMD, 1) & ~ATA_DMA_START);
        io.in(CTL, 1); // ata_sff_dma_pause
        int status = (int) io.in(CTL, 1);
        if ((status & Ata.STATUS_BSY) == 0) {
            status = (int) io.in(CMD + Ata.REG_STATUS, 1);
        }
        io.out(BMIBA + ATA_DMA_STATUS, 1, io.in(BMIBA + ATA_DMA_STATUS, 1));
        if ((hostStat & (ATA_DMA_INTR | ATA_DMA_ERR)) != ATA_DMA_INTR || (status & STATUS_CHECKED) != Ata.STATUS_DRDY) {
            throw new IllegalStateException(String.format(
                    "READ DMA EXT of %d sectors at LBA %d failed: bus-master status %02x, status %02x",
                    sectors, lba, hostStat, status));
        }
        lastLba = lba;
        lastBuffer = buffer;
        lastLength = bytes;
    }

    /** {@code LinuxAtaPiix.fillSg} for one physically contiguous buffer: regions split at 64 KiB boundaries. */
    private void fillPrdTable(long address, int length) {
        long at = address;
        long remaining = length;
        for (int i = 0; remaining > 0; i++) {
            long region = Math.min(remaining, PRD_REGION - (at & (PRD_REGION - 1)));
            remaining -= region;
            ram.writeValue(PRD_TABLE + 8L * i, 4, at);
            ram.writeValue(PRD_TABLE + 8L * i + 4, 4, (region & 0xffff) | (remaining == 0 ? ATA_PRD_EOT : 0));
            at += region;
        }
    }

    private static void hvmloaderPciSetup(SimVcpu vcpu) {
        vcpu.pciConfigWrite(0, IDE_DEVICE, IDE_FUNCTION, PiixIde.IDETIM_PRIMARY, 2, PiixIde.IDETIM_DECODE_ENABLE);
        vcpu.pciConfigWrite(0, IDE_DEVICE, IDE_FUNCTION, PiixIde.IDETIM_SECONDARY, 2, PiixIde.IDETIM_DECODE_ENABLE);
        vcpu.pciConfigWrite(0, IDE_DEVICE, IDE_FUNCTION, 0x20, 4, BMIBA);
        vcpu.pciConfigWrite(0, IDE_DEVICE, IDE_FUNCTION, 0x04, 2, 0x0005); // I/O decode and bus master
    }

    private static void withLoopTurnedByHelper(DeviceLoop loop, Runnable guest) {
        AtomicBoolean done = new AtomicBoolean();
        Thread helper = new Thread(() -> {
            while (!done.get()) {
                loop.runOnce(1_000_000);
            }
        }, "ide-bench-setup-loop");
        helper.start();
        try {
            guest.run();
        } finally {
            done.set(true);
            try {
                helper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the set-up loop stopped", e);
            }
        }
    }

    // ---------------------------------------------------------------- correctness

    /**
     * Reads through the same path the benchmarks measure, into poisoned buffers, and compares each with the
     * image: the start of a sequential pass, the wrap at its end, and random 4 KiB blocks.
     */
    private void checkReadsMatchTheImage() throws IOException {
        byte[] poison = new byte[SEQUENTIAL_BYTES];
        Arrays.fill(poison, (byte) 0xa5);
        Transferred scratch = new Transferred();
        for (int i = 0; i < 8; i++) {
            poisonAll(poison);
            long lba = sequentialRead128k(scratch);
            checkBuffer(lba, lastBuffer, SEQUENTIAL_BYTES);
        }
        nextSequentialLba = imageSectors - SEQUENTIAL_BYTES / SECTOR;
        for (long expected : new long[] {imageSectors - SEQUENTIAL_BYTES / SECTOR, 0}) {
            poisonAll(poison);
            long lba = sequentialRead128k(scratch);
            if (lba != expected) {
                throw new IllegalStateException("the sequential pass read LBA " + lba + ", not " + expected);
            }
            checkBuffer(lba, lastBuffer, SEQUENTIAL_BYTES);
        }
        randomLbas = new Random(RANDOM_LBA_SEED);
        for (int i = 0; i < 64; i++) {
            ram.write(DATA_AREA + randomCommands % (DATA_AREA_SIZE / RANDOM_BYTES) * RANDOM_BYTES,
                    poison, 0, RANDOM_BYTES);
            long lba = randomRead4k(scratch);
            checkBuffer(lba, lastBuffer, RANDOM_BYTES);
        }
    }

    private void poisonAll(byte[] poison) {
        for (long at = DATA_AREA; at < DATA_AREA + DATA_AREA_SIZE; at += poison.length) {
            ram.write(at, poison, 0, poison.length);
        }
    }

    private void checkBuffer(long lba, long buffer, int length) throws IOException {
        ByteBuffer expected = ByteBuffer.allocate(length);
        long offset = lba * SECTOR;
        while (expected.hasRemaining()) {
            if (imageForChecks.read(expected, offset + expected.position()) < 0) {
                throw new IllegalStateException("the image ends before LBA " + lba + " + " + length + " bytes");
            }
        }
        byte[] actual = new byte[length];
        ram.read(buffer, actual, 0, length);
        int mismatch = Arrays.mismatch(expected.array(), actual);
        if (mismatch >= 0) {
            throw new IllegalStateException(String.format("guest buffer 0x%x differs from the image at LBA %d "
                    + "from byte %d on", buffer, lba, mismatch));
        }
    }

    /** Seeded random bytes, so a read from the wrong place cannot match; read back once to have them cached. */
    private static void writeImage(Path file, long bytes) throws IOException {
        SplittableRandom random = new SplittableRandom(IMAGE_SEED);
        byte[] chunk = new byte[1 << 20];
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long written = 0; written < bytes; written += chunk.length) {
                random.nextBytes(chunk);
                ByteBuffer b = ByteBuffer.wrap(chunk);
                while (b.hasRemaining()) {
                    out.write(b);
                }
            }
        }
        ByteBuffer sink = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            while (in.read(sink.clear()) >= 0) {
                // only the page cache matters
            }
        }
    }

    // ---------------------------------------------------------------- how port accesses reach the device model

    /** The vCPU's port accesses and its wait for IRQ 14. */
    private interface PortIo {
        long in(int port, int size);

        void out(int port, int size, long value);

        void awaitInterrupt();
    }

    /** The loop on its own thread; the vCPU blocks in the simulated Xen for every access and sleeps for the IRQ. */
    private final class ThreadedIo implements PortIo {
        private final SimVcpu vcpu;
        private final SimDomain domain;

        ThreadedIo(SimVcpu vcpu, SimDomain domain) {
            this.vcpu = vcpu;
            this.domain = domain;
        }

        @Override
        public long in(int port, int size) {
            return vcpu.in(port, size);
        }

        @Override
        public void out(int port, int size, long value) {
            vcpu.out(port, size, value);
        }

        @Override
        public void awaitInterrupt() {
            // Published before the level is read, so a raise that comes in between still unparks this thread.
            sleepingVcpu = Thread.currentThread();
            try {
                long deadline = System.nanoTime() + INTERRUPT_TIMEOUT_NANOS;
                while (domain.isaIrqLevel(IRQ) == 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new IllegalStateException("no IRQ " + IRQ + " within 5 s");
                    }
                    LockSupport.parkNanos(this, Math.min(left, 1_000_000));
                }
            } finally {
                sleepingVcpu = null;
            }
        }
    }

    /** The benchmark thread turns the loop itself for each access and while it waits for the interrupt. */
    private static final class SteppedIo implements PortIo {
        private final SimVcpu vcpu;
        private final int serverId;
        private final DeviceLoop loop;
        private final SimDomain domain;
        private final SimIoreq request = SimIoreq.pio(0, 1, true, 0);

        SteppedIo(SimVcpu vcpu, int serverId, DeviceLoop loop, SimDomain domain) {
            this.vcpu = vcpu;
            this.serverId = serverId;
            this.loop = loop;
            this.domain = domain;
        }

        private long access(int port, int size, boolean read, long value) {
            request.addr = port;
            request.size = size;
            request.read = read;
            request.data = value;
            vcpu.post(serverId, request);
            Long data;
            while ((data = vcpu.poll(serverId, request)) == null) {
                loop.runOnce(0);
            }
            return data;
        }

        @Override
        public long in(int port, int size) {
            return access(port, size, true, 0) & (-1L >>> (64 - 8 * size));
        }

        @Override
        public void out(int port, int size, long value) {
            access(port, size, false, value);
        }

        @Override
        public void awaitInterrupt() {
            long deadline = System.nanoTime() + INTERRUPT_TIMEOUT_NANOS;
            while (domain.isaIrqLevel(IRQ) == 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("no IRQ " + IRQ + " within 5 s");
                }
                loop.runOnce(Math.min(left, 1_000_000));
            }
        }
    }
}
