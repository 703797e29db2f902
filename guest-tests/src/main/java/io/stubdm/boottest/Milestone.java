package io.stubdm.boottest;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * One thing a booting guest must show on its console, within {@code timeout} of the milestone before it (of the
 * start, for the first). The pattern is searched in whole console lines; a {@code prompt} milestone also in the
 * unfinished last line, so that {@code login: }, printed without a newline, counts as soon as it is there. The
 * first capture group, if any, is kept as the milestone's detail (a kernel's version, say).
 */
public record Milestone(String name, Pattern pattern, Duration timeout, boolean prompt) {
    public Milestone {
        if (name.isBlank() || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("a milestone needs a name and a positive timeout: " + name);
        }
    }

    /** A milestone found in a whole line. */
    public static Milestone of(String name, String regex, Duration timeout) {
        return new Milestone(name, Pattern.compile(regex), timeout, false);
    }

    /** A milestone that is a prompt: found as soon as it is printed, newline or not. */
    public static Milestone prompt(String name, String regex, Duration timeout) {
        return new Milestone(name, Pattern.compile(regex), timeout, true);
    }
}
