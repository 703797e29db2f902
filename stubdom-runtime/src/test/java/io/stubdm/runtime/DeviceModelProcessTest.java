package io.stubdm.runtime;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.stubdm.backends.vnc.RfbClient;
import io.stubdm.firmware.OptionRomFinder;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.hypervisor.sim.SimXen;
import io.stubdm.runtime.cli.QemuCommandLine;
import io.stubdm.runtime.qmp.QmpTestClient;
import java.io.IOException;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drop-in process against the simulated Xen, driven the way libxl drives qemu-xen: exec with libxl's
 * argument vector, wait for xenstore {@code running}, then QMP on fresh connections; and the guest's first
 * accesses to the machine the command line described.
 */
class DeviceModelProcessTest {
    private static final int DOMID = 5;
    private static final long LIBXL_FIRST_ID = 0x786c7100L;

    @TempDir
    Path dir;
    private final SimXen xen = new SimXen();
    private DeviceModelProcess process;

    @AfterEach
    void tearDown() {
        if (process != null) {
            process.close();
        }
        xen.close();
    }

    /** What libxl writes for a guest with an IDE disk, a CD-ROM on hdc, an e1000 and a serial port. */
    private List<String> libxlArgv(Path disk, Path iso, int udpPort) {
        List<String> a = new ArrayList<>(List.of(
                "-xen-domid", "" + DOMID, "-no-shutdown",
                "-chardev", "socket,id=libxl-cmd,path=" + dir.resolve("qmp-libxl-5") + ",server=on,wait=off",
                "-mon", "chardev=libxl-cmd,mode=control",
                "-chardev", "socket,id=libxenstat-cmd,path=" + dir.resolve("qmp-libxenstat-5") + ",server=on,wait=off",
                "-mon", "chardev=libxenstat-cmd,mode=control",
                "-nodefaults", "-no-user-config", "-name", "lab-ide",
                "-display", "none",
                "-serial", "file:" + dir.resolve("com1.log"),
                "-boot", "order=c",
                "-device", "e1000,id=nic0,netdev=net0,mac=00:16:3e:5d:00:42",
                "-netdev", "type=socket,id=net0,udp=127.0.0.1:" + udpPort + ",localaddr=127.0.0.1:0",
                "-machine", "xenfv,suppress-vmdesc=on",
                "-m", "248",
                "-drive", "file=" + disk + ",if=ide,index=0,media=disk,format=raw,cache=writeback",
                "-drive", "if=none,readonly=on,id=ide-5632,file=" + iso + ",format=raw",
                "-device", "ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0"));
        return a;
    }

    /** A device model with only libxl's QMP socket, 64 MiB, no NIC, and {@code more} (display options). */
    private List<String> qmpOnlyArgv(String... more) {
        List<String> a = new ArrayList<>(List.of("-xen-domid", "5", "-chardev",
                "socket,id=libxl-cmd,path=" + dir.resolve("qmp-libxl-5") + ",server=on,wait=off",
                "-mon", "chardev=libxl-cmd,mode=control", "-machine", "xenfv", "-m", "64", "-net", "none"));
        a.addAll(List.of(more));
        return a;
    }

    /**
     * What a VBE driver does with the standard VGA at 00:03.0: BAR0 at 0xF0000000, 320x200x32 through the DISPI
     * ports, then one pixel (9,7) in 0x3366cc straight into the framebuffer.
     */
    private void vbe320x200WithOneBluePixel(SimVcpu cpu) {
        cpu.pciConfigWrite(0, 3, 0, 0x10, 4, 0xf0000000L);
        cpu.pciConfigWrite(0, 3, 0, 0x04, 2, 0x0003);
        for (int[] r : new int[][] {{1, 320}, {2, 200}, {3, 32}, {4, 0x41}}) {
            cpu.outw(0x1ce, r[0]);
            cpu.outw(0x1cf, r[1]);
        }
        xen.domain(DOMID).guestMemory().writeValue(0xf0000000L + (7 * 320 + 9) * 4, 4, 0x3366cc);
    }

    private DeviceModelProcess start(List<String> argv) throws IOException {
        return DeviceModelProcess.start(QemuCommandLine.parse(argv), xen, new OptionRomFinder(List.of()));
    }

    @Test
    void libxlCreateSequenceThenTheGuestFindsItsDevices() throws Exception {
        xen.createDomain(DOMID, 256L << 20, 1);
        Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        Path iso = Files.write(dir.resolve("cd.iso"), new byte[2048 * 16]);
        try (DatagramSocket peer = new DatagramSocket(0)) {
            process = start(libxlArgv(disk, iso, peer.getLocalPort()));
        }

        // What libxl waits for before it talks QMP.
        assertEquals("running", xen.openXenStore().read("/local/domain/0/device-model/5/state").orElse(null));
        assertTrue(Files.exists(dir.resolve("qmp-libxenstat-5")), "both QMP sockets listen before 'running'");

        long id = LIBXL_FIRST_ID;
        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxl-5"))) {
            assertEquals(7, c.read().at("/QMP/version/qemu/major").asInt());
            assertEquals(id, c.call("{\"execute\":\"qmp_capabilities\",\"id\":" + id + "}").get("id").asLong());
            JsonNode chardevs = c.call("{\"execute\":\"query-chardev\",\"id\":" + ++id + "}").get("return");
            assertEquals("serial0", chardevs.get(0).get("label").asText());
            assertEquals("file:" + dir.resolve("com1.log"), chardevs.get(0).get("filename").asText());
            for (JsonNode cd : chardevs) {
                assertTrue(cd.get("label").isTextual(), "libxl requires a label on every element");
            }
        }
        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxl-5"))) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":" + ++id + "}");
            assertEquals("{}", c.call("{\"execute\":\"cont\",\"id\":" + ++id + "}").get("return").toString());
            assertEquals("running", c.call("{\"execute\":\"query-status\",\"id\":" + ++id + "}").at("/return/status").asText());
            JsonNode block = c.call("{\"execute\":\"query-block\",\"id\":" + ++id + "}").get("return");
            assertEquals("ide0-hd0", block.get(0).get("device").asText());
            assertEquals("ide-5632", block.get(1).get("device").asText());
            assertTrue(block.get(1).get("removable").asBoolean());
            assertEquals(0, c.call("{\"execute\":\"query-cpus-fast\",\"id\":" + ++id + "}").at("/return/0/cpu-index").asInt());
            assertEquals("CommandNotFound", c.call("{\"execute\":\"xen-save-devices-state\",\"id\":" + ++id + "}")
                    .at("/error/class").asText());
        }

        // The guest: the xenfv functions, the IDE controller with the disk behind it, the e1000 in slot 3.
        SimVcpu cpu = xen.domain(DOMID).vcpu(0);
        assertEquals(0x70108086L, cpu.pciConfigRead(0, 1, 1, 0, 4));
        assertEquals(0x100e8086L, cpu.pciConfigRead(0, 3, 0, 0, 4));
        cpu.pciConfigWrite(0, 1, 1, 0x40, 2, 0x8000); // hvmloader: IDETIM decode on
        cpu.pciConfigWrite(0, 1, 1, 0x42, 2, 0x8000);
        cpu.outb(0x1f6, 0xa0); // primary master
        cpu.outb(0x1f7, 0xec); // IDENTIFY DEVICE
        assertEquals(0x58, cpu.inb(0x1f7) & 0xd9, "DRDY DSC DRQ: the identify data is ready");
        int[] words = new int[256];
        for (int i = 0; i < 256; i++) {
            words[i] = cpu.inw(0x1f0);
        }
        assertEquals(2048, words[60] | (words[61] << 16), "1 MiB in 512-byte sectors");
        cpu.outb(0x176, 0xa0); // secondary master: the CD-ROM answers with the ATAPI signature
        assertEquals(0x14, cpu.inb(0x174));
        assertEquals(0xeb, cpu.inb(0x175));
        // COM1 reaches its file backend.
        for (byte b : "hello\n".getBytes(StandardCharsets.US_ASCII)) {
            cpu.outb(0x3f8, b);
        }
        long end = System.nanoTime() + 5_000_000_000L;
        while (!Files.readString(dir.resolve("com1.log")).equals("hello\n") && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertEquals("hello\n", Files.readString(dir.resolve("com1.log")));

        process.close();
        assertFalse(Files.exists(dir.resolve("qmp-libxl-5")), "the QMP socket files go with the process");
        assertTrue(xen.domain(DOMID).serverIds().isEmpty(), "the ioreq server is destroyed");
    }

    /**
     * {@code x-query-metrics} on libxenstat's socket: what a guest did through the device model (SeaBIOS's
     * IDENTIFY and one sector read by PIO, a line on COM1, a PCI scan) is counted by type, by device and for the
     * disk and the serial port, with the guest's domid, name and the uuid libxl wrote.
     */
    @Test
    void metricsThroughQmpCountWhatTheGuestDid() throws Exception {
        xen.createDomain(DOMID, 256L << 20, 1);
        xen.openXenStore().write("/local/domain/5/vm", "/vm/6b1e4c4a-2f57-4c3e-9d8e-0f5a3b1c2d3e");
        Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        Path iso = Files.write(dir.resolve("cd.iso"), new byte[2048 * 16]);
        try (DatagramSocket peer = new DatagramSocket(0)) {
            process = start(libxlArgv(disk, iso, peer.getLocalPort()));
        }
        SimVcpu cpu = xen.domain(DOMID).vcpu(0);
        cpu.pciConfigRead(0, 3, 0, 0, 4);
        assertEquals(0xffffffffL, cpu.pciConfigRead(0, 9, 0, 0, 4)); // an empty slot
        cpu.pciConfigWrite(0, 1, 1, 0x40, 2, 0x8000);
        cpu.outb(0x1f6, 0xe0); // LBA, primary master
        cpu.outb(0x1f2, 1);
        cpu.outb(0x1f3, 0);
        cpu.outb(0x1f4, 0);
        cpu.outb(0x1f5, 0);
        cpu.outb(0x1f7, 0x20); // READ SECTORS
        long end = System.nanoTime() + 5_000_000_000L;
        while ((cpu.inb(0x1f7) & 0x88) != 0x08 && System.nanoTime() < end) {
            Thread.sleep(5); // BSY until the backend's read completes, then DRQ
        }
        for (int i = 0; i < 256; i++) {
            cpu.inw(0x1f0);
        }
        for (byte b : "ok\n".getBytes(StandardCharsets.US_ASCII)) {
            cpu.outb(0x3f8, b);
        }

        String text;
        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxenstat-5"))) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            JsonNode r = c.call("{\"execute\":\"x-query-metrics\",\"id\":2}").get("return");
            assertEquals("text/plain; version=0.0.4; charset=utf-8", r.get("content-type").asText());
            text = r.get("text").asText();
        }
        String[] guest = {"domid", "5", "name", "lab-ide", "uuid", "6b1e4c4a-2f57-4c3e-9d8e-0f5a3b1c2d3e"};
        assertEquals(1, metric(text, "stubdm_disk_requests_total", guest, "device", "ide0-hd0", "op", "read"));
        assertEquals(512, metric(text, "stubdm_disk_bytes_total", guest, "device", "ide0-hd0", "op", "read"));
        assertEquals(3, metric(text, "stubdm_serial_bytes_total", guest, "device", "serial0", "direction", "tx"));
        assertEquals(6, metric(text, "stubdm_device_ioreqs_total", guest, "device", "ide0", "space", "port",
                "direction", "write"));
        // The 256 data words, after one status read or more while the backend worked.
        assertTrue(metric(text, "stubdm_device_ioreqs_total", guest, "device", "ide0", "space", "port",
                "direction", "read") >= 257);
        assertEquals(3, metric(text, "stubdm_device_ioreqs_total", guest, "device", "com1", "space", "port",
                "direction", "write"));
        assertEquals(1, metric(text, "stubdm_device_ioreqs_total", guest, "device", "e1000", "space", "pci_config",
                "direction", "read"));
        // Xen answers for a slot nobody claimed itself: the empty slot never reached the device model.
        assertEquals(0, metric(text, "stubdm_unclaimed_accesses_total", guest, "space", "pci_config",
                "direction", "read"));
        assertTrue(metric(text, "stubdm_ioreq_service_seconds_count", guest, "type", "pio") >= 265);
        double link = metric(text, "stubdm_nic_link_up", guest, "device", "net0", "model", "e1000");
        assertTrue(link == 0 || link == 1, "link is a 0/1 gauge: " + link);
        assertTrue(metric(text, "jvm_threads_live_threads", guest) > 0);
    }

    /** One sample of a metrics scrape, picked by the guest's labels and {@code more}. */
    private static double metric(String text, String name, String[] guest, String... more) {
        String[] all = new String[guest.length + more.length];
        System.arraycopy(guest, 0, all, 0, guest.length);
        System.arraycopy(more, 0, all, guest.length, more.length);
        return io.stubdm.runtime.metrics.PromText.value(text, name, all);
    }

    @Test
    void startPausedWaitsForContBeforeRunningIsWritten() throws Exception {
        xen.createDomain(DOMID, 256L << 20, 1);
        process = start(List.of("-xen-domid", "5", "-S", "-chardev",
                "socket,id=libxl-cmd,path=" + dir.resolve("qmp-libxl-5") + ",server=on,wait=off",
                "-mon", "chardev=libxl-cmd,mode=control", "-machine", "xenfv", "-m", "64", "-net", "none"));
        assertTrue(xen.openXenStore().read("/local/domain/0/device-model/5/state").isEmpty());
        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxl-5"))) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            assertEquals("prelaunch", c.call("{\"execute\":\"query-status\",\"id\":2}").at("/return/status").asText());
            c.call("{\"execute\":\"cont\",\"id\":3}");
            assertEquals("running", c.call("{\"execute\":\"query-status\",\"id\":4}").at("/return/status").asText());
        }
        assertEquals("running", xen.openXenStore().read("/local/domain/0/device-model/5/state").orElse(null));
        assertEquals(0x70008086L, xen.domain(DOMID).vcpu(0).pciConfigRead(0, 1, 0, 0, 4));
    }

    @Test
    void globalRomfileTurnsTheNicOptionRomOff() throws Exception {
        xen.createDomain(DOMID, 256L << 20, 1);
        List<String> argv = new ArrayList<>(List.of("-xen-domid", "5", "-machine", "xenfv", "-m", "64",
                "-device", "e1000,id=nic0,netdev=net0,mac=00:16:3e:00:00:01", "-netdev", "type=none,id=net0"));
        OptionRomFinder debian = OptionRomFinder.debian(java.util.Optional.empty());
        assertTrue(debian.find("efi-e1000.rom", 0x8086, 0x100e).rom().isPresent(),
                "Debian's ipxe-qemu is installed (scripts/install-deps)");
        SimVcpu cpu = xen.domain(DOMID).vcpu(0);
        process = DeviceModelProcess.start(QemuCommandLine.parse(argv), xen, debian);
        cpu.pciConfigWrite(0, 3, 0, 0x30, 4, 0xfffff800L);
        assertNotEquals(0, cpu.pciConfigRead(0, 3, 0, 0x30, 4), "by default the e1000 has its iPXE ROM");
        process.close();

        argv.addAll(List.of("-global", "e1000.romfile="));
        process = DeviceModelProcess.start(QemuCommandLine.parse(argv), xen, debian);
        cpu.pciConfigWrite(0, 3, 0, 0x30, 4, 0xfffff800L);
        assertEquals(0, cpu.pciConfigRead(0, 3, 0, 0x30, 4), "-global e1000.romfile= leaves the ROM BAR out");
    }

    /**
     * xl's {@code vga="stdvga"}: the adapter at 00:03.0 with its video RAM populated above the guest's RAM, a VBE
     * mode the guest draws into, and QMP's screendump (and the human monitor's, which {@code xl
     * qemu-monitor-command} reaches) writing what it shows.
     */
    @Test
    void stdVgaShowsWhatTheGuestDrawsInScreendumps() throws Exception {
        xen.createDomain(DOMID, 64L << 20, 1); // -m is what the domain builder populated; video RAM comes on top
        process = start(qmpOnlyArgv("-vnc", "none", "-display", "none", "-device", "VGA,vgamem_mb=16"));
        SimVcpu cpu = xen.domain(DOMID).vcpu(0);
        assertEquals(0x11111234L, cpu.pciConfigRead(0, 3, 0, 0, 4));
        assertTrue(xen.domain(DOMID).guestMemory().isRam(64L << 20, 16 << 20), "video RAM populated above RAM");
        vbe320x200WithOneBluePixel(cpu);

        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxl-5"))) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            Path png = dir.resolve("screen.png");
            JsonNode r = c.call("{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"" + png
                    + "\",\"format\":\"png\"},\"id\":2}");
            assertTrue(r.has("return"), r.toString());
            java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(png.toFile());
            assertEquals(320, image.getWidth());
            assertEquals(200, image.getHeight());
            assertEquals(0x3366cc, image.getRGB(9, 7) & 0xffffff);

            Path ppm = dir.resolve("screen.ppm");
            c.call("{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"" + ppm + "\"},\"id\":3}");
            byte[] bytes = Files.readAllBytes(ppm);
            String header = "P6\n320 200\n255\n";
            assertEquals(header, new String(bytes, 0, header.length(), StandardCharsets.US_ASCII));
            int at = header.length() + (7 * 320 + 9) * 3;
            assertArrayEquals(new byte[] {0x33, 0x66, (byte) 0xcc}, java.util.Arrays.copyOfRange(bytes, at, at + 3));

            Path viaHmp = dir.resolve("hmp.png");
            r = c.call("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"screendump "
                    + viaHmp + "\"},\"id\":4}");
            assertEquals("", r.at("/return").asText());
            assertEquals(320, javax.imageio.ImageIO.read(viaHmp.toFile()).getWidth());
            Path hmpPng = dir.resolve("hmp-png.img");
            r = c.call("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"screendump "
                    + hmpPng + " -f png\"},\"id\":8}");
            assertEquals("", r.at("/return").asText());
            assertEquals(200, javax.imageio.ImageIO.read(hmpPng.toFile()).getHeight(), "-f png after the name, as xl passes it");
            r = c.call("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info cpus\"},"
                    + "\"id\":5}");
            assertTrue(r.at("/return").asText().startsWith("unknown command: 'info'"), r.toString());

            r = c.call("{\"execute\":\"screendump\",\"arguments\":{},\"id\":6}");
            assertEquals("GenericError", r.at("/error/class").asText(), r.toString());
            r = c.call("{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"" + dir.resolve("no/such/dir.png")
                    + "\",\"format\":\"png\"},\"id\":7}");
            assertTrue(r.at("/error/desc").asText().contains("no/such/dir.png"), r.toString());
        }
    }

    @Test
    void xlsDefaultCirrusAdapterIsThereWithItsVideoRamAndScreendumps() throws Exception {
        xen.createDomain(DOMID, 64L << 20, 1);
        process = start(qmpOnlyArgv("-vnc", "none", "-display", "none", "-device", "cirrus-vga,vgamem_mb=8"));
        SimVcpu cpu = xen.domain(DOMID).vcpu(0);
        assertEquals(0x00b81013L, cpu.pciConfigRead(0, 3, 0, 0, 4));
        assertTrue(xen.domain(DOMID).guestMemory().isRam(64L << 20, 8 << 20), "video RAM populated above RAM");
        // vgabios-cirrus's detection: unlock the extensions, read the chip ID.
        cpu.outw(0x3c4, 0x1206);
        cpu.outb(0x3c4, 0x06);
        assertEquals(0x12, cpu.inb(0x3c5));
        cpu.outb(0x3d4, 0x27);
        assertEquals(0xb8, cpu.inb(0x3d5) & 0xfc);
        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxl-5"))) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            Path ppm = dir.resolve("cirrus.ppm");
            JsonNode r = c.call("{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"" + ppm + "\"},\"id\":2}");
            assertTrue(r.has("return"), r.toString());
            assertTrue(new String(Files.readAllBytes(ppm), 0, 2, StandardCharsets.US_ASCII).equals("P6"));
        }
    }

    @Test
    void vncShowsTheScreenToPasswordHoldersAndTypesIntoThePs2Keyboard() throws Exception {
        xen.createDomain(DOMID, 64L << 20, 1);
        process = start(qmpOnlyArgv("-vnc", "127.0.0.1:120,to=199,password=on", "-display", "none",
                "-device", "VGA,vgamem_mb=16"));
        SimVcpu cpu = xen.domain(DOMID).vcpu(0);
        vbe320x200WithOneBluePixel(cpu);

        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxl-5"))) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            JsonNode vnc = c.call("{\"execute\":\"query-vnc\",\"id\":2}").get("return");
            assertTrue(vnc.get("enabled").asBoolean(), vnc.toString());
            assertEquals("127.0.0.1", vnc.get("host").asText());
            assertEquals("vnc", vnc.get("auth").asText());
            int port = Integer.parseInt(vnc.get("service").asText());
            assertTrue(port >= 5900 + 120 && port <= 5900 + 199, vnc.toString());
            assertThrows(IOException.class, () -> RfbClient.connect("127.0.0.1", port, "anything").close(),
                    "password=on with no password set yet lets nobody in");

            JsonNode r = c.call("{\"execute\":\"change-vnc-password\",\"arguments\":{\"password\":\"s3cret\"},\"id\":3}");
            assertTrue(r.has("return"), r.toString());
            assertThrows(IOException.class, () -> RfbClient.connect("127.0.0.1", port, "wrong").close());
            try (RfbClient client = RfbClient.connect("127.0.0.1", port, "s3cret")) {
                assertEquals(320, client.width());
                assertEquals(200, client.height());
                int[] frame = client.requestFullFrame();
                assertEquals(0x3366cc, frame[7 * 320 + 9] & 0xffffff);
                JsonNode clients = c.call("{\"execute\":\"query-vnc\",\"id\":4}").at("/return/clients");
                assertEquals(1, clients.size(), clients.toString());
                assertEquals("127.0.0.1", clients.get(0).get("host").asText());

                // SeaBIOS's controller set-up (keyboard interrupt, mouse off, translation on); then 'a' goes down:
                // the keyboard's set 2 make code 0x1C, which the 8042 hands the guest as set 1's 0x1E.
                cpu.outb(0x64, 0x60);
                cpu.outb(0x60, 0x61);
                client.key('a', true);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while ((cpu.inb(0x64) & 0x01) == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertEquals(0x1e, cpu.inb(0x60));
            }
            r = c.call("{\"execute\":\"change-vnc-password\",\"arguments\":{},\"id\":5}");
            assertEquals("GenericError", r.at("/error/class").asText(), r.toString());
        }
    }

    @Test
    void whatStubdmCannotServeIsRefusedByNameAndLeavesNothingBehind() throws Exception {
        xen.createDomain(DOMID, 256L << 20, 1);
        List<String> base = List.of("-xen-domid", "5", "-chardev",
                "socket,id=libxl-cmd,path=" + dir.resolve("qmp-libxl-5") + ",server=on,wait=off",
                "-mon", "chardev=libxl-cmd,mode=control", "-machine", "xenfv", "-m", "64", "-net", "none");

        List<String> vga = new ArrayList<>(base);
        vga.addAll(List.of("-device", "qxl-vga,vgamem_mb=8"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> start(vga));
        assertTrue(e.getMessage().contains("qxl-vga") && e.getMessage().contains("vga=\"none\""), e.getMessage());

        List<String> cirrusSize = new ArrayList<>(base);
        cirrusSize.addAll(List.of("-device", "cirrus-vga,vgamem_mb=32"));
        e = assertThrows(IllegalArgumentException.class, () -> start(cirrusSize));
        assertTrue(e.getMessage().contains("4, 8 or 16 MiB"), e.getMessage());

        List<String> missing = new ArrayList<>(base);
        missing.addAll(List.of("-drive", "file=" + dir.resolve("nope.img") + ",if=ide,index=0,media=disk,format=raw"));
        IOException io = assertThrows(IOException.class, () -> start(missing));
        assertTrue(io.getMessage().contains("nope.img"), io.getMessage());

        List<String> global = new ArrayList<>(base);
        global.addAll(List.of("-global", "isa-serial.chardev=x"));
        e = assertThrows(IllegalArgumentException.class, () -> start(global));
        assertTrue(e.getMessage().contains("isa-serial.chardev"), e.getMessage());

        List<String> vnc = new ArrayList<>(base);
        vnc.addAll(List.of("-vnc", "unix:/run/vnc.sock"));
        e = assertThrows(IllegalArgumentException.class, () -> start(vnc));
        assertTrue(e.getMessage().contains("unix:/run/vnc.sock"), e.getMessage());

        assertFalse(Files.exists(dir.resolve("qmp-libxl-5")), "no socket is left by a failed start");
        assertTrue(xen.domain(DOMID).serverIds().isEmpty(), "no ioreq server is left by a failed start");
        assertEquals(0, xen.liveForeignMappings(), "no guest mapping is left by a failed start");
    }
}
