package io.stubdm.boottest;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Follows a guest's serial console through a {@link Profile}: the text as it arrives (feed), the passing of time
 * (tick), and the console's end. It answers the profile's prompts through a keyboard, records when each milestone
 * shows, and ends the boot as failed at the first failure sign, the first milestone that misses its timeout, or a
 * console that closes early. Not thread-safe: one thread feeds it, as the harness's console reader does.
 *
 * <p>Console text is cleaned as a terminal would show it: ANSI escape sequences (OPNsense's colours, the loader's
 * cursor moves) are dropped, a carriage return ends a line (the loader's countdown rewrites its line this way),
 * and a backspace removes the character before it.
 */
public final class ConsoleTracker {
    private static final Pattern ANSI = Pattern.compile("\\u001b(\\[[0-?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78cDEHMNOPZ])");
    private static final double NANOS = 1e9;
    /** Longest unfinished line kept: a guest that prints without newlines cannot grow the tracker for ever. */
    private static final int MAX_PARTIAL = 4096;

    private final Profile profile;
    private final Consumer<String> keyboard;
    private final long start;
    private final List<BootOutcome.ConsoleLine> lines = new ArrayList<>();
    private final StringBuilder partial = new StringBuilder();
    private long partialStart;
    private String pendingEscape = "";
    private final List<BootOutcome.MilestoneResult> results = new ArrayList<>();
    private final List<Milestone> all;
    private int next;
    private long lastReached;
    /** Where the current milestone's search starts: a line index (lines.size() = the partial line) and a column. */
    private final Cursor milestoneCursor = new Cursor();
    private final Cursor[] answerCursors;
    private final int[] answered;
    private final Cursor failureCursor = new Cursor();
    private final Cursor stepCursor = new Cursor();
    /** The line of the last match {@link #find} returned. */
    private int lastLine;
    private int step;
    private boolean done;
    private boolean passed;
    private String reason = "";

    private static final class Cursor {
        int line;
        int col;
    }

    public ConsoleTracker(Profile profile, Consumer<String> keyboard, long startNanos) {
        this.profile = profile;
        this.keyboard = keyboard;
        this.start = startNanos;
        this.lastReached = startNanos;
        this.partialStart = startNanos;
        all = new ArrayList<>(profile.milestones());
        profile.afterLogin().ifPresent(a -> all.add(a.expect()));
        answerCursors = new Cursor[profile.answers().size()];
        for (int i = 0; i < answerCursors.length; i++) {
            answerCursors[i] = new Cursor();
        }
        answered = new int[answerCursors.length];
    }

    /** Console text that arrived at {@code nowNanos}. */
    public void feed(CharSequence text, long nowNanos) {
        String s = ANSI.matcher(pendingEscape + text).replaceAll("");
        pendingEscape = "";
        int esc = s.lastIndexOf('\u001b');
        if (esc >= 0 && s.length() - esc < 16) {
            // An escape sequence cut in two by the read: keep its start for the next piece.
            pendingEscape = s.substring(esc);
            s = s.substring(0, esc);
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r') {
                if (c == '\n' && i > 0 && s.charAt(i - 1) == '\r') {
                    continue; // CR LF is one line end
                }
                endLine();
                partialStart = nowNanos;
            } else if (c == '\b') {
                if (partial.length() > 0) {
                    partial.setLength(partial.length() - 1);
                }
            } else if (c >= ' ' || c == '\t') {
                if (partial.length() == 0) {
                    partialStart = nowNanos;
                }
                if (partial.length() < MAX_PARTIAL) {
                    partial.append(c);
                }
            }
        }
        scan(nowNanos);
    }

    private void endLine() {
        lines.add(new BootOutcome.ConsoleLine(seconds(partialStart), partial.toString()));
        partial.setLength(0);
    }

    /** Time has passed: ends the boot when the current milestone's time is up. */
    public void tick(long nowNanos) {
        if (done) {
            return;
        }
        Milestone m = all.get(next);
        if (nowNanos - lastReached > m.timeout().toNanos()) {
            fail(String.format("%s not seen within %.0f s of %s", m.name(), m.timeout().toSeconds() * 1.0,
                    next == 0 ? "the start" : all.get(next - 1).name()));
        }
    }

    /** The console ended (the guest is gone, or the console's reader failed). */
    public void consoleClosed(long nowNanos) {
        if (partial.length() > 0) {
            endLine();
        }
        if (!done) {
            fail("the console closed before " + all.get(next).name() + (why(nowNanos)));
        }
    }

    private String why(long nowNanos) {
        return String.format(" (after %.1f s)", seconds(nowNanos));
    }

    public boolean done() {
        return done;
    }

    /** The milestones reached so far, in order (cheap: no transcript copy, unlike {@link #outcome()}). */
    public List<BootOutcome.MilestoneResult> reached() {
        return List.copyOf(results);
    }

    public BootOutcome outcome() {
        List<BootOutcome.MilestoneResult> out = new ArrayList<>(results);
        for (int i = results.size(); i < all.size(); i++) {
            Milestone m = all.get(i);
            out.add(new BootOutcome.MilestoneResult(m.name(), OptionalDouble.empty(), "", m.timeout().toSeconds()));
        }
        List<BootOutcome.ConsoleLine> transcript = new ArrayList<>(lines);
        if (partial.length() > 0) {
            transcript.add(new BootOutcome.ConsoleLine(seconds(partialStart), partial.toString()));
        }
        return new BootOutcome(profile.name(), out, done && passed, done ? reason : "not finished", transcript);
    }

    private double seconds(long nanos) {
        return (nanos - start) / NANOS;
    }

    private void scan(long now) {
        if (done) {
            return;
        }
        for (FailureSign f : profile.failures()) {
            Matcher m = find(f.pattern(), failureCursor, true);
            if (m != null) {
                fail(f.name() + ": " + m.group().trim());
                return;
            }
        }
        advanceFailureCursor();
        for (int i = 0; i < answerCursors.length; i++) {
            PromptAnswer a = profile.answers().get(i);
            Matcher m;
            while (answered[i] < a.times() && (m = find(a.prompt(), answerCursors[i], true)) != null) {
                moveTo(answerCursors[i], m);
                answered[i]++;
                keyboard.accept(a.keys());
            }
            // Each appearance once: a prompt seen while its answers are used up is left behind too.
            if (answered[i] >= a.times()) {
                answerCursors[i].line = lines.size();
                answerCursors[i].col = partial.length();
            }
        }
        while (!done && next < all.size()) {
            boolean inAfterLogin = next >= profile.milestones().size();
            if (inAfterLogin && !typeSteps()) {
                return;
            }
            Milestone goal = all.get(next);
            Matcher m = find(goal.pattern(), milestoneCursor, goal.prompt());
            if (m == null) {
                return;
            }
            moveTo(milestoneCursor, m);
            String detail = m.groupCount() >= 1 && m.group(1) != null ? m.group(1).trim() : "";
            results.add(new BootOutcome.MilestoneResult(goal.name(), OptionalDouble.of(seconds(now)), detail,
                    goal.timeout().toSeconds()));
            lastReached = now;
            next++;
            if (next == profile.milestones().size()) {
                stepCursor.line = milestoneCursor.line;
                stepCursor.col = milestoneCursor.col;
            }
        }
        if (next == all.size()) {
            done = true;
            passed = true;
            reason = "every milestone reached";
        }
    }

    /** The after-login steps: true once all are typed. */
    private boolean typeSteps() {
        List<Profile.Step> steps = profile.afterLogin().orElseThrow().steps();
        while (step < steps.size()) {
            Profile.Step s = steps.get(step);
            if (s.prompt() != null) {
                Matcher m = find(s.prompt(), stepCursor, true);
                if (m == null) {
                    return false;
                }
                moveTo(stepCursor, m);
            }
            keyboard.accept(s.keys());
            step++;
            // What the last step makes the guest print is searched from here on.
            milestoneCursor.line = stepCursor.line;
            milestoneCursor.col = stepCursor.col;
        }
        return true;
    }

    /** Failure signs are looked for in each piece of text once; a partial line is looked at again as it grows. */
    private void advanceFailureCursor() {
        failureCursor.line = lines.size();
        failureCursor.col = 0;
    }

    private void fail(String why) {
        done = true;
        passed = false;
        reason = why;
    }

    /** The first match at or after {@code from}: in whole lines, then (if allowed) in the partial line. */
    private Matcher find(Pattern p, Cursor from, boolean partialToo) {
        for (int i = from.line; i < lines.size(); i++) {
            Matcher m = p.matcher(lines.get(i).text());
            int col = i == from.line ? Math.min(from.col, lines.get(i).text().length()) : 0;
            if (m.find(col)) {
                lastLine = i;
                return m;
            }
        }
        if (partialToo) {
            Matcher m = p.matcher(partial);
            int col = from.line == lines.size() ? Math.min(from.col, partial.length()) : 0;
            if (m.find(col)) {
                lastLine = lines.size();
                return m;
            }
        }
        return null;
    }

    private void moveTo(Cursor c, Matcher m) {
        c.line = lastLine;
        c.col = m.end();
    }
}
