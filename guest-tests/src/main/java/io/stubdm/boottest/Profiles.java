package io.stubdm.boottest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The built-in profiles, by name: {@code freebsd}, {@code opnsense} and {@code linux}, with timeouts for a real
 * host (a {@link #scaled} copy serves slower machines, such as the nested lab's emulated CPU).
 *
 * <p>The patterns follow what these systems print on a serial console (FreeBSD's boot(8), loader(8) and rc(8),
 * OPNsense's rc scripts and console banner, Linux's printk): the loader's banner, the kernel's copyright and
 * version lines, "Trying to mount root from", rc's "Starting ..." lines, the getty's "login:".
 */
public final class Profiles {
    private static final String LOADER = "FreeBSD/x86 bootstrap loader|BTX loader|^Consoles: ";
    /** "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64"; the capture is the release. */
    private static final String FREEBSD_KERNEL = "^FreeBSD (\\d+\\.\\d+-[A-Z0-9]+(?:-p\\d+)?)\\s.*\\b(?:amd64|i386|arm64)\\s*$";
    private static final String ROOT = "^Trying to mount root from (\\S+)";
    private static final String LOGIN = "login: *$";
    private static final List<FailureSign> FREEBSD_FAILURES = List.of(
            FailureSign.of("kernel panic", "^panic: .*|Fatal trap \\d+: .*"),
            FailureSign.of("root file system not found", "^mountroot> *$"),
            FailureSign.of("kernel debugger", "^db> *$|KDB: enter: .*"),
            FailureSign.of("loader gave up", "^can't load 'kernel'|^OK *$"));
    /** The loader's countdown: Enter boots at once (10 s of waiting saved per boot). */
    private static final PromptAnswer AUTOBOOT = PromptAnswer.of("loader autoboot", "Autoboot in \\d+ seconds", "\r", 1);

    private Profiles() {
    }

    public static List<String> names() {
        return List.of("freebsd", "opnsense", "linux");
    }

    public static Profile named(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "freebsd":
                return freebsd();
            case "opnsense":
                return opnsense();
            case "linux":
                return linux();
            default:
                throw new IllegalArgumentException("no profile " + name + " (" + String.join(", ", names()) + ")");
        }
    }

    /** FreeBSD from a release image: loader, kernel banner with its version, root mounted, rc, login. */
    public static Profile freebsd() {
        return new Profile("freebsd", List.of(
                Milestone.of("boot loader", LOADER, Duration.ofSeconds(120)),
                Milestone.of("kernel banner", FREEBSD_KERNEL, Duration.ofSeconds(180)),
                Milestone.of("root mounted", ROOT, Duration.ofSeconds(300)),
                Milestone.of("rc start-up", "^(?:Starting (?:devd|syslogd|cron|sshd|dhclient)|Setting hostname|"
                        + "Mounting local filesystems)", Duration.ofSeconds(300)),
                Milestone.prompt("login", LOGIN, Duration.ofSeconds(300))),
                List.of(AUTOBOOT), FREEBSD_FAILURES, Optional.empty());
    }

    /**
     * OPNsense (its serial or nano image, or the installer): the FreeBSD loader and kernel under it, its rc's
     * "&gt;&gt;&gt; Invoking ... script" lines, its "*** host: OPNsense version ***" banner, then the console menu or
     * the login prompt.
     */
    public static Profile opnsense() {
        return new Profile("opnsense", List.of(
                Milestone.of("boot loader", LOADER + "|OPNsense", Duration.ofSeconds(120)),
                Milestone.of("kernel banner", FREEBSD_KERNEL, Duration.ofSeconds(180)),
                Milestone.of("root mounted", ROOT, Duration.ofSeconds(300)),
                Milestone.of("OPNsense start-up", "^>>> Invoking (?:early|start|backend) script|"
                        + "^Configuring system logging", Duration.ofSeconds(300)),
                Milestone.of("OPNsense banner", "^\\*\\*\\* \\S+: (OPNsense [0-9][^*]*?) \\*\\*\\*", Duration.ofSeconds(600)),
                Milestone.prompt("menu or login", LOGIN + "|Enter an option: *$", Duration.ofSeconds(300))),
                List.of(AUTOBOOT), FREEBSD_FAILURES, Optional.empty());
    }

    /** Linux: the kernel's banner with its version, then init (or systemd's welcome). */
    public static Profile linux() {
        return new Profile("linux", List.of(
                Milestone.of("kernel banner", "Linux version (\\S+)", Duration.ofSeconds(300)),
                Milestone.of("init", "Run (/\\S+) as init process|Welcome to (.+)!|^(?:INIT: version|Starting init)",
                        Duration.ofSeconds(120))),
                List.of(), List.of(FailureSign.of("kernel panic", "Kernel panic - not syncing: .*")), Optional.empty());
    }

    /** The same profile with every timeout multiplied by {@code factor} (an emulated CPU boots 10-50 times slower). */
    public static Profile scaled(Profile p, double factor) {
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("timeout scale must be a positive number, not " + factor);
        }
        List<Milestone> ms = new ArrayList<>();
        for (Milestone m : p.milestones()) {
            ms.add(scaled(m, factor));
        }
        Optional<Profile.AfterLogin> after = p.afterLogin().map(a -> new Profile.AfterLogin(a.steps(),
                scaled(a.expect(), factor)));
        return new Profile(p.name(), ms, p.answers(), p.failures(), after);
    }

    private static Milestone scaled(Milestone m, double factor) {
        return new Milestone(m.name(), m.pattern(), Duration.ofMillis(Math.round(m.timeout().toMillis() * factor)),
                m.prompt());
    }

    /**
     * After the last milestone (a login prompt): log in as {@code user} (with {@code password} when not null), run
     * {@code command} at the shell's prompt, and expect {@code expect} in what it prints, within {@code timeout}.
     * OPNsense's root login opens its console menu, where option 8 is the shell.
     */
    public static Profile withLogin(Profile p, String user, String password, String command, String expect,
            Duration timeout) {
        List<Profile.Step> steps = new ArrayList<>();
        steps.add(Profile.Step.now(user + "\r"));
        if (password != null) {
            steps.add(Profile.Step.at("[Pp]assword: *$", password + "\r"));
        }
        if (p.name().equals("opnsense")) {
            steps.add(Profile.Step.at("Enter an option: *$", "8\r"));
        }
        steps.add(Profile.Step.at("[#$%>] *$", command + "\r"));
        Milestone result = new Milestone("command: " + command, Pattern.compile(expect), timeout, false);
        return p.withAfterLogin(new Profile.AfterLogin(steps, result));
    }
}
