package io.stubdm.boottest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The extension as a test class uses it: an image and the tools named by properties, a boot before the test. */
class BootTestExtensionTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void images() throws Exception {
        Files.write(dir.resolve("FreeBSD-14.1-RELEASE-amd64.raw"), new byte[1 << 20]);
        FakeXl.write(dir, "freebsd-14.1-serial.txt");
        System.setProperty("boottest.dir", dir.toString());
    }

    @Test
    @BootTest(image = "${boottest.dir}/FreeBSD-14.1-RELEASE-amd64.raw", xl = "${boottest.dir}/xl",
            qmpDir = "${boottest.dir}", out = "${boottest.dir}/out", xlConfig = "cpus = \"1\"")
    void theTestGetsTheRunAndTheReportsAreWritten(BootRun run) throws Exception {
        assertTrue(run.outcome().passed(), run.outcome().reason());
        assertEquals("14.1-RELEASE", run.outcome().milestones().get(1).detail());
        String name = run.name(); // the test's class and method, shortened to a guest name xl takes
        assertTrue(name.startsWith("BootTestExtensionTest-theTestGet") && name.length() <= 41, name);
        assertTrue(Files.readString(dir.resolve("out/" + name + ".md")).startsWith("# Boot test " + name + ": PASS"));
        assertTrue(Files.exists(dir.resolve("out/TEST-boot-test." + name + ".xml")));
        assertTrue(Files.readString(dir.resolve("created.cfg")).contains("cpus = \"1\""));
    }

    @Test
    @BootTest(image = "${boottest.dir}/FreeBSD-14.1-RELEASE-amd64.raw", xl = "${boottest.dir}/xl",
            qmpDir = "${boottest.dir}", out = "${boottest.dir}/out2")
    void aPassingBootPassesATestThatDoesNotAsk() {
        // nothing to do: the extension fails the test when a milestone is missed
    }

    @Test
    void annotationsBecomeTheCommandLineAndUnsetVariablesAreNamed() throws Exception {
        BootTest bt = getClass().getDeclaredMethod("theTestGetsTheRunAndTheReportsAreWritten", BootRun.class)
                .getAnnotation(BootTest.class);
        List<String> argv = BootTestExtension.arguments(bt, "n");
        assertEquals(dir + "/FreeBSD-14.1-RELEASE-amd64.raw", argv.get(0));
        assertTrue(argv.containsAll(List.of("--xl", dir + "/xl", "--xl-config", "cpus = \"1\"")), argv.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BootTestExtension.expand("${NO_SUCH_VARIABLE_FOR_STUBDM}/x.img"));
        assertTrue(e.getMessage().contains("NO_SUCH_VARIABLE_FOR_STUBDM"));
    }
}
