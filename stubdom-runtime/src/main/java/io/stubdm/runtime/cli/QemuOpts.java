package io.stubdm.runtime.cli;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * QEMU's option-string syntax ({@code driver,key=value,key2=value2}, with {@code ,,} standing for a literal comma),
 * as libxl writes {@code -device}, {@code -machine}, {@code -chardev}, {@code -netdev} and {@code -smp} arguments.
 * A leading bare word is the value of the option's implied key (for {@code -device} the driver).
 */
public final class QemuOpts {
    private final String option;
    private final String text;
    private final Map<String, String> values;

    private QemuOpts(String option, String text, Map<String, String> values) {
        this.option = option;
        this.text = text;
        this.values = values;
    }

    /**
     * Parses {@code text} given to {@code option}; a first item without {@code =} becomes {@code impliedKey}
     * (null: not allowed). Keys may appear once.
     */
    public static QemuOpts parse(String option, String text, String impliedKey) {
        Map<String, String> values = new LinkedHashMap<>();
        int i = 0;
        boolean first = true;
        while (i <= text.length()) {
            StringBuilder item = new StringBuilder();
            while (i < text.length()) {
                char c = text.charAt(i);
                if (c == ',') {
                    if (i + 1 < text.length() && text.charAt(i + 1) == ',') {
                        item.append(',');
                        i += 2;
                        continue;
                    }
                    break;
                }
                item.append(c);
                i++;
            }
            i++; // past the separator (or the end)
            String it = item.toString();
            if (it.isEmpty()) {
                if (i > text.length() && !first) {
                    break;
                }
                throw new IllegalArgumentException(option + " " + text + ": empty item");
            }
            int eq = it.indexOf('=');
            String key;
            String value;
            if (eq < 0) {
                if (first && impliedKey != null) {
                    key = impliedKey;
                    value = it;
                } else {
                    // QEMU reads a bare "flag" as flag=on.
                    key = it;
                    value = "on";
                }
            } else {
                key = it.substring(0, eq);
                value = it.substring(eq + 1);
            }
            if (key.isEmpty()) {
                throw new IllegalArgumentException(option + " " + text + ": an item has no key");
            }
            if (values.put(key, value) != null) {
                throw new IllegalArgumentException(option + " " + text + ": '" + key + "' given twice");
            }
            first = false;
        }
        return new QemuOpts(option, text, Collections.unmodifiableMap(values));
    }

    public String get(String key) {
        return values.get(key);
    }

    public String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    public String require(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException(option + " " + text + ": '" + key + "' is required");
        }
        return v;
    }

    public boolean flag(String key, boolean fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        switch (v) {
            case "on": case "yes": case "true": return true;
            case "off": case "no": case "false": return false;
            default: throw new IllegalArgumentException(option + " " + text + ": '" + key + "' must be on or off, not " + v);
        }
    }

    public int integer(String key, int fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.decode(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + text + ": '" + key + "' must be a number, not " + v);
        }
    }

    /** Rejects any key outside {@code allowed}, naming it: an option stubdm does not understand is an error. */
    public QemuOpts only(Set<String> allowed) {
        for (String k : values.keySet()) {
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException(option + " " + text + ": stubdm does not support '" + k + "'");
            }
        }
        return this;
    }

    public Map<String, String> values() {
        return values;
    }

    public String text() {
        return text;
    }

    @Override
    public String toString() {
        return option + " " + text;
    }
}
