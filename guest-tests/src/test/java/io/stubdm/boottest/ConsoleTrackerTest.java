package io.stubdm.boottest;

import static io.stubdm.boottest.Transcripts.SECOND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The built-in profiles against recorded consoles: boots that reach every milestone, and boots that do not. */
class ConsoleTrackerTest {
    private final List<String> typed = new ArrayList<>();

    private ConsoleTracker tracker(Profile p) {
        return new ConsoleTracker(p, typed::add, 0);
    }

    private static double at(BootOutcome o, String milestone) {
        return o.milestones().stream().filter(m -> m.name().equals(milestone)).findFirst().orElseThrow()
                .seconds().orElse(-1);
    }

    private static String detail(BootOutcome o, String milestone) {
        return o.milestones().stream().filter(m -> m.name().equals(milestone)).findFirst().orElseThrow().detail();
    }

    @Test
    void freebsdReachesLoginAndTheLoaderCountdownIsCutShort() throws Exception {
        ConsoleTracker t = tracker(Profiles.freebsd());
        Transcripts.replay(t, Transcripts.load("freebsd-14.1-serial.txt"));
        BootOutcome o = t.outcome();
        assertTrue(o.passed(), o.reason());
        assertEquals(1.1, at(o, "boot loader"));
        assertEquals(7.7, at(o, "kernel banner"));
        assertEquals("14.1-RELEASE", detail(o, "kernel banner"));
        assertEquals("ufs:/dev/gpt/rootfs", detail(o, "root mounted"));
        assertEquals(11.6, at(o, "rc start-up"), "Mounting local filesystems: the first rc line the profile knows");
        assertEquals(17.5, at(o, "login"), "the prompt counts without its newline");
        assertEquals(List.of("\r"), typed, "Enter at the first countdown line only");
        assertTrue(o.transcript().stream().anyMatch(l -> l.text().equals("FreeBSD/amd64 (freebsd) (ttyu0)")));
        assertFalse(o.transcript().stream().anyMatch(l -> l.text().contains("\u001b")), "escape sequences are gone");
    }

    @Test
    void afterLoginACommandRunsAndItsOutputIsTheLastMilestone() throws Exception {
        Profile p = Profiles.withLogin(Profiles.freebsd(), "root", null, "uname -a", "^FreeBSD \\S+ (14\\.1-RELEASE)",
                Duration.ofSeconds(60));
        ConsoleTracker t = tracker(p);
        Transcripts.replay(t, Transcripts.load("freebsd-14.1-serial.txt", "freebsd-14.1-login-uname.txt"));
        BootOutcome o = t.outcome();
        assertTrue(o.passed(), o.reason());
        assertEquals(List.of("\r", "root\r", "uname -a\r"), typed);
        assertEquals(19.1, at(o, "command: uname -a"));
        assertEquals("14.1-RELEASE", detail(o, "command: uname -a"));
    }

    @Test
    void aKernelPanicEndsTheBootAtOnceWithTheLinesBeforeIt() throws Exception {
        ConsoleTracker t = tracker(Profiles.freebsd());
        Transcripts.replay(t, Transcripts.load("freebsd-14.1-panic.txt"));
        BootOutcome o = t.outcome();
        assertFalse(o.passed());
        assertEquals("kernel panic: Fatal trap 12: page fault while in kernel mode", o.reason());
        assertEquals(10.1, at(o, "root mounted"));
        assertEquals("rc start-up", o.firstMissed().name());
        assertTrue(t.done());
        assertTrue(o.lastLines(3).stream().anyMatch(l -> l.text().startsWith("KDB: stack backtrace")));
    }

    @Test
    void theMountrootPromptIsAFailureNotAWait() throws Exception {
        ConsoleTracker t = tracker(Profiles.freebsd());
        long end = Transcripts.replay(t, Transcripts.load("freebsd-14.1-mountroot.txt"));
        BootOutcome o = t.outcome();
        assertFalse(o.passed());
        assertTrue(o.reason().startsWith("root file system not found"), o.reason());
        assertEquals(13.6 * SECOND, end, 1);
    }

    @Test
    void aHangBeforeLoginMissesLoginWhenItsTimeIsUp() throws Exception {
        ConsoleTracker t = tracker(Profiles.freebsd());
        Transcripts.replay(t, Transcripts.load("freebsd-14.1-hang.txt"));
        t.tick(311 * SECOND);
        assertFalse(t.done(), "300 s from rc start-up (11.6 s) are not over at 311 s");
        t.tick(313 * SECOND);
        BootOutcome o = t.outcome();
        assertTrue(t.done());
        assertFalse(o.passed());
        assertEquals("login not seen within 300 s of rc start-up", o.reason());
        assertEquals("login", o.firstMissed().name());
        assertTrue(o.lastLines(1).get(0).text().startsWith("DHCPDISCOVER on em0"));
    }

    @Test
    void opnsenseShowsItsBannerWithVersionThenLogin() throws Exception {
        ConsoleTracker t = tracker(Profiles.opnsense());
        Transcripts.replay(t, Transcripts.load("opnsense-24.7-serial.txt"));
        BootOutcome o = t.outcome();
        assertTrue(o.passed(), o.reason());
        assertEquals("14.1-RELEASE-p5", detail(o, "kernel banner"));
        assertEquals(9.0, at(o, "OPNsense start-up"));
        assertEquals("OPNsense 24.7 (amd64)", detail(o, "OPNsense banner"));
        assertEquals(19.8, at(o, "menu or login"));
    }

    @Test
    void theLabsLinuxGuestWithItsOwnInitLine() throws Exception {
        Profile p = Profiles.scaled(Profiles.linux(), 2).withPattern("init", "STUBDM-CHECK (init)");
        ConsoleTracker t = tracker(p);
        Transcripts.replay(t, Transcripts.load("linux-lab.txt"));
        BootOutcome o = t.outcome();
        assertTrue(o.passed(), o.reason());
        assertEquals("6.1.0-57-amd64", detail(o, "kernel banner"));
        assertEquals(242.6, at(o, "init"));

        // Unscaled, the real-host timeout of 300 s to the kernel banner is too short for the emulated machine.
        ConsoleTracker strict = tracker(Profiles.linux().withPattern("init", "STUBDM-CHECK (init)"));
        Transcripts.replay(strict, Transcripts.load("linux-lab.txt"));
        assertTrue(strict.outcome().passed(), "229.7 s is within 300 s");
        ConsoleTracker tight = tracker(Profiles.scaled(Profiles.linux(), 0.5));
        Transcripts.replay(tight, Transcripts.load("linux-lab.txt"));
        assertEquals("kernel banner not seen within 150 s of the start", tight.outcome().reason());
    }

    @Test
    void escapeSequencesSplitAcrossReadsAndTheConsoleClosingEarly() {
        ConsoleTracker t = tracker(Profiles.opnsense());
        t.feed("Consoles: internal video/keyboard  serial port\r\n\u001b[0", SECOND);
        t.feed(";1mFreeBSD 14.1-RELEASE-p5 stable/24.7-n267758-9c7c5d4ec7e SMP amd64\u001b[0m\r\n", 2 * SECOND);
        BootOutcome mid = t.outcome();
        assertEquals("14.1-RELEASE-p5", detail(mid, "kernel banner"));
        t.consoleClosed(3 * SECOND);
        BootOutcome o = t.outcome();
        assertFalse(o.passed());
        assertEquals("the console closed before root mounted (after 3.0 s)", o.reason());
    }

    @Test
    void aGuestThatNeverEndsALineCannotGrowTheTracker() {
        ConsoleTracker t = tracker(Profiles.freebsd());
        String junk = "x".repeat(10_000);
        for (int i = 0; i < 100; i++) {
            t.feed(junk, i);
        }
        assertTrue(t.outcome().transcript().get(0).text().length() <= 4096);
    }
}
