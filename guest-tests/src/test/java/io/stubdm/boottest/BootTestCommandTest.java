package io.stubdm.boottest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class BootTestCommandTest {
    @Test
    void anOpnsenseImageInAStubDomainAsAnAdministratorWouldAskForIt() {
        BootTestOptions o = BootTestCommand.parse(List.of("/srv/OPNsense-24.7-serial-amd64.img.bz2", "--profile",
                "opnsense", "--placement", "stubdom", "--nic", "rtl8139", "--memory", "2048", "--stubdom-memory", "320",
                "--timeout-scale", "2", "--login", "root", "--password", "opnsense", "--command", "opnsense-version",
                "--command-expect", "OPNsense 24\\.7", "--xl-config", "cpus = \"1\"", "--out", "/tmp/bt"));
        assertEquals(BootTestOptions.Placement.STUBDOM, o.placement());
        assertEquals("rtl8139", o.nic());
        assertEquals(2048, o.memoryMiB());
        assertEquals(320, o.stubdomMemoryMiB());
        assertEquals(Path.of("/tmp/bt"), o.outDir());
        assertTrue(o.name().startsWith("bt-OPNsense-24.7-serial-amd64"), o.name());
        assertEquals(List.of("cpus = \"1\""), o.extraConfig());
        assertEquals("opnsense", o.profile().name());
        assertEquals(Duration.ofSeconds(240), o.profile().milestones().get(0).timeout(), "120 s scaled by 2");
        Profile.AfterLogin login = o.profile().afterLogin().orElseThrow();
        assertEquals("root\r", login.steps().get(0).keys());
        assertEquals("opnsense\r", login.steps().get(1).keys());
        assertEquals("8\r", login.steps().get(2).keys(), "OPNsense's menu: 8 is the shell");
        assertEquals("opnsense-version\r", login.steps().get(3).keys());
    }

    @Test
    void expectReplacesAMilestonesPattern() {
        BootTestOptions o = BootTestCommand.parse(List.of("guest.img", "--profile", "linux", "--expect",
                "init=STUBDM-CHECK (init)", "--name", "lab-linux"));
        assertTrue(o.profile().milestones().get(1).pattern().matcher("STUBDM-CHECK init uptime=30.97").find());
        assertEquals("lab-linux", o.name());
        assertEquals(BootTestOptions.Placement.DOM0, o.placement());
    }

    @Test
    void badCommandLinesAreRefusedByName() {
        assertNull(BootTestCommand.parse(List.of("--help")));
        assertEquals("no image given", assertThrows(IllegalArgumentException.class,
                () -> BootTestCommand.parse(List.of("--nic", "e1000"))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BootTestCommand.parse(List.of("a.img", "--nic",
                "virtio"))).getMessage().contains("e1000 or rtl8139"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BootTestCommand.parse(List.of("a.img",
                "--expect", "kernel=x"))).getMessage().contains("has no milestone 'kernel'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BootTestCommand.parse(List.of("a.img",
                "--login", "root"))).getMessage().contains("go together"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BootTestCommand.parse(List.of("a.img",
                "--timeout-scale", "-1"))).getMessage().contains("positive"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BootTestCommand.parse(List.of("a.img",
                "--xl-config", "x\ny = 1"))).getMessage().contains("key = value"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BootTestCommand.parse(List.of("a.img", "b.img")))
                .getMessage().contains("one image only"));

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = BootTestCommand.run(List.of("boot-test", "a.img", "--profile", "windows"), System.out,
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, rc);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no profile windows (freebsd, opnsense, linux)"));
    }
}
