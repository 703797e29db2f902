package io.stubdm.runtime.metrics;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Prometheus text exposition format, version 0.0.4: what device models answer to {@code x-query-metrics}
 * (Micrometer's PrometheusMeterRegistry writes it) and what the exporter serves. Parsing is strict, because the text
 * comes from device models that may run next to an untrusted guest: a line that is not in the format rejects the
 * whole text, with its line number. Merging keeps each family in one piece, {@code # HELP} and {@code # TYPE} once:
 * Prometheus rejects a scrape in which a family is split.
 */
public final class PrometheusText {
    /** The media type of the format, as a scrape's Content-Type. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private static final Pattern DECIMAL = Pattern.compile("[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");
    private static final Pattern INFINITY = Pattern.compile("[+-]?(?i:inf|infinity)");
    private static final Pattern NAN = Pattern.compile("(?i:nan)");
    private static final Pattern TIMESTAMP = Pattern.compile("-?[0-9]{1,18}");
    /** Suffixes a sample name may add to its family's name (see {@link Family#accepts}). */
    private static final List<String> SUFFIXES = List.of("_total", "_created", "_bucket", "_count", "_sum");

    private PrometheusText() {
    }

    /** A family's {@code # TYPE}. */
    public enum Type {
        COUNTER, GAUGE, HISTOGRAM, SUMMARY, UNTYPED;

        public String text() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Type of(String text) {
            for (Type t : values()) {
                if (t.text().equals(text)) {
                    return t;
                }
            }
            return null;
        }
    }

    /** One sample line: {@code name{labels} value [timestamp]}. Labels keep their order. */
    public record Sample(String name, Map<String, String> labels, double value, OptionalLong timestamp) {
        public Sample {
            labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
        }

        public Sample(String name, Map<String, String> labels, double value) {
            this(name, labels, value, OptionalLong.empty());
        }

        public Sample withLabels(Map<String, String> newLabels) {
            return new Sample(name, newLabels, value, timestamp);
        }

        /** What makes a series unique in a scrape: its name and its label set, whatever the labels' order. */
        public Series series() {
            return new Series(name, labels);
        }
    }

    /** A series' identity; equal label maps are equal whatever their order. */
    public record Series(String name, Map<String, String> labels) {
    }

    /**
     * A metric family: its name as in {@code # TYPE}, its type, its help ({@code null} when it had no
     * {@code # HELP}) and its samples, which may carry suffixed names ({@link #accepts}).
     */
    public record Family(String name, Type type, String help, List<Sample> samples) {
        public Family {
            samples = List.copyOf(samples);
        }

        public Family withSamples(List<Sample> newSamples) {
            return new Family(name, type, help, newSamples);
        }

        /**
         * Whether a sample named {@code sample} belongs here: a histogram's {@code _bucket}, {@code _count} and
         * {@code _sum}; a counter's {@code _total} (Micrometer names the family with the suffix, OpenMetrics-style
         * writers without); and every kind's {@code _created} but a gauge's.
         */
        public boolean accepts(String sample) {
            return belongs(sample, name, type);
        }
    }

    private static boolean belongs(String sample, String family, Type type) {
        if (!sample.startsWith(family)) {
            return false;
        }
        String suffix = sample.substring(family.length());
        switch (type) {
            case COUNTER:
                return suffix.isEmpty() || suffix.equals("_total") || suffix.equals("_created");
            case HISTOGRAM:
                return suffix.equals("_bucket") || suffix.equals("_count") || suffix.equals("_sum")
                        || suffix.equals("_created");
            case SUMMARY:
                return suffix.isEmpty() || suffix.equals("_count") || suffix.equals("_sum")
                        || suffix.equals("_created");
            default:
                return suffix.isEmpty();
        }
    }

    /** Text that is not in the format; the message names the line. */
    public static final class MalformedTextException extends Exception {
        public MalformedTextException(String message) {
            super(message);
        }
    }

    /** Told about a family {@link #merge} left out because its source declared another type than the others. */
    @FunctionalInterface
    public interface ConflictListener {
        void dropped(int source, Family family, Type kept);
    }

    /**
     * Parses a whole text into its families, in the order they appear.
     *
     * @throws MalformedTextException at the first line that is not in the format, or when a family's lines are
     *         not together, its HELP or TYPE is repeated, or a series appears twice
     */
    public static List<Family> parse(String text) throws MalformedTextException {
        List<FamilyBuilder> families = new ArrayList<>();
        Map<String, FamilyBuilder> byName = new HashMap<>();
        Set<Series> series = new HashSet<>();
        FamilyBuilder current = null;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Cursor line = new Cursor(lines[i], i + 1);
            line.skipBlanks();
            if (line.atEnd()) {
                continue;
            }
            if (line.peek() == '#') {
                FamilyBuilder declared = parseComment(line, byName, current);
                if (declared != null && declared != current) {
                    families.add(declared);
                    byName.put(declared.name, declared);
                    current = declared;
                }
                continue;
            }
            Sample sample = parseSample(line);
            if (current == null || !current.accepts(sample.name())) {
                FamilyBuilder owner = ownerOf(sample.name(), byName);
                if (owner != null) {
                    throw line.error("a sample of " + owner.name + " apart from the rest of its family");
                }
                current = new FamilyBuilder(sample.name());
                families.add(current);
                byName.put(current.name, current);
            }
            current.check(sample, line);
            if (!series.add(sample.series())) {
                throw line.error("a second sample of the series " + sample.name() + sample.labels());
            }
            current.samples.add(sample);
        }
        List<Family> out = new ArrayList<>(families.size());
        for (FamilyBuilder f : families) {
            out.add(new Family(f.name, f.type, f.help, f.samples));
        }
        return out;
    }

    /**
     * A {@code # HELP} or {@code # TYPE} line: the family it declares (a new one, or {@code current} if it is the
     * same family and none of its samples came yet); null for any other comment.
     */
    private static FamilyBuilder parseComment(Cursor line, Map<String, FamilyBuilder> byName, FamilyBuilder current)
            throws MalformedTextException {
        line.next(); // '#'
        line.skipBlanks();
        String keyword = line.token();
        if (!keyword.equals("HELP") && !keyword.equals("TYPE")) {
            return null; // a plain comment
        }
        line.requireBlank("after " + keyword);
        String name = line.metricName();
        FamilyBuilder family = byName.get(name);
        if (family != null && (family != current || !family.samples.isEmpty())) {
            throw line.error(keyword + " for " + name + " after its samples");
        }
        if (family == null) {
            family = new FamilyBuilder(name);
        }
        if (keyword.equals("HELP")) {
            if (family.help != null) {
                throw line.error("a second HELP for " + name);
            }
            if (!line.atEnd()) {
                line.requireBlank("after the metric name");
            }
            family.help = line.helpText();
        } else {
            if (family.typed) {
                throw line.error("a second TYPE for " + name);
            }
            line.requireBlank("after the metric name");
            String typeName = line.token();
            line.skipBlanks();
            Type type = Type.of(typeName);
            if (type == null || !line.atEnd()) {
                throw line.error("'" + typeName + "' is not a metric type");
            }
            family.type = type;
            family.typed = true;
        }
        return family;
    }

    private static Sample parseSample(Cursor line) throws MalformedTextException {
        String name = line.metricName();
        line.skipBlanks();
        Map<String, String> labels = new LinkedHashMap<>();
        if (!line.atEnd() && line.peek() == '{') {
            line.next();
            while (true) {
                line.skipBlanks();
                if (line.consume('}')) {
                    break;
                }
                String label = line.labelName();
                line.skipBlanks();
                line.expect('=');
                line.skipBlanks();
                String value = line.labelValue();
                if (labels.put(label, value) != null) {
                    throw line.error("label " + label + " twice");
                }
                line.skipBlanks();
                if (!line.consume(',')) {
                    line.expect('}');
                    break;
                }
            }
            line.skipBlanks();
        }
        if (line.atEnd()) {
            throw line.error("no value");
        }
        double value = parseValue(line.token(), line);
        line.skipBlanks();
        OptionalLong timestamp = OptionalLong.empty();
        if (!line.atEnd()) {
            String t = line.token();
            if (!TIMESTAMP.matcher(t).matches()) {
                throw line.error("'" + t + "' is not a timestamp in milliseconds");
            }
            timestamp = OptionalLong.of(Long.parseLong(t));
            line.skipBlanks();
            if (!line.atEnd()) {
                throw line.error("text after the timestamp");
            }
        }
        return new Sample(name, labels, value, timestamp);
    }

    /** A sample value (or a {@code le}/{@code quantile} bound): a decimal, {@code ±Inf} or {@code NaN}. */
    private static double parseValue(String text, Cursor line) throws MalformedTextException {
        if (DECIMAL.matcher(text).matches()) {
            return Double.parseDouble(text);
        }
        if (INFINITY.matcher(text).matches()) {
            return text.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        if (NAN.matcher(text).matches()) {
            return Double.NaN;
        }
        throw line.error("'" + text + "' is not a number");
    }

    /** The family, among those seen, that a sample named {@code sample} would belong to; null if none. */
    private static FamilyBuilder ownerOf(String sample, Map<String, FamilyBuilder> byName) {
        FamilyBuilder same = byName.get(sample);
        if (same != null && same.accepts(sample)) {
            return same;
        }
        for (String suffix : SUFFIXES) {
            if (sample.endsWith(suffix)) {
                FamilyBuilder base = byName.get(sample.substring(0, sample.length() - suffix.length()));
                if (base != null && base.accepts(sample)) {
                    return base;
                }
            }
        }
        return null;
    }

    /**
     * Families from several sources (device models, in the order given) as one exposition: each family once, with
     * every source's samples, in source order. Where sources disagree about a family's type, the type most of
     * them declare wins (the first source's among equals) and the others' samples of it are left out and reported
     * to {@code onConflict}: one device model cannot, by declaring a type first, make every other's vanish.
     */
    public static List<Family> merge(List<List<Family>> sources, ConflictListener onConflict) {
        record Part(int source, Family family) {
        }
        Map<String, List<Part>> byName = new LinkedHashMap<>();
        for (int i = 0; i < sources.size(); i++) {
            for (Family f : sources.get(i)) {
                byName.computeIfAbsent(f.name(), n -> new ArrayList<>()).add(new Part(i, f));
            }
        }
        List<Family> merged = new ArrayList<>(byName.size());
        for (Map.Entry<String, List<Part>> e : byName.entrySet()) {
            Map<Type, Integer> votes = new EnumMap<>(Type.class);
            Type kept = null;
            for (Part p : e.getValue()) {
                int n = votes.merge(p.family().type(), 1, Integer::sum);
                if (kept == null || n > votes.get(kept)) {
                    kept = p.family().type();
                }
            }
            String help = null;
            List<Sample> samples = new ArrayList<>();
            for (Part p : e.getValue()) {
                if (p.family().type() != kept) {
                    onConflict.dropped(p.source(), p.family(), kept);
                    continue;
                }
                if (help == null) {
                    help = p.family().help();
                }
                samples.addAll(p.family().samples());
            }
            merged.add(new Family(e.getKey(), kept, help, samples));
        }
        return merged;
    }

    /** The families as text, each {@code # HELP} (when it has one), {@code # TYPE}, then its samples. */
    public static String write(List<Family> families) {
        StringBuilder out = new StringBuilder();
        write(families, out);
        return out.toString();
    }

    public static void write(List<Family> families, StringBuilder out) {
        for (Family f : families) {
            if (f.help() != null) {
                out.append("# HELP ").append(f.name()).append(' ');
                escape(f.help(), false, out);
                out.append('\n');
            }
            out.append("# TYPE ").append(f.name()).append(' ').append(f.type().text()).append('\n');
            for (Sample s : f.samples()) {
                out.append(s.name());
                if (!s.labels().isEmpty()) {
                    out.append('{');
                    boolean first = true;
                    for (Map.Entry<String, String> label : s.labels().entrySet()) {
                        if (!first) {
                            out.append(',');
                        }
                        first = false;
                        out.append(label.getKey()).append("=\"");
                        escape(label.getValue(), true, out);
                        out.append('"');
                    }
                    out.append('}');
                }
                out.append(' ').append(formatValue(s.value()));
                s.timestamp().ifPresent(t -> out.append(' ').append(t));
                out.append('\n');
            }
        }
    }

    /** As the format spells numbers: {@code +Inf}, {@code -Inf}, {@code NaN}, or Java's shortest exact decimal. */
    public static String formatValue(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        return Double.toString(v);
    }

    /** Backslash and newline escaped, and in a label value the double quote too. */
    private static void escape(String text, boolean labelValue, StringBuilder out) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\') {
                out.append("\\\\");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '"' && labelValue) {
                out.append("\\\"");
            } else {
                out.append(c);
            }
        }
    }

    /** A family while its lines are read. */
    private static final class FamilyBuilder {
        final String name;
        Type type = Type.UNTYPED;
        boolean typed;
        String help;
        final List<Sample> samples = new ArrayList<>();

        FamilyBuilder(String name) {
            this.name = name;
        }

        boolean accepts(String sample) {
            return belongs(sample, name, type);
        }

        /** A histogram's buckets need their upper bound, a summary's quantiles theirs. */
        void check(Sample s, Cursor line) throws MalformedTextException {
            String bound = type == Type.HISTOGRAM && s.name().equals(name + "_bucket") ? "le"
                    : type == Type.SUMMARY && s.name().equals(name) ? "quantile" : null;
            if (bound == null) {
                return;
            }
            String value = s.labels().get(bound);
            if (value == null) {
                throw line.error(s.name() + " without its " + bound + " label");
            }
            parseValue(value, line);
        }
    }

    /** One line being read, and where. */
    private static final class Cursor {
        private final String text;
        private final int number;
        private int pos;

        Cursor(String text, int number) {
            this.text = text;
            this.number = number;
        }

        boolean atEnd() {
            return pos >= text.length();
        }

        char peek() {
            return text.charAt(pos);
        }

        char next() {
            return text.charAt(pos++);
        }

        boolean consume(char c) {
            if (!atEnd() && peek() == c) {
                pos++;
                return true;
            }
            return false;
        }

        void expect(char c) throws MalformedTextException {
            if (!consume(c)) {
                throw error("expected '" + c + "'");
            }
        }

        private static boolean isBlank(char c) {
            return c == ' ' || c == '\t';
        }

        void skipBlanks() {
            while (!atEnd() && isBlank(peek())) {
                pos++;
            }
        }

        void requireBlank(String where) throws MalformedTextException {
            if (atEnd() || !isBlank(peek())) {
                throw error("expected a blank " + where);
            }
            skipBlanks();
        }

        /** Up to the next blank or the end of the line. */
        String token() {
            int start = pos;
            while (!atEnd() && !isBlank(peek())) {
                pos++;
            }
            return text.substring(start, pos);
        }

        String metricName() throws MalformedTextException {
            return name(true, "a metric name");
        }

        String labelName() throws MalformedTextException {
            return name(false, "a label name");
        }

        private String name(boolean colons, String what) throws MalformedTextException {
            int start = pos;
            while (!atEnd()) {
                char c = peek();
                boolean letter = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || colons && c == ':';
                if (!letter && !(pos > start && c >= '0' && c <= '9')) {
                    break;
                }
                pos++;
            }
            if (pos == start) {
                throw error("expected " + what);
            }
            if (colons && !atEnd() && !isBlank(peek()) && peek() != '{') {
                throw error("'" + peek() + "' in a metric name");
            }
            return text.substring(start, pos);
        }

        /** A quoted label value with its escapes ({@code \\}, {@code \"}, {@code \n}) undone. */
        String labelValue() throws MalformedTextException {
            expect('"');
            StringBuilder value = new StringBuilder();
            while (!atEnd()) {
                char c = next();
                if (c == '"') {
                    return value.toString();
                }
                if (c != '\\') {
                    value.append(c);
                    continue;
                }
                if (atEnd()) {
                    break;
                }
                char escaped = next();
                switch (escaped) {
                    case '\\' -> value.append('\\');
                    case '"' -> value.append('"');
                    case 'n' -> value.append('\n');
                    default -> throw error("invalid escape '\\" + escaped + "' in a label value");
                }
            }
            throw error("a label value without its closing quote");
        }

        /** The rest of the line as HELP text, with {@code \\} and {@code \n} undone. */
        String helpText() throws MalformedTextException {
            StringBuilder help = new StringBuilder();
            while (!atEnd()) {
                char c = next();
                if (c != '\\') {
                    help.append(c);
                } else if (!atEnd() && peek() == '\\') {
                    help.append('\\');
                    pos++;
                } else if (!atEnd() && peek() == 'n') {
                    help.append('\n');
                    pos++;
                } else {
                    throw error("invalid escape in HELP text");
                }
            }
            return help.toString();
        }

        MalformedTextException error(String what) {
            String shown = text.length() > 120 ? text.substring(0, 120) + "..." : text;
            return new MalformedTextException("line " + number + ": " + what + ": " + shown);
        }
    }
}
