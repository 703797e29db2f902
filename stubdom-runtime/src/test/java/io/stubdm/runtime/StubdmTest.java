package io.stubdm.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code stubdm} command as an administrator and libxl meet it: exit codes and what it prints. */
class StubdmTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... argv) {
        return Stubdm.run(List.of(argv), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void selfTestBringsUpAWholeDeviceModelAgainstTheSimulatedXen() {
        assertEquals(0, run("self-test"), err.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("stubdm self-test: ok"), out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anUnknownOptionIsNamedAndNothingStarts() {
        assertEquals(2, run("-xen-domid", "5", "-frobnicate", "yes"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("-frobnicate"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aStubDomainsXenpvCommandLineIsAcceptedAndGoesOnToXen() {
        // libxl's argv for a stub domain's Dom0 process; outside Xen it gets as far as opening Xen.
        int code = run("-xen-domid", "7", "-no-shutdown", "-nodefaults", "-no-user-config", "-xen-attach",
                "-name", "guest-dm", "-vnc", "none", "-display", "none", "-machine", "xenpv", "-m", "129");
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, text);
        assertTrue(text.contains("cannot reach Xen"), text);
    }

    @Test
    void versionAndUsage() {
        assertEquals(0, run("--version"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("QEMU 7.2.0"));
        assertEquals(2, run());
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("device_model_override"));
    }

    @Test
    void stubdomImageAndInstallAreDispatchedWithTheirOwnArgumentErrors() {
        assertEquals(2, run("stubdom-image", "--frobnicate"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("stubdm stubdom-image: unknown option --frobnicate"),
                err.toString(StandardCharsets.UTF_8));
        assertEquals(2, run("stubdom-install", "--to"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("stubdm stubdom-install: --to needs a value"),
                err.toString(StandardCharsets.UTF_8));
    }
}
