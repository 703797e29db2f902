package io.stubdm.lab;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The proof that matters: real Xen 4.17, nested in qemu-system-x86_64 (TCG), boots Linux HVM guests with an
 * unchanged {@code xl create} whose config points {@code device_model_override} at stubdm, and the same guests
 * with Debian's qemu-xen, in one run. Each guest's init checks what it sees (PCI IDs, the disk's checksum, a
 * ping to Dom0 through the emulated NIC, a line echoed over the serial port) and powers off through ACPI;
 * Dom0 then destroys it and checks that no device-model process is left (guest-tests/lab/README.md).
 *
 * <p>It runs {@code guest-tests/lab/run-lab.sh}, which needs root and Debian's qemu-system-x86, debootstrap and
 * the image tools ({@code scripts/test} installs them). {@code -Dlab.scenarios=...} picks the scenarios;
 * {@code -Dlab.skip=true} leaves the lab out of a quick local run. The lab's whole output is kept in
 * {@code guest-tests/target/lab/lab-output.log}.
 */
class NestedLabBootTest {
    /**
     * The IDE disk as a qcow2 image and the ATAPI CD-ROM (with the standard VGA, whose screendump is read back,
     * and a VNC server, whose picture Dom0's RFB client reads back and through which it types a line the guest must
     * read from its console), with both NICs, each under both device models, and
     * under stubdm a guest that boots from the raw IDE disk with the Cirrus adapter (xl's default; its screen is
     * read back too) and then unplugs its emulated disk and NIC through the platform device (pv). Not the IDE
     * disk with the e1000's iPXE ROM: under nested TCG that pairing triple-faults in syslinux's int13 load now and
     * then, with qemu-xen as with stubdm (guest-tests/lab/README.md, pitfall 13). And a guest whose device model
     * is stubdm in a stub domain of 256 MiB (ide-e1000-smem256@stubdom), with stubdm in Dom0 as the stub domain's
     * console backend: its serial line is read and written through {@code xl console}, and no QEMU process may
     * exist in Dom0 at any point; the raw IDE disk, because a stub domain's disk must be a block device (pitfall 24).
     * A Prometheus server in Dom0 scrapes {@code stubdm exporter} throughout (-prom): for the qcow guest in Dom0
     * placement and the stub-domain guest, its HTTP API must show the guest's disk bytes and NIC frames rising
     * between the guest's init and its power-off, and the device model up. And {@code stubdm boot-test} booting the
     * lab's guest itself in both placements (bt-*): its linux profile's milestones, its JUnit XML and report, its
     * screenshots (with the standard VGA), the image unchanged.
     */
    private static final String DEFAULT_SCENARIOS =
            "qcow-rtl8139-prom@stubdm cd-e1000-stdvga-vnc@stubdm pv-rtl8139-cirrus@stubdm "
                    + "ide-e1000-smem256-prom@stubdom bt-e1000-stdvga@stubdm bt-e1000-smem256@stubdom "
                    + "qcow-rtl8139@qemu cd-e1000-stdvga-vnc@qemu";
    /** What the guest's init writes on its VGA console, and the screendump and the VNC client's picture must show. */
    private static final String VGA_MARKER = "STUBDM-VGA-OK";

    @Test
    void linuxGuestsBootUnderStubdmAndQemuXenSideBySide() throws Exception {
        if (Boolean.getBoolean("lab.skip")) {
            System.out.println("NestedLabBootTest: skipped on request (-Dlab.skip=true)");
            return;
        }
        Path repo = Path.of(System.getProperty("maven.multiModuleProjectDirectory", "..")).toAbsolutePath().normalize();
        Path script = repo.resolve("guest-tests/lab/run-lab.sh");
        Path dist = repo.resolve("stubdom-runtime/target/stubdm/bin/stubdm");
        assertTrue(Files.isExecutable(script), script + " is missing");
        assertTrue(Files.isExecutable(dist), dist + " is missing: the stubdom-runtime module packages it");
        String scenarios = System.getProperty("lab.scenarios", DEFAULT_SCENARIOS);

        Path out = repo.resolve("guest-tests/target/lab");
        Files.createDirectories(out);
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true);
        pb.environment().put("SCENARIOS", scenarios);
        pb.environment().put("STUBDM_DIST", dist.getParent().getParent().toString());
        Path screens = out.resolve("screens");
        pb.environment().put("LAB_SCREENS", screens.toString());
        // CI has 60 minutes for everything: the lab, retries of a crashed nested machine included, gets 48.
        pb.environment().putIfAbsent("LAB_BUDGET", "2900");
        // A healthy guest powers off within 300 s here; a device model that dies ends its scenario at once.
        pb.environment().putIfAbsent("GUEST_TIMEOUT", "720");
        Process lab = pb.start();
        lab.getOutputStream().close();
        List<String> results = new ArrayList<>();
        List<String> table = new ArrayList<>();
        Map<String, String> summaries = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(lab.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter log = new PrintWriter(Files.newBufferedWriter(out.resolve("lab-output.log")))) {
            boolean inTable = false;
            String line;
            while ((line = r.readLine()) != null) {
                log.println(line);
                log.flush();
                String l = line.replace("\r", "");
                // The milestones and the verdicts on the build log; the rest is in lab-output.log.
                if (l.startsWith("STUBDM-LAB") && !l.startsWith("STUBDM-LAB   ") && !l.startsWith("STUBDM-LAB-SCREEN ")) {
                    System.out.println(l);
                }
                if (l.startsWith("STUBDM-LAB-RESULT ")) {
                    results.add(l);
                }
                if (l.startsWith("STUBDM-LAB-SUMMARY ")) {
                    summaries.put(l.split(" ")[1], l);
                }
                if (l.startsWith("measure ")) {
                    inTable = true;
                }
                if (inTable) {
                    table.add(l);
                    System.out.println(l);
                    inTable = !l.startsWith("LAB ");
                }
            }
        }
        assertTrue(lab.waitFor(10, TimeUnit.MINUTES), "run-lab.sh did not end after its output closed");
        String report = String.join("\n", results) + "\n" + String.join("\n", table)
                + "\n(whole output: " + out.resolve("lab-output.log") + ")";
        // stubdm's scenarios must pass. qemu-xen's are the baseline the table compares against: under nested TCG
        // its guests fail now and then for reasons of their own (a busybox that crashed mid-check, once), which
        // is reported here but is not stubdm's failure.
        Map<String, String> screenText = readScreens(scenarios, screens);
        for (String sc : scenarios.trim().split("\\s+")) {
            boolean passed = results.contains("STUBDM-LAB-RESULT " + sc + " PASS");
            if (hasVga(sc)) {
                boolean shown = screenText.getOrDefault(sc, "").contains(VGA_MARKER);
                System.out.println("NestedLabBootTest: " + sc + " screen (in " + screens + "):\n"
                        + screenText.getOrDefault(sc, "(no screendump)"));
                passed &= shown;
            }
            if (sc.contains("-vnc")) {
                String vnc = screenText.getOrDefault(sc + "-vnc", "(no picture from the VNC client)");
                System.out.println("NestedLabBootTest: " + sc + " through VNC:\n" + vnc);
                passed &= vnc.contains(VGA_MARKER);
            }
            if (sc.endsWith("@qemu")) {
                if (!passed || !summaries.containsKey(sc)) {
                    System.out.println("NestedLabBootTest: the qemu-xen baseline " + sc + " did not pass (not a stubdm failure)");
                }
            } else {
                // A bt-* scenario is the harness's run, with its own report instead of the job's summary.
                assertTrue(sc.startsWith("bt-") || summaries.containsKey(sc), "no summary for " + sc + ":\n" + report);
                assertTrue(passed, "scenario " + sc + " did not pass:\n" + report);
            }
        }
    }

    /** Scenarios whose guest has a VGA (the standard VGA or the Cirrus) and so a screendump to read. */
    private static boolean hasVga(String scenario) {
        // bt-*: the boot-test harness takes and checks its own screenshots (Dom0's job checks them).
        return !scenario.startsWith("bt-") && (scenario.contains("-stdvga") || scenario.contains("-cirrus"));
    }

    /** The text of each -stdvga scenario's screendump, read with the font of the host's VGA BIOS. */
    private static Map<String, String> readScreens(String scenarios, Path screens) throws Exception {
        Map<String, String> text = new LinkedHashMap<>();
        Path bios = Path.of("/usr/share/seabios/vgabios-stdvga.bin");
        java.util.Optional<byte[]> font = VgaScreenReader.fontFromVgaBios(bios);
        List<String> names = new ArrayList<>();
        for (String sc : scenarios.trim().split("\\s+")) {
            names.add(sc);
            if (sc.contains("-vnc")) {
                names.add(sc + "-vnc");
            }
        }
        for (String sc : names) {
            Path file = screens.resolve(sc + ".png");
            if (!Files.isReadable(file)) {
                file = screens.resolve(sc + ".ppm.gz");
            }
            if (!hasVga(sc) || !Files.isReadable(file) || font.isEmpty()) {
                continue;
            }
            java.awt.image.BufferedImage image = VgaScreenReader.readImage(file);
            String read = image == null ? null : new VgaScreenReader(font.get()).read(image);
            text.put(sc, read != null ? read : "(not an 80x25 text screen: " + (image == null ? "unreadable"
                    : image.getWidth() + "x" + image.getHeight()) + ")");
        }
        return text;
    }
}
