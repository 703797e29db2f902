package io.stubdm.runtime.metrics;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads sample values out of Prometheus text, as a scraper would, for the metrics tests. */
public final class PromText {
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    private PromText() {
    }

    /** The labels of a sample line, or null if it is not one. */
    public static Map<String, String> labels(String line) {
        Matcher m = SAMPLE.matcher(line);
        if (!m.matches()) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (m.group(2) != null) {
            Matcher l = LABEL.matcher(m.group(2));
            while (l.find()) {
                out.put(l.group(1), l.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
            }
        }
        return out;
    }

    /**
     * The value of the one sample named {@code name} whose labels include {@code want} (key, value, key, value...);
     * fails the test when there is none or more than one.
     */
    public static double value(String text, String name, String... want) {
        Double found = null;
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches() || !m.group(1).equals(name)) {
                continue;
            }
            Map<String, String> labels = labels(line);
            boolean all = true;
            for (int i = 0; i < want.length; i += 2) {
                all &= want[i + 1].equals(labels.get(want[i]));
            }
            if (all) {
                if (found != null) {
                    fail("more than one " + name + " sample with " + String.join(",", want) + " in:\n" + text);
                }
                found = Double.parseDouble(m.group(3));
            }
        }
        if (found == null) {
            fail("no " + name + " sample with " + String.join(",", want) + " in:\n" + text);
        }
        return found;
    }
}
