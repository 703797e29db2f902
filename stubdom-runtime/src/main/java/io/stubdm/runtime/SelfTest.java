package io.stubdm.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stubdm.firmware.OptionRomFinder;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.hypervisor.sim.SimXen;
import io.stubdm.runtime.cli.QemuCommandLine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code stubdm self-test}: the whole start-up libxl causes — argv, machine, IDE disk, e1000, serial, ioreq
 * server, QMP handshake, xenstore {@code running} — run against the in-process simulated Xen, then the guest's
 * first look at its PCI bus. It tells an administrator that an installation works before any guest depends on
 * it, and it loads the classes a real start-up loads, so {@code bin/stubdm --prepare} can archive them for
 * class-data sharing: JVM start-up is what libxl's 60-second wait for {@code running} measures.
 */
final class SelfTest {
    private static final int DOMID = 1;

    private SelfTest() {
    }

    static int run(PrintStream out, PrintStream err) {
        long t0 = System.nanoTime();
        Path dir = null;
        try (SimXen xen = new SimXen()) {
            dir = Files.createTempDirectory("stubdm-self-test");
            xen.createDomain(DOMID, 64L << 20, 1);
            Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
            Path qmp = dir.resolve("qmp");
            List<String> argv = List.of("-xen-domid", "" + DOMID, "-no-shutdown",
                    "-chardev", "socket,id=libxl-cmd,path=" + qmp + ",server=on,wait=off",
                    "-mon", "chardev=libxl-cmd,mode=control", "-nodefaults", "-no-user-config", "-name", "self-test",
                    "-vnc", "none", "-display", "none", "-serial", "file:" + dir.resolve("com1"),
                    "-boot", "order=c", "-device", "e1000,id=nic0,netdev=net0,mac=00:16:3e:00:00:01",
                    "-netdev", "type=none,id=net0", "-machine", "xenfv,suppress-vmdesc=on", "-m", "64",
                    "-drive", "file=" + disk + ",if=ide,index=0,media=disk,format=raw,cache=writeback");
            try (DeviceModelProcess p = DeviceModelProcess.start(QemuCommandLine.parse(argv), xen,
                    OptionRomFinder.debian(java.util.Optional.empty()))) {
                String state = xen.openXenStore().read("/local/domain/0/device-model/" + DOMID + "/state").orElse("");
                check("xenstore state", "running", state);
                check("QMP query-status", "running", qmpStatus(qmp));
                SimVcpu cpu = xen.domain(DOMID).vcpu(0);
                check("PIIX3 IDE at 00:01.1", "70108086", Long.toHexString(cpu.pciConfigRead(0, 1, 1, 0, 4)));
                check("e1000 at 00:03.0", "100e8086", Long.toHexString(cpu.pciConfigRead(0, 3, 0, 0, 4)));
            }
            preloadXenBackend();
            out.printf("stubdm self-test: ok (device model up, QMP answered, guest saw its PCI devices) in %d ms%n",
                    (System.nanoTime() - t0) / 1_000_000);
            return 0;
        } catch (IOException | RuntimeException e) {
            err.println("stubdm self-test: FAILED: " + e);
            return 1;
        } finally {
            deleteTree(dir);
        }
    }

    /**
     * Loads (without initialising: no libxen* is needed here) the classes of the real Xen backend, so that a
     * class-data-sharing archive made from this run holds them too.
     */
    private static void preloadXenBackend() {
        for (String name : List.of("io.stubdm.hypervisor.xen.XenHypervisor", "io.stubdm.hypervisor.xen.XenLibs",
                "io.stubdm.hypervisor.xen.XenDeviceModel", "io.stubdm.hypervisor.xen.XenForeignMemory",
                "io.stubdm.hypervisor.xen.XenEventChannels", "io.stubdm.hypervisor.xen.LibXenStore",
                "io.stubdm.backends.net.TapBackend", "io.stubdm.backends.chardev.PtyBackend",
                "com.sun.jna.Native", "com.sun.jna.Pointer", "com.sun.jna.Memory", "com.sun.jna.Library")) {
            try {
                Class.forName(name, false, SelfTest.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                throw new IllegalStateException("class " + name + " is missing from the installation: " + e);
            }
        }
    }

    private static String qmpStatus(Path socket) throws IOException {
        ObjectMapper json = new ObjectMapper();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            OutputStream o = Channels.newOutputStream(ch);
            in.readLine(); // greeting
            o.write("{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n".getBytes(StandardCharsets.UTF_8));
            in.readLine();
            o.write("{\"execute\":\"query-status\",\"id\":2}\r\n".getBytes(StandardCharsets.UTF_8));
            JsonNode reply = json.readTree(in.readLine());
            return reply.at("/return/status").asText();
        }
    }

    private static void check(String what, String expected, String actual) {
        if (!expected.equals(actual)) {
            throw new IllegalStateException(what + ": expected " + expected + ", got " + actual);
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }
}
