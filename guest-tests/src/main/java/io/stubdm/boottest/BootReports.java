package io.stubdm.boottest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * A boot test's results as files: JUnit XML (one test case per milestone, as CI systems read it) and a Markdown
 * report for people (the verdict, each milestone's time, the screenshots, the device model's metrics for disk,
 * NIC, serial and ioreqs, and the console transcript).
 */
public final class BootReports {
    /** Console lines a failure message carries. */
    static final int FAILURE_LINES = 20;

    private BootReports() {
    }

    public static void writeJUnitXml(BootRun run, Path file) throws IOException {
        Files.writeString(file, junitXml(run), StandardCharsets.UTF_8);
    }

    public static void writeMarkdown(BootRun run, Path file) throws IOException {
        Files.writeString(file, markdown(run, file.getParent()), StandardCharsets.UTF_8);
    }

    static String junitXml(BootRun run) {
        BootOutcome o = run.outcome();
        long failures = o.milestones().stream().filter(m -> !m.reached()).count();
        StringBuilder x = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.append("<testsuite name=\"").append(attr("boot-test." + run.name())).append("\" tests=\"")
                .append(o.milestones().size()).append("\" failures=\"").append(failures)
                .append("\" errors=\"0\" skipped=\"0\" time=\"").append(seconds(run.seconds()))
                .append("\" timestamp=\"").append(DateTimeFormatter.ISO_LOCAL_DATE_TIME
                        .format(run.started().atOffset(ZoneOffset.UTC).withNano(0))).append("\">\n");
        x.append("  <properties>\n");
        property(x, "image", run.image().toString());
        property(x, "profile", o.profile());
        property(x, "placement", run.placement());
        property(x, "nic", run.nic());
        property(x, "memory_mib", Integer.toString(run.memoryMiB()));
        property(x, "verdict", (o.passed() ? "PASS: " : "FAIL: ") + o.reason());
        x.append("  </properties>\n");
        double previous = 0;
        boolean firstMiss = true;
        for (BootOutcome.MilestoneResult m : o.milestones()) {
            x.append("  <testcase classname=\"").append(attr("boot-test." + run.name())).append("\" name=\"")
                    .append(attr(m.name())).append("\" time=\"");
            if (m.reached()) {
                x.append(seconds(m.seconds().getAsDouble() - previous)).append("\"/>\n");
                previous = m.seconds().getAsDouble();
                continue;
            }
            x.append("0\">\n    <failure message=\"").append(attr(firstMiss ? o.reason() : "not reached"))
                    .append("\" type=\"milestone\">");
            if (firstMiss) {
                x.append(text("last console lines:\n" + lines(o.lastLines(FAILURE_LINES))));
            }
            x.append("</failure>\n  </testcase>\n");
            firstMiss = false;
        }
        x.append("  <system-out>").append(text(lines(o.transcript()))).append("</system-out>\n");
        x.append("</testsuite>\n");
        return x.toString();
    }

    static String markdown(BootRun run, Path reportDir) {
        BootOutcome o = run.outcome();
        StringBuilder m = new StringBuilder();
        m.append("# Boot test ").append(run.name()).append(": ").append(o.passed() ? "PASS" : "FAIL").append("\n\n");
        m.append(o.passed() ? "" : "**" + md(o.reason()) + "**\n\n");
        m.append("| | |\n|---|---|\n");
        m.append("| image | `").append(run.image()).append("` (booted from a copy-on-write overlay) |\n");
        m.append("| profile | ").append(o.profile()).append(" |\n");
        m.append("| placement | ").append(run.placement()).append(" |\n");
        m.append("| NIC, memory | ").append(run.nic()).append(", ").append(run.memoryMiB()).append(" MiB |\n");
        m.append("| started | ").append(run.started()).append(" |\n");
        m.append("| took | ").append(seconds(run.seconds())).append(" s |\n\n");
        m.append("## Milestones\n\n| milestone | seen at | detail | timeout |\n|---|---|---|---|\n");
        for (BootOutcome.MilestoneResult r : o.milestones()) {
            m.append("| ").append(md(r.name())).append(" | ")
                    .append(r.reached() ? String.format(Locale.ROOT, "%.1f s", r.seconds().getAsDouble()) : "**missed**")
                    .append(" | ").append(md(r.detail())).append(" | ")
                    .append(String.format(Locale.ROOT, "%.0f s", r.timeoutSeconds())).append(" |\n");
        }
        if (!run.screenshots().isEmpty()) {
            m.append("\n## Screen\n\n");
            for (BootRun.Screenshot s : run.screenshots()) {
                Path shown = reportDir == null ? s.file() : reportDir.relativize(s.file().toAbsolutePath());
                m.append("![").append(md(s.milestone())).append("](").append(shown).append(")\n\n");
            }
        }
        m.append("\n## Device model metrics at the end\n\n");
        if (run.metrics().isPresent()) {
            m.append("```\n");
            for (String line : run.metrics().get().split("\n")) {
                if (line.startsWith("stubdm_disk_") || line.startsWith("stubdm_nic_") || line.startsWith("stubdm_serial_")
                        || line.startsWith("stubdm_ioreqs_total") || line.startsWith("stubdm_unplug_")
                        || line.startsWith("process_uptime")) {
                    m.append(line).append('\n');
                }
            }
            m.append("```\n");
        } else {
            m.append("(not available: the device model did not answer x-query-metrics)\n");
        }
        if (!o.passed()) {
            m.append("\n## Last console lines\n\n```\n").append(fence(lines(o.lastLines(FAILURE_LINES)))).append("```\n");
        }
        m.append("\n## Console\n\n```\n").append(fence(lines(o.transcript()))).append("```\n");
        return m.toString();
    }

    private static void property(StringBuilder x, String name, String value) {
        x.append("    <property name=\"").append(attr(name)).append("\" value=\"").append(attr(value)).append("\"/>\n");
    }

    private static String lines(List<BootOutcome.ConsoleLine> lines) {
        StringBuilder b = new StringBuilder();
        for (BootOutcome.ConsoleLine l : lines) {
            b.append(String.format(Locale.ROOT, "%8.1f  ", l.seconds())).append(l.text()).append('\n');
        }
        return b.toString();
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.3f", s);
    }

    /** XML attribute text: escaped, and without the control characters XML 1.0 cannot hold. */
    static String attr(String s) {
        return text(s).replace("\"", "&quot;").replace("\n", "&#10;");
    }

    static String text(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&': b.append("&amp;"); break;
                case '<': b.append("&lt;"); break;
                case '>': b.append("&gt;"); break;
                default:
                    if (c < 0x20 && c != '\n' && c != '\t' || c == 0xfffe || c == 0xffff) {
                        b.append('?');
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.toString();
    }

    /** Markdown table cell text. */
    private static String md(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }

    /** A console line that is itself a code fence would end the block early. */
    private static String fence(String s) {
        return s.replace("```", "`\u200b``");
    }
}
