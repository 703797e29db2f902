package io.stubdm.boottest;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.opentest4j.AssertionFailedError;

/**
 * Runs a {@link BootTest}'s boot before the test method, with the engine {@code stubdm boot-test} uses, and writes
 * the same reports (into {@code target/boot-tests/<test>/} unless the annotation says otherwise). A method that takes
 * a {@link BootRun} gets it and judges it itself; for one that does not, a missed milestone fails the test with
 * the milestone's name, the reason and the last console lines.
 */
public final class BootTestExtension implements BeforeEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(BootTestExtension.class);
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z0-9_.]+)}");

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        Method method = context.getRequiredTestMethod();
        BootTest bt = method.getAnnotation(BootTest.class);
        if (bt == null) {
            return;
        }
        String name = (context.getRequiredTestClass().getSimpleName() + "-" + method.getName())
                .replaceAll("[^A-Za-z0-9_.-]", "-");
        BootTestOptions options = BootTestCommand.parse(arguments(bt, name));
        BootRun run = new XlBootRunner(options).run();
        BootReports.writeJUnitXml(run, options.outDir().resolve("TEST-boot-test." + options.name() + ".xml"));
        BootReports.writeMarkdown(run, options.outDir().resolve(options.name() + ".md"));
        context.getStore(NS).put(method, run);
        boolean judgesItself = List.of(method.getParameterTypes()).contains(BootRun.class);
        if (!judgesItself && !run.outcome().passed()) {
            StringBuilder msg = new StringBuilder();
            BootOutcome.MilestoneResult missed = run.outcome().firstMissed();
            msg.append(missed == null ? "boot failed" : "missed milestone '" + missed.name() + "'").append(": ")
                    .append(run.outcome().reason()).append("\nlast console lines:\n");
            run.outcome().lastLines(BootReports.FAILURE_LINES).forEach(l -> msg.append("  ").append(l.text()).append('\n'));
            msg.append("report: ").append(options.outDir().resolve(options.name() + ".md"));
            throw new AssertionFailedError(msg.toString());
        }
    }

    /** The annotation as {@code stubdm boot-test}'s command line, variables expanded. */
    static List<String> arguments(BootTest bt, String name) {
        List<String> a = new ArrayList<>(List.of(expand(bt.image()), "--profile", bt.profile(), "--placement",
                bt.placement(), "--nic", bt.nic(), "--memory", Integer.toString(bt.memory()), "--vga", bt.vga(),
                "--timeout-scale", Double.toString(bt.timeoutScale()), "--name", name,
                "--out", bt.out().isEmpty() ? "target/boot-tests/" + name : expand(bt.out())));
        for (String e : bt.expect()) {
            a.addAll(List.of("--expect", expand(e)));
        }
        for (String c : bt.xlConfig()) {
            a.addAll(List.of("--xl-config", expand(c)));
        }
        if (!bt.login().isEmpty()) {
            a.addAll(List.of("--login", expand(bt.login()), "--command", expand(bt.command()), "--command-expect",
                    bt.commandExpect()));
            if (!bt.password().isEmpty()) {
                a.addAll(List.of("--password", expand(bt.password())));
            }
        }
        if (!bt.stubdm().isEmpty()) {
            a.addAll(List.of("--stubdm", expand(bt.stubdm())));
        }
        if (!bt.xl().isEmpty()) {
            a.addAll(List.of("--xl", expand(bt.xl())));
        }
        if (!bt.qmpDir().isEmpty()) {
            a.addAll(List.of("--qmp-dir", expand(bt.qmpDir())));
        }
        return a;
    }

    /** {@code ${NAME}}: a system property, else an environment variable; an unset one is an error. */
    static String expand(String s) {
        Matcher m = VARIABLE.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = System.getProperty(m.group(1), System.getenv(m.group(1)));
            if (v == null) {
                throw new IllegalArgumentException("@BootTest: ${" + m.group(1) + "} is set neither as a system "
                        + "property nor in the environment");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        return m.appendTail(out).toString();
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == BootRun.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        Object run = e.getStore(NS).get(e.getRequiredTestMethod());
        if (run == null) {
            throw new ParameterResolutionException("a BootRun parameter needs @BootTest on the method");
        }
        return run;
    }
}
