package io.stubdm.runtime.xenpv;

import static io.stubdm.runtime.xenpv.StubDomainSide.STUB;
import static io.stubdm.runtime.xenpv.StubDomainSide.backend;
import static io.stubdm.runtime.xenpv.StubDomainSide.frontend;
import static io.stubdm.runtime.xenpv.XenConsoleRing.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.sim.SimXen;
import io.stubdm.ioreq.DeviceLoop;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console backend against the simulated Xen, with the stub domain's consoles as libxl (Xen 4.17) writes them
 * and Linux's hvc_xen connecting them: bytes both ways, the frontend's life cycle, and a stub domain that lies.
 */
class PvConsoleBackendTest {
    @TempDir
    Path dir;
    private final SimXen xen = new SimXen();
    private StubDomainSide stub;
    private EventChannels eventChannels;
    private DeviceLoop loop;
    private XenStore xenstore;
    private PvConsoleBackend backend;

    @BeforeEach
    void setUp() {
        stub = new StubDomainSide(xen);
        eventChannels = xen.openEventChannels();
        loop = new DeviceLoop(eventChannels, "test-console-loop");
        loop.start();
        xenstore = xen.openXenStore();
    }

    @AfterEach
    void tearDown() {
        if (backend != null) {
            backend.close();
        }
        loop.close();
        eventChannels.close();
        xenstore.close();
        stub.close();
        xen.close();
    }

    private void startBackend() {
        backend = new PvConsoleBackend(STUB, xenstore, loop, xen.foreignMemory(STUB), xen.openGrantTables());
        backend.start();
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('!' + (i * 13) % 90);
        }
        return b;
    }

    private static void awaitFile(Path file, byte[] expected) throws InterruptedException {
        long deadline = System.currentTimeMillis() + StubDomainSide.WAIT_MILLIS;
        byte[] got = new byte[0];
        while (System.currentTimeMillis() < deadline) {
            try {
                got = Files.readAllBytes(file);
            } catch (java.io.IOException e) {
                got = new byte[0];
            }
            if (java.util.Arrays.equals(expected, got)) {
                return;
            }
            Thread.sleep(5);
        }
        assertEquals(new String(expected, StandardCharsets.ISO_8859_1), new String(got, StandardCharsets.ISO_8859_1),
                file.toString());
    }

    /** The hvc_xen frontend's connection of console {@code c}: Initialised, wait for Connected, go Connected. */
    private void hvcConnects(StubDomainSide.Console c, int grantRef) throws InterruptedException {
        c.connectFrontend(grantRef);
        stub.awaitBackendState(c.devid, XenbusState.CONNECTED);
        c.setFrontendState(XenbusState.CONNECTED);
    }

    @Test
    void libxlsConsolesOfAStubDomainAreServedBothWays() throws Exception {
        Path log = dir.resolve("qemu-dm-guest.log");
        Path save = Files.writeString(dir.resolve("qemu-save.5"), "what an earlier save left, to be truncated");
        StubDomainSide.Console boot = stub.libxlAddsConsole(0, "ioemu", "file:" + log);
        StubDomainSide.Console saveConsole = stub.libxlAddsConsole(1, "ioemu", "file:" + save);
        stub.libxlAddsConsole(2, "xenconsoled", "pipe:" + dir.resolve("qemu-resume.5"));
        StubDomainSide.Console serial = stub.libxlAddsConsole(3, "ioemu", "pty");
        // The domain builder's ring may start anywhere: near the end of the index space, so that both wrap.
        boot.setIndex(OFFSET_OUT_CONS, -300);
        boot.setIndex(OFFSET_OUT_PROD, -300);
        boot.write(text("Linux version 6.1 (stub domain early console)\n"), 0, 46);

        startBackend();

        // Console 0 is served from the start, without a frontend state machine.
        assertEquals("4", stub.read(backend(0) + "/state").orElseThrow());
        awaitFile(log, text("Linux version 6.1 (stub domain early console)\n"));
        assertTrue(boot.port.isBound());
        assertEquals(0, Files.size(save), "file: output is truncated, as QEMU opens it");
        assertEquals("2", stub.read(backend(1) + "/state").orElseThrow(), "InitWait once the output is open");
        assertEquals("2", stub.read(backend(3) + "/state").orElseThrow());
        assertEquals("1", stub.read(backend(2) + "/state").orElseThrow(), "xenconsoled's console is left alone");
        String tty = stub.read(frontend(3) + "/tty").orElseThrow();
        assertTrue(tty.startsWith("/dev/pts/"), "xl console finds the pty in the frontend's tty: " + tty);
        assertEquals("", stub.read(frontend(1) + "/tty").orElseThrow());

        // Console 0: the rest of the boot log, more than a ring's worth, across the index wrap.
        byte[] bootLog = pattern(5000);
        boot.writeAll(bootLog);
        byte[] expectedLog = concat(text("Linux version 6.1 (stub domain early console)\n"), bootLog);
        awaitFile(log, expectedLog);

        // Console 1: hvc_xen connects, then the device model's saved state flows to the save file.
        hvcConnects(saveConsole, 10);
        byte[] state = pattern(12_345);
        saveConsole.writeAll(state);
        awaitFile(save, state);

        // Console 3: the guest's serial port behind a pty, both ways.
        hvcConnects(serial, 11);
        try (InputStream fromPty = new FileInputStream(tty); OutputStream toPty = new FileOutputStream(tty)) {
            serial.writeAll(text("login: "));
            byte[] got = new byte[7];
            for (int i = 0; i < got.length; i++) {
                got[i] = (byte) fromPty.read();
            }
            assertEquals("login: ", new String(got, StandardCharsets.ISO_8859_1));
            byte[] typed = pattern(3000); // more than the in ring holds: the rest waits for the domain to read
            toPty.write(typed);
            toPty.flush();
            assertArrayEquals(typed, serial.readAtLeast(typed.length));
        }

        List<PvConsoleBackend.ServedConsole> served = backend.served();
        assertEquals(List.of("xencons0", "xencons1", "xencons3"), served.stream().map(s -> s.label()).toList());
        assertEquals("file:" + log, served.get(0).output());
        assertEquals("pty:" + tty, served.get(2).output());
        assertTrue(served.stream().allMatch(PvConsoleBackend.ServedConsole::connected));
    }

    @Test
    void theFrontendClosesAndComesBackAndLibxlRemovesTheDevice() throws Exception {
        Path out = dir.resolve("console1.log");
        StubDomainSide.Console c = stub.libxlAddsConsole(1, "ioemu", "file:" + out);
        startBackend();
        hvcConnects(c, 20);
        c.writeAll(text("first life\n"));
        awaitFile(out, text("first life\n"));

        // hvc_xen's remove: Closing, and the backend lets go of its port and page.
        c.setFrontendState(XenbusState.CLOSING);
        stub.awaitBackendState(1, XenbusState.CLOSED);
        assertFalse(c.port.isBound(), "the backend unbound its end");
        c.setFrontendState(XenbusState.CLOSED);
        stub.domain.endAccess(20);

        // The driver binds again: Initialising, then a fresh page and port.
        c.setFrontendState(XenbusState.INITIALISING);
        stub.awaitBackendState(1, XenbusState.INIT_WAIT);
        hvcConnects(c, 21);
        c.writeAll(text("second life\n"));
        awaitFile(out, text("first life\nsecond life\n"));

        // libxl destroys the stub domain's devices: frontend and backend directories go.
        stub.dom0.rm(frontend(1));
        stub.dom0.rm(backend(1));
        long deadline = System.currentTimeMillis() + StubDomainSide.WAIT_MILLIS;
        while (!backend.served().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(List.of(), backend.served());
        assertFalse(c.port.isBound());
        assertTrue(stub.read(backend(1)).isEmpty(), "nothing written back into the removed backend");
    }

    @Test
    void aLyingStubDomainCostsOnlyTheConsoleItLiesAbout() throws Exception {
        Path good = dir.resolve("good.log");
        Path bad = dir.resolve("bad.log");
        StubDomainSide.Console honest = stub.libxlAddsConsole(0, "ioemu", "file:" + good);
        StubDomainSide.Console liar = stub.libxlAddsConsole(1, "ioemu", "file:" + bad);
        stub.libxlAddsConsole(3, "ioemu", "file:" + dir.resolve("no-such-dir").resolve("x.log"));
        stub.dom0.write("/local/domain/0/backend/console/" + STUB + "/junk", "");
        startBackend();
        assertEquals("6", stub.read(backend(3) + "/state").orElseThrow(), "an output that cannot open: Closed");
        assertEquals("4", stub.read(backend(0) + "/state").orElseThrow(), "the others go on");

        // Garbage, then a grant that was never made, then a missing port, then a state that is no number: each
        // one reported, and the backend waits in InitWait for the frontend to do better.
        long problems = backend.problems();
        assertEquals(2, problems, "the junk entry is no device; console 3's output was refused");
        // Each attempt as hvc_xen would make it: details first, then Initialised (Initialising in between).
        stub.self.write(frontend(1) + "/ring-ref", "0x1f; rm -rf");
        stub.self.write(frontend(1) + "/port", "3");
        liar.setFrontendState(XenbusState.INITIALISED);
        problems = awaitMoreProblems(problems);
        liar.setFrontendState(XenbusState.INITIALISING);
        liar.port = stub.domain.allocUnboundPort(0);
        stub.self.write(frontend(1) + "/ring-ref", "77");
        stub.self.write(frontend(1) + "/port", Integer.toString(liar.port.port()));
        liar.setFrontendState(XenbusState.INITIALISED);
        problems = awaitMoreProblems(problems);
        liar.setFrontendState(XenbusState.INITIALISING);
        stub.self.rm(frontend(1) + "/port");
        liar.setFrontendState(XenbusState.INITIALISED);
        problems = awaitMoreProblems(problems);
        stub.self.write(frontend(1) + "/state", "not a state");
        problems = awaitMoreProblems(problems);
        honest.writeAll(text("still here\n"));
        awaitFile(good, text("still here\n"));
        assertEquals("2", stub.read(backend(1) + "/state").orElseThrow());
        assertFalse(liar.port.isBound());

        // It grants properly after all, then lies about its indices: the ring is resynchronised, once.
        stub.domain.grantAccess(77, liar.gfn, 0, false);
        liar.setFrontendState(XenbusState.INITIALISING);
        stub.self.write(frontend(1) + "/port", Integer.toString(liar.port.port()));
        liar.setFrontendState(XenbusState.INITIALISED);
        stub.awaitBackendState(1, XenbusState.CONNECTED);
        liar.setIndex(OFFSET_OUT_CONS, 0);
        liar.setIndex(OFFSET_OUT_PROD, 0x7fff0000);
        liar.port.send();
        long deadline = System.currentTimeMillis() + StubDomainSide.WAIT_MILLIS;
        while (liar.index(OFFSET_OUT_CONS) != 0x7fff0000 && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(0x7fff0000, liar.index(OFFSET_OUT_CONS), "out_cons resynchronised to out_prod");
        liar.writeAll(text("honest again\n"));
        awaitFile(bad, text("honest again\n"));
        honest.writeAll(text("and still here\n"));
        awaitFile(good, text("still here\nand still here\n"));
        assertEquals(problems, backend.problems(), "an honest frontend is no problem");
        assertEquals(0, loop.failures(), "no handler threw");
    }

    /** Waits until the backend reported a problem beyond the first {@code seen}; returns the count then. */
    private long awaitMoreProblems(long seen) throws InterruptedException {
        long deadline = System.currentTimeMillis() + StubDomainSide.WAIT_MILLIS;
        while (backend.problems() <= seen && System.currentTimeMillis() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(backend.problems() > seen, "the backend reported no problem after " + seen);
        return backend.problems();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
