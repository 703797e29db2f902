package io.stubdm.boottest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class BootReportsTest {
    @TempDir
    Path dir;

    private static BootRun run(String fixture, Profile profile, Optional<String> metrics) throws Exception {
        List<String> typed = new ArrayList<>();
        ConsoleTracker t = new ConsoleTracker(profile, typed::add, 0);
        long end = Transcripts.replay(t, Transcripts.load(fixture));
        return new BootRun("freebsd-em0", Path.of("/srv/images/FreeBSD-14.1-RELEASE-amd64.raw"), "stubdom", "e1000",
                1024, Instant.parse("2026-12-03T09:00:00Z"), end / 1e9, t.outcome(),
                List.of(new BootRun.Screenshot("login", Path.of("/tmp/x/login.png"))), metrics);
    }

    private static Document parse(String xml) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aPassingBootIsOneTestCasePerMilestoneWithNoFailure() throws Exception {
        BootRun r = run("freebsd-14.1-serial.txt", Profiles.freebsd(),
                Optional.of("# HELP x\nstubdm_disk_bytes_total{device=\"ide0-hd0\",op=\"read\"} 1.2E7\njvm_x 1\n"));
        Path xml = dir.resolve("TEST-boot.xml");
        BootReports.writeJUnitXml(r, xml);
        Element suite = parse(Files.readString(xml)).getDocumentElement();
        assertEquals("testsuite", suite.getTagName());
        assertEquals("5", suite.getAttribute("tests"));
        assertEquals("0", suite.getAttribute("failures"));
        NodeList cases = suite.getElementsByTagName("testcase");
        assertEquals("boot loader", ((Element) cases.item(0)).getAttribute("name"));
        assertEquals("6.600", ((Element) cases.item(1)).getAttribute("time"), "kernel banner 6.6 s after the loader");
        assertTrue(((Element) suite.getElementsByTagName("system-out").item(0)).getTextContent()
                .contains("FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64"));

        Path md = dir.resolve("report.md");
        BootReports.writeMarkdown(r, md);
        String text = Files.readString(md);
        assertTrue(text.startsWith("# Boot test freebsd-em0: PASS"), text);
        assertTrue(text.contains("| kernel banner | 7.7 s | 14.1-RELEASE | 180 s |"), text);
        assertTrue(text.contains("stubdm_disk_bytes_total{device=\"ide0-hd0\",op=\"read\"} 1.2E7"), text);
        assertTrue(!text.contains("jvm_x"), "only the device metrics a reader needs");
        assertTrue(text.contains("![login](" + dir.relativize(Path.of("/tmp/x/login.png")) + ")"),
                "screenshots are linked relative to the report: " + text);
    }

    @Test
    void aFailedBootSaysWhichMilestoneAndShowsTheLastLines() throws Exception {
        BootRun r = run("freebsd-14.1-panic.txt", Profiles.freebsd(), Optional.empty());
        Document d = parse(BootReports.junitXml(r));
        Element suite = d.getDocumentElement();
        assertEquals("2", suite.getAttribute("failures"), "rc start-up and login are not reached");
        NodeList failures = suite.getElementsByTagName("failure");
        Element first = (Element) failures.item(0);
        assertEquals("kernel panic: Fatal trap 12: page fault while in kernel mode", first.getAttribute("message"));
        assertEquals("rc start-up", ((Element) first.getParentNode()).getAttribute("name"));
        assertTrue(first.getTextContent().contains("panic: page fault"), first.getTextContent());
        assertEquals("not reached", ((Element) failures.item(1)).getAttribute("message"));

        String md = BootReports.markdown(r, null);
        assertTrue(md.contains("# Boot test freebsd-em0: FAIL"));
        assertTrue(md.contains("| rc start-up | **missed** |"), md);
        assertTrue(md.contains("## Last console lines"));
        assertTrue(md.contains("did not answer x-query-metrics"));
    }

    @Test
    void whateverTheGuestPrintsTheXmlStaysWellFormed() throws Exception {
        ConsoleTracker t = new ConsoleTracker(Profiles.linux(), k -> { }, 0);
        t.feed("Linux version 6.1 <&\"evil\"> \u0001\u0007]]>\r\n```\r\n", 1_000_000_000L);
        t.consoleClosed(2_000_000_000L);
        BootRun r = new BootRun("x", Path.of("a&b.img"), "dom0", "rtl8139", 256, Instant.EPOCH, 2, t.outcome(),
                List.of(), Optional.empty());
        Document d = parse(BootReports.junitXml(r));
        // The tracker keeps no control characters; the XML writer would replace any that reached it.
        assertTrue(d.getDocumentElement().getElementsByTagName("system-out").item(0).getTextContent()
                .contains("Linux version 6.1 <&\"evil\"> ]]>"));
        assertEquals("a?b&lt;", BootReports.text("a\u0001b<"));
    }
}
