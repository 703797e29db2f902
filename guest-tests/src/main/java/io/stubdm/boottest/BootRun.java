package io.stubdm.boottest;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One boot test as run: what was booted and how, how it went, and what was gathered on the way (screenshots at
 * milestones, the device model's metrics at the end).
 */
public record BootRun(String name, Path image, String placement, String nic, int memoryMiB, Instant started,
        double seconds, BootOutcome outcome, List<Screenshot> screenshots, Optional<String> metrics) {

    /** A picture of the guest's screen taken when {@code milestone} was reached (or at the end). */
    public record Screenshot(String milestone, Path file) {
    }

    public BootRun {
        screenshots = List.copyOf(screenshots);
    }
}
