package io.stubdm.runtime.xenpv;

import static io.stubdm.runtime.xenpv.StubDomainSide.STUB;
import static io.stubdm.runtime.xenpv.StubDomainSide.backend;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.stubdm.hypervisor.sim.SimXen;
import io.stubdm.runtime.cli.DeviceModelArgs;
import io.stubdm.runtime.cli.QemuCommandLine;
import io.stubdm.runtime.qmp.QmpTestClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Dom0 process libxl (Xen 4.17, libxl_dm.c) starts for a stub domain, driven as libxl drives it: the consoles
 * written first, exec with libxl's argument vector, wait for {@code running}, then QMP.
 */
class PvBackendProcessTest {
    @TempDir
    Path dir;
    private final SimXen xen = new SimXen();
    private StubDomainSide stub;
    private PvBackendProcess process;

    @BeforeEach
    void setUp() {
        stub = new StubDomainSide(xen);
    }

    @AfterEach
    void tearDown() {
        if (process != null) {
            process.close();
        }
        stub.close();
        xen.close();
    }

    /** libxl's argv for the stub domain's own QEMU (libxl__build_device_model_args_old/new for a PV domain). */
    private List<String> libxlArgv() {
        return new ArrayList<>(List.of("-xen-domid", "" + STUB, "-no-shutdown",
                "-chardev", "socket,id=libxl-cmd,path=" + dir.resolve("qmp-libxl-7") + ",server=on,wait=off",
                "-mon", "chardev=libxl-cmd,mode=control",
                "-chardev", "socket,id=libxenstat-cmd,path=" + dir.resolve("qmp-libxenstat-7") + ",server=on,wait=off",
                "-mon", "chardev=libxenstat-cmd,mode=control",
                "-nodefaults", "-no-user-config", "-xen-attach", "-name", "guest-dm", "-vnc", "none",
                "-display", "none", "-machine", "xenpv", "-m", "129"));
    }

    @Test
    void libxlsArgvParsesAsAStubDomainsConsoleBackend() {
        DeviceModelArgs args = QemuCommandLine.parse(libxlArgv());
        assertEquals(DeviceModelArgs.Mode.XENPV, args.mode());
        assertEquals(STUB, args.domid());
        assertEquals("guest-dm", args.name());
        assertEquals(129, args.memoryMiB());
        assertTrue(args.vnc().isEmpty(), "-vnc none");
        assertEquals(2, args.monitors().size());
    }

    @Test
    void startsServingWritesRunningAndAnswersLibxlsQmp() throws Exception {
        Path log = dir.resolve("qemu-dm-guest.log");
        StubDomainSide.Console boot = stub.libxlAddsConsole(0, "ioemu", "file:" + log);
        stub.libxlAddsConsole(1, "ioemu", "file:" + dir.resolve("qemu-save.5"));
        stub.libxlAddsConsole(3, "ioemu", "pty");
        // A configuration stubdm cannot serve in full: reported, not fatal.
        stub.dom0.write("/local/domain/0/backend/vfb/" + STUB + "/0/state", "1");

        process = PvBackendProcess.start(QemuCommandLine.parse(libxlArgv()), xen);

        assertEquals("running", stub.read("/local/domain/0/device-model/" + STUB + "/state").orElse(null));
        assertEquals("4", stub.read(backend(0) + "/state").orElseThrow(), "console 0 served before 'running'");
        assertEquals("2", stub.read(backend(1) + "/state").orElseThrow());
        boot.writeAll("stub kernel booting\n".getBytes(StandardCharsets.US_ASCII));
        long deadline = System.currentTimeMillis() + StubDomainSide.WAIT_MILLIS;
        while (Files.size(log) < 20 && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertEquals("stub kernel booting\n", Files.readString(log));

        long id = 0x786c7100L;
        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxl-7"))) {
            assertEquals(7, c.read().at("/QMP/version/qemu/major").asInt());
            assertEquals(id, c.call("{\"execute\":\"qmp_capabilities\",\"id\":" + id + "}").get("id").asLong());
            JsonNode chardevs = c.call("{\"execute\":\"query-chardev\",\"id\":" + ++id + "}").get("return");
            List<String> labels = new ArrayList<>();
            chardevs.forEach(cd -> labels.add(cd.get("label").asText()));
            assertEquals(List.of("xencons0", "xencons1", "xencons3", "libxl-cmd", "libxenstat-cmd"), labels);
            assertEquals("file:" + log, chardevs.get(0).get("filename").asText());
            String tty = stub.read(StubDomainSide.frontend(3) + "/tty").orElseThrow();
            assertEquals("pty:" + tty, chardevs.get(2).get("filename").asText());
            JsonNode status = c.call("{\"execute\":\"query-status\",\"id\":" + ++id + "}").get("return");
            assertEquals("running", status.get("status").asText());
            assertTrue(status.get("running").asBoolean());
            c.call("{\"execute\":\"stop\",\"id\":" + ++id + "}");
            assertEquals("paused", c.call("{\"execute\":\"query-status\",\"id\":" + ++id + "}").at("/return/status").asText());
            c.call("{\"execute\":\"cont\",\"id\":" + ++id + "}");
            assertEquals("running", c.call("{\"execute\":\"query-status\",\"id\":" + ++id + "}").at("/return/status").asText());
            assertEquals(2, c.call("{\"execute\":\"query-version\",\"id\":" + ++id + "}").at("/return/qemu/minor").asInt());
            assertEquals("guest-dm", c.call("{\"execute\":\"query-name\",\"id\":" + ++id + "}").at("/return/name").asText());
        }
        try (QmpTestClient c = new QmpTestClient(dir.resolve("qmp-libxenstat-7"))) {
            c.read();
            c.call("{\"execute\":\"qmp_capabilities\",\"id\":1}");
            assertEquals("running", c.call("{\"execute\":\"query-status\",\"id\":2}").at("/return/status").asText());
        }

        process.close();
        assertFalse(Files.exists(dir.resolve("qmp-libxl-7")), "the QMP sockets are removed");
        assertFalse(boot.port.isBound(), "console 0's port is unbound on close");
    }

    @Test
    void devicesOfAnHvmDeviceModelAreRefusedByName() {
        List<String> argv = libxlArgv();
        argv.addAll(List.of("-drive", "file=/dev/null,if=ide,index=0,media=disk,format=raw"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PvBackendProcess.start(QemuCommandLine.parse(argv), xen));
        assertTrue(e.getMessage().contains("-drive"), e.getMessage());
        assertTrue(stub.read("/local/domain/0/device-model/" + STUB + "/state").isEmpty());
    }
}
