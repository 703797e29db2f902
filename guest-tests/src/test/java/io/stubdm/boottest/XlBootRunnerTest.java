package io.stubdm.boottest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stubdm.runtime.qmp.QmpCommands;
import io.stubdm.runtime.qmp.QmpServer;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner against a stand-in for xl (a shell script that keeps what it was asked in its directory and, as
 * {@code xl console}, plays a recorded console at speed, as xenconsole would, in raw mode), and a stand-in device
 * model answering x-query-metrics on the QMP socket libxenstat uses.
 */
class XlBootRunnerTest {
    @TempDir
    Path dir;

    private Path fakeXl(String fixture) throws Exception {
        return FakeXl.write(dir, fixture);
    }

    private BootTestOptions options(Path image, Profile profile, Path xl, String vga) {
        return new BootTestOptions(image, profile, BootTestOptions.Placement.DOM0, "e1000", 1024, vga,
                Path.of("/usr/lib/stubdm/bin/stubdm"), 256, "xenbr0", List.of("cpuid = \"host,rdtscp=0\""),
                dir.resolve("out"), "fbsd-test", xl.toString(), dir, Duration.ofSeconds(30));
    }

    private static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    @Test
    void aFreebsdImageBootsToLoginOnAnOverlayWithMetricsAndScreens() throws Exception {
        Path image = Files.write(dir.resolve("FreeBSD-14.1-RELEASE-amd64.raw"), new byte[3 << 20]);
        String before = sha256(image);
        Path xl = fakeXl("freebsd-14.1-serial.txt");
        QmpCommands dm = new QmpCommands().register("x-query-metrics", a -> JsonNodeFactory.instance.objectNode()
                .put("text", "stubdm_disk_bytes_total{device=\"ide0-hd0\",op=\"read\"} 4096.0\n"));
        BootRun run;
        try (QmpServer qmp = new QmpServer(dir.resolve("qmp-libxenstat-7"), dm, "stubdm-test")) {
            run = new XlBootRunner(options(image, Profiles.freebsd(), xl, "stdvga")).run();
        }
        assertTrue(run.outcome().passed(), run.outcome().reason() + "\n" + run.outcome().lastLines(10));
        assertEquals("14.1-RELEASE", run.outcome().milestones().get(1).detail());
        String cfg = Files.readString(dir.resolve("created.cfg"));
        assertTrue(cfg.contains("disk = [ 'format=qcow2,vdev=hda,access=rw,target=" + dir.resolve("out/fbsd-test.overlay.qcow2")
                + "' ]"), cfg);
        assertTrue(cfg.contains("device_model_override = \"/usr/lib/stubdm/bin/stubdm\""));
        assertTrue(cfg.contains("vif = [ 'model=e1000,bridge=xenbr0' ]") && cfg.contains("cpuid = \"host,rdtscp=0\""));
        assertFalse(cfg.contains("stubdomain"), "Dom0 placement");
        List<String> calls = Files.readAllLines(dir.resolve("calls"));
        assertTrue(calls.get(0).startsWith("create -p "), calls.toString());
        assertTrue(calls.contains("unpause fbsd-test") && calls.get(calls.size() - 1).equals("destroy fbsd-test"),
                calls.toString());
        assertEquals("\r", Files.readString(dir.resolve("typed")), "Enter at the loader's countdown, through the pty");
        assertEquals(6, run.screenshots().size(), "one per milestone and one at the end");
        assertTrue(run.metrics().orElseThrow().contains("stubdm_disk_bytes_total"));
        assertEquals(before, sha256(image), "the image is never written");
    }

    @Test
    void aPanickingGuestFailsItsRunAndIsStillDestroyed() throws Exception {
        Path image = Files.write(dir.resolve("bad.img"), new byte[1 << 20]);
        BootRun run = new XlBootRunner(options(image, Profiles.freebsd(), fakeXl("freebsd-14.1-panic.txt"), "none"))
                .run();
        assertFalse(run.outcome().passed());
        assertEquals("rc start-up", run.outcome().firstMissed().name());
        assertTrue(run.metrics().isEmpty(), "no device model answered");
        assertTrue(run.screenshots().isEmpty(), "no VGA, no pictures");
        List<String> calls = Files.readAllLines(dir.resolve("calls"));
        assertEquals("destroy fbsd-test", calls.get(calls.size() - 1));
    }

    @Test
    void anIsoIsAReadOnlyCdromAndACompressedImageIsUnpackedOnce() throws Exception {
        Path iso = Files.write(dir.resolve("OPNsense-24.7-dvd-amd64.iso"), new byte[1 << 20]);
        GuestDisk cd = GuestDisk.prepare(options(iso, Profiles.opnsense(), dir.resolve("xl"), "none"));
        assertEquals("format=raw,vdev=hdc,access=ro,devtype=cdrom,target=" + iso, cd.spec);
        assertEquals("d", cd.boot);

        Path xz = dir.resolve("FreeBSD-14.1-RELEASE-amd64.raw.xz");
        try (var out = new org.tukaani.xz.XZOutputStream(Files.newOutputStream(xz), new org.tukaani.xz.LZMA2Options())) {
            out.write(new byte[2 << 20]);
        }
        Files.createDirectories(dir.resolve("out"));
        try (GuestDisk disk = GuestDisk.prepare(options(xz, Profiles.freebsd(), dir.resolve("xl"), "none"))) {
            assertTrue(disk.spec.startsWith("format=qcow2,vdev=hda,access=rw,target="), disk.spec);
            assertTrue(disk.description.contains("image-cache"), disk.description);
        }

        // A qcow2 image cannot go to a stub domain (block devices only): refused by name, before any device is made.
        Path qcow2 = dir.resolve("base.qcow2");
        io.stubdm.backends.block.Qcow2Overlay.create(qcow2, iso, "raw");
        BootTestOptions dom0 = options(qcow2, Profiles.freebsd(), dir.resolve("xl"), "none");
        BootTestOptions stub = new BootTestOptions(qcow2, dom0.profile(), BootTestOptions.Placement.STUBDOM, "e1000",
                1024, "none", dom0.stubdm(), 256, "xenbr0", List.of(), dom0.outDir(), "q", dom0.xl(), dir,
                Duration.ofSeconds(30));
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> GuestDisk.prepare(stub));
        assertTrue(e.getMessage().contains("base.qcow2 is a qcow2 image"), e.getMessage());
    }
}
