package io.stubdm.boottest;

import java.util.List;
import java.util.OptionalDouble;

/**
 * How a boot went: each milestone reached (seconds since the start, and its detail) or not, the verdict, and what
 * the console showed, line by line with the second each line began.
 */
public record BootOutcome(String profile, List<MilestoneResult> milestones, boolean passed, String reason,
        List<ConsoleLine> transcript) {

    public record MilestoneResult(String name, OptionalDouble seconds, String detail, double timeoutSeconds) {
        public boolean reached() {
            return seconds.isPresent();
        }
    }

    public record ConsoleLine(double seconds, String text) {
    }

    public BootOutcome {
        milestones = List.copyOf(milestones);
        transcript = List.copyOf(transcript);
    }

    /** The last {@code n} console lines, for a failure message. */
    public List<ConsoleLine> lastLines(int n) {
        return transcript.subList(Math.max(0, transcript.size() - n), transcript.size());
    }

    /** The first milestone not reached, or null when all were. */
    public MilestoneResult firstMissed() {
        return milestones.stream().filter(m -> !m.reached()).findFirst().orElse(null);
    }
}
