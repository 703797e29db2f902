package io.stubdm.boottest;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code stubdm boot-test IMAGE [options]}: boots the image with xl and checks its console against a profile;
 * writes the xl config, JUnit XML, a Markdown report, the screenshots and the console into {@code --out}. Exit
 * status 0 when every milestone was reached, 1 when one was missed (the report says which, with the last console
 * lines), 2 for a bad command line.
 */
public final class BootTestCommand {
    static final String USAGE = String.join("\n",
            "usage: stubdm boot-test IMAGE [--profile freebsd|opnsense|linux] [--placement dom0|stubdom]",
            "         [--nic e1000|rtl8139] [--memory MIB] [--vga none|stdvga|cirrus] [--stubdom-memory MIB]",
            "         [--out DIR] [--name NAME] [--bridge BRIDGE] [--timeout-scale F] [--expect MILESTONE=REGEX]",
            "         [--login USER [--password PW] --command CMD --command-expect REGEX] [--xl-config 'key = value']",
            "         [--stubdm PATH] [--xl PATH] [--qmp-dir DIR]",
            "IMAGE: a disk image (.img, .raw, .qcow2) or an ISO, optionally .bz2/.xz/.gz compressed; never modified.");

    private BootTestCommand() {
    }

    /** {@code argv} starts with {@code boot-test}. */
    public static int run(List<String> argv, PrintStream out, PrintStream err) {
        BootTestOptions options;
        try {
            options = parse(argv.subList(1, argv.size()));
        } catch (IllegalArgumentException e) {
            err.println("stubdm boot-test: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        if (options == null) {
            out.println(USAGE);
            return 0;
        }
        BootRun run;
        try {
            run = new XlBootRunner(options).run();
        } catch (IOException e) {
            err.println("stubdm boot-test: " + e.getMessage());
            return 1;
        }
        try {
            BootReports.writeJUnitXml(run, options.outDir().resolve("TEST-boot-test." + options.name() + ".xml"));
            BootReports.writeMarkdown(run, options.outDir().resolve(options.name() + ".md"));
        } catch (IOException e) {
            err.println("stubdm boot-test: cannot write the report: " + e.getMessage());
            return 1;
        }
        BootOutcome o = run.outcome();
        for (BootOutcome.MilestoneResult m : o.milestones()) {
            out.printf(Locale.ROOT, "%-22s %s%s%n", m.name(), m.reached()
                    ? String.format(Locale.ROOT, "%8.1f s", m.seconds().getAsDouble()) : "  MISSED",
                    m.detail().isEmpty() ? "" : "  " + m.detail());
        }
        out.println((o.passed() ? "PASS" : "FAIL") + " " + options.name() + ": " + o.reason() + " (report: "
                + options.outDir().resolve(options.name() + ".md") + ")");
        if (!o.passed()) {
            err.println("last console lines:");
            o.lastLines(BootReports.FAILURE_LINES).forEach(l -> err.printf(Locale.ROOT, "%8.1f  %s%n", l.seconds(), l.text()));
        }
        return o.passed() ? 0 : 1;
    }

    /** The options, or null when only --help was asked for. */
    static BootTestOptions parse(List<String> args) {
        Map<String, String> v = new LinkedHashMap<>();
        List<String> expects = new ArrayList<>();
        List<String> config = new ArrayList<>();
        Path image = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--help") || a.equals("-h")) {
                return null;
            }
            if (!a.startsWith("--")) {
                if (image != null) {
                    throw new IllegalArgumentException("one image only (" + image + ", then " + a + ")");
                }
                image = Path.of(a);
                continue;
            }
            if (i + 1 >= args.size()) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String value = args.get(++i);
            switch (a) {
                case "--expect" -> expects.add(value);
                case "--xl-config" -> config.add(value);
                case "--profile", "--placement", "--nic", "--memory", "--vga", "--stubdom-memory", "--out", "--name",
                        "--bridge", "--timeout-scale", "--login", "--password", "--command", "--command-expect",
                        "--stubdm", "--xl", "--qmp-dir" -> {
                    if (v.put(a, value) != null) {
                        throw new IllegalArgumentException(a + " is given twice");
                    }
                }
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (image == null) {
            throw new IllegalArgumentException("no image given");
        }
        Profile profile = Profiles.named(v.getOrDefault("--profile", "freebsd"));
        profile = Profiles.scaled(profile, number(v.getOrDefault("--timeout-scale", "1"), "--timeout-scale"));
        for (String e : expects) {
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--expect " + e + ": MILESTONE=REGEX");
            }
            try {
                profile = profile.withPattern(e.substring(0, eq), e.substring(eq + 1));
            } catch (java.util.regex.PatternSyntaxException x) {
                throw new IllegalArgumentException("--expect " + e + ": " + x.getDescription());
            }
        }
        if (v.containsKey("--login") != v.containsKey("--command") || v.containsKey("--command") != v.containsKey(
                "--command-expect")) {
            throw new IllegalArgumentException("--login, --command and --command-expect go together");
        }
        if (v.containsKey("--login")) {
            double scale = number(v.getOrDefault("--timeout-scale", "1"), "--timeout-scale");
            profile = Profiles.withLogin(profile, v.get("--login"), v.get("--password"), v.get("--command"),
                    v.get("--command-expect"), Duration.ofMillis(Math.round(120_000 * scale)));
        }
        String base = image.getFileName().toString().replaceAll("\\.(bz2|xz|gz)$", "").replaceAll("\\.[^.]*$", "");
        String name = v.getOrDefault("--name", ("bt-" + base.replaceAll("[^A-Za-z0-9_.-]", "-") + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HHmmss"))));
        if (name.length() > 41) {
            name = name.substring(0, 34) + name.substring(name.length() - 7);
        }
        Path out = Path.of(v.getOrDefault("--out", "boot-test-" + name));
        return new BootTestOptions(image, profile, BootTestOptions.Placement.parse(v.getOrDefault("--placement", "dom0")),
                v.getOrDefault("--nic", "e1000"), (int) integer(v.getOrDefault("--memory", "1024"), "--memory"),
                v.getOrDefault("--vga", "none"), Path.of(v.getOrDefault("--stubdm", defaultStubdm())),
                (int) integer(v.getOrDefault("--stubdom-memory", "256"), "--stubdom-memory"),
                v.getOrDefault("--bridge", "xenbr0"), config, out, name, v.getOrDefault("--xl", "xl"),
                Path.of(v.getOrDefault("--qmp-dir", "/var/run/xen")), Duration.ofSeconds(180));
    }

    /** This installation's own launcher ({@code stubdm.home} is set by bin/stubdm), else where the README installs it. */
    private static String defaultStubdm() {
        String home = System.getProperty("stubdm.home");
        if (home != null && Files.isExecutable(Path.of(home, "bin", "stubdm"))) {
            return Path.of(home, "bin", "stubdm").toAbsolutePath().normalize().toString();
        }
        return "/usr/lib/stubdm/bin/stubdm";
    }

    private static long integer(String s, String option) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + s + ": not a whole number");
        }
    }

    private static double number(String s, String option) {
        try {
            double d = Double.parseDouble(s);
            if (!(d > 0) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + s + ": a positive number");
        }
    }
}
