package io.stubdm.boottest;

import java.util.regex.Pattern;

/**
 * Keys typed when the console shows {@code prompt}: at most {@code times} times, and only once per appearance
 * (the prompt must be printed again before it is answered again). {@code keys} is sent as is; end it with
 * {@code "\r"} for Enter, as a serial terminal sends it.
 */
public record PromptAnswer(String name, Pattern prompt, String keys, int times) {
    public PromptAnswer {
        if (times < 1) {
            throw new IllegalArgumentException("a prompt is answered at least once: " + name);
        }
    }

    public static PromptAnswer of(String name, String regex, String keys, int times) {
        return new PromptAnswer(name, Pattern.compile(regex), keys, times);
    }
}
