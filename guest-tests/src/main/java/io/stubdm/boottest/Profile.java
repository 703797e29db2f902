package io.stubdm.boottest;

import java.util.List;
import java.util.Optional;

/**
 * What one kind of guest shows on its serial console while it boots: its milestones in order, the prompts to
 * answer on the way, the lines that mean it failed, and optionally a command to run once logged in.
 */
public record Profile(String name, List<Milestone> milestones, List<PromptAnswer> answers, List<FailureSign> failures,
        Optional<AfterLogin> afterLogin) {

    /**
     * After the last milestone, a session at the prompt: each step types its keys once its prompt shows (a null
     * prompt: at once), and then {@code expect} must show within its timeout of the last milestone. It is reported
     * as one more milestone.
     */
    public record AfterLogin(List<Step> steps, Milestone expect) {
        public AfterLogin {
            steps = List.copyOf(steps);
        }
    }

    /** Type {@code keys} when {@code prompt} shows, or at once when it is null. */
    public record Step(java.util.regex.Pattern prompt, String keys) {
        public static Step now(String keys) {
            return new Step(null, keys);
        }

        public static Step at(String regex, String keys) {
            return new Step(java.util.regex.Pattern.compile(regex), keys);
        }
    }

    public Profile {
        milestones = List.copyOf(milestones);
        answers = List.copyOf(answers);
        failures = List.copyOf(failures);
        if (milestones.isEmpty()) {
            throw new IllegalArgumentException("profile " + name + " has no milestones");
        }
    }

    /** The same profile with milestone {@code name} found by {@code regex} instead (a guest's own init line, say). */
    public Profile withPattern(String milestone, String regex) {
        List<Milestone> ms = new java.util.ArrayList<>();
        boolean found = false;
        for (Milestone m : milestones) {
            if (m.name().equals(milestone)) {
                ms.add(new Milestone(m.name(), java.util.regex.Pattern.compile(regex), m.timeout(), m.prompt()));
                found = true;
            } else {
                ms.add(m);
            }
        }
        if (!found) {
            throw new IllegalArgumentException("profile " + name + " has no milestone '" + milestone + "' ("
                    + String.join(", ", milestones.stream().map(Milestone::name).toList()) + ")");
        }
        return new Profile(name, ms, answers, failures, afterLogin);
    }

    /** The same profile with a command to run after the last milestone. */
    public Profile withAfterLogin(AfterLogin after) {
        return new Profile(name, milestones, answers, failures, Optional.of(after));
    }
}
