package io.stubdm.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.runtime.metrics.PrometheusText.Family;
import io.stubdm.runtime.metrics.PrometheusText.MalformedTextException;
import io.stubdm.runtime.metrics.PrometheusText.Sample;
import io.stubdm.runtime.metrics.PrometheusText.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PrometheusTextTest {

    private static Family family(List<Family> families, String name) {
        return families.stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no family " + name + " in " + families));
    }

    @Test
    void readsWhatMicrometerWrites() throws Exception {
        String text = FakeDeviceModels.metrics("7", "fw1", FakeDeviceModels.UUID_5, 41,
                Duration.ofNanos(500), Duration.ofNanos(5_000), Duration.ofMillis(3));
        List<Family> families = PrometheusText.parse(text);

        Family ioreqs = family(families, "stubdm_ioreqs_total");
        assertEquals(Type.COUNTER, ioreqs.type());
        assertEquals("Requests the ioreq engine served, by type and direction", ioreqs.help());
        assertEquals(2, ioreqs.samples().size());
        Sample pio = ioreqs.samples().stream().filter(s -> "pio".equals(s.labels().get("type"))).findFirst()
                .orElseThrow();
        assertEquals(41.0, pio.value());
        assertEquals("7", pio.labels().get("domid"));
        assertEquals("fw1", pio.labels().get("name"));

        // The histogram's buckets, count and sum are one family: 4 buckets (3 bounds and +Inf) + count + sum.
        Family service = family(families, "stubdm_ioreq_service_seconds");
        assertEquals(Type.HISTOGRAM, service.type());
        assertEquals(6, service.samples().size());
        assertEquals(List.of("1.0E-6", "1.0E-5", "0.001", "+Inf"), service.samples().stream()
                .filter(s -> s.name().endsWith("_bucket")).map(s -> s.labels().get("le")).toList());
        assertEquals(3.0, service.samples().stream().filter(s -> s.name().endsWith("_count")).findFirst()
                .orElseThrow().value());
        assertEquals(Type.GAUGE, family(families, "stubdm_ioreq_service_seconds_max").type());
        assertEquals(Type.GAUGE, family(families, "stubdm_nic_link_up").type());
    }

    @Test
    void countersAndSummariesKeepTheirSuffixedSamples() throws Exception {
        List<Family> families = PrometheusText.parse("""
                # HELP requests Requests.
                # TYPE requests counter
                requests_total{path="/"} 3
                requests_created{path="/"} 1.7e9
                # TYPE latency summary
                latency{quantile="0.5"} 0.1
                latency{quantile="0.99"} 0.5
                latency_count 10
                latency_sum 1.5
                # a comment, and a blank line

                untyped_thing 1 1700000000000
                """);
        assertEquals(List.of("requests", "latency", "untyped_thing"), families.stream().map(Family::name).toList());
        assertEquals(2, family(families, "requests").samples().size());
        assertEquals(4, family(families, "latency").samples().size());
        Family untyped = family(families, "untyped_thing");
        assertEquals(Type.UNTYPED, untyped.type());
        assertNull(untyped.help());
        assertEquals(OptionalLong.of(1700000000000L), untyped.samples().get(0).timestamp());
    }

    @Test
    void specialValuesAndEscapesRoundTrip() throws Exception {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("name", "a \"quoted\" back\\slash\nnewline");
        labels.put("le", "+Inf");
        Family f = new Family("odd", Type.GAUGE, "help with \\ and\nnewline", List.of(
                new Sample("odd", labels, Double.POSITIVE_INFINITY),
                new Sample("odd", Map.of("k", "2"), Double.NEGATIVE_INFINITY),
                new Sample("odd", Map.of("k", "3"), Double.NaN),
                new Sample("odd", Map.of("k", "4"), -1.5e-300)));
        String text = PrometheusText.write(List.of(f));
        assertTrue(text.contains("# HELP odd help with \\\\ and\\nnewline\n"), text);
        assertTrue(text.contains("odd{name=\"a \\\"quoted\\\" back\\\\slash\\nnewline\",le=\"+Inf\"} +Inf\n"), text);
        List<Family> back = PrometheusText.parse(text);
        assertEquals(1, back.size());
        assertEquals(f.help(), back.get(0).help());
        assertEquals(labels, back.get(0).samples().get(0).labels());
        assertEquals(Double.NEGATIVE_INFINITY, back.get(0).samples().get(1).value());
        assertTrue(Double.isNaN(back.get(0).samples().get(2).value()));
        assertEquals(-1.5e-300, back.get(0).samples().get(3).value());
    }

    @Test
    void mergedGuestsKeepEachFamilyWholeWithHelpAndTypeOnce() throws Exception {
        List<Family> guest3 = PrometheusText.parse(FakeDeviceModels.metrics("3", "web", FakeDeviceModels.UUID_3, 10,
                Duration.ofNanos(800)));
        List<Family> guest5 = PrometheusText.parse(FakeDeviceModels.metrics("5", "fw", FakeDeviceModels.UUID_5, 20,
                Duration.ofMillis(2), Duration.ofMillis(4)));
        List<Family> merged = PrometheusText.merge(List.of(guest3, guest5), (source, family, kept) -> {
            throw new AssertionError("no conflict expected: " + family.name());
        });
        String text = PrometheusText.write(merged);

        for (Family f : guest3) {
            assertEquals(1, count(text, "# TYPE " + f.name() + " "), f.name() + " typed once in\n" + text);
            assertEquals(1, count(text, "# HELP " + f.name() + " "), f.name() + " helped once in\n" + text);
        }
        // Every family's samples come together: the parser rejects a family whose lines are apart.
        List<Family> again = PrometheusText.parse(text);
        assertEquals(merged, again);
        Family service = family(again, "stubdm_ioreq_service_seconds");
        assertEquals(12, service.samples().size());
        assertEquals(List.of("3", "5"), service.samples().stream().map(s -> s.labels().get("domid")).distinct()
                .toList());
        assertEquals(1.0, FakeDeviceModels.value(text, "stubdm_ioreq_service_seconds_count", "domid", "3"));
        assertEquals(2.0, FakeDeviceModels.value(text, "stubdm_ioreq_service_seconds_count", "domid", "5"));
        assertEquals(20.0, FakeDeviceModels.value(text, "stubdm_ioreqs_total", "domid", "5", "type", "pio"));

        // And the lines of a family are contiguous in the text itself, guest after guest.
        List<String> names = text.lines().filter(l -> !l.startsWith("#"))
                .map(l -> l.replaceAll("[{ ].*", "").replaceAll("_(bucket|count|sum)$", "")).toList();
        List<String> runs = new ArrayList<>();
        for (String n : names) {
            if (runs.isEmpty() || !runs.get(runs.size() - 1).equals(n)) {
                runs.add(n);
            }
        }
        assertEquals(runs.size(), runs.stream().distinct().count(), "families split: " + runs);
    }

    @Test
    void mergeKeepsTheTypeMostSourcesDeclare() throws Exception {
        List<Family> a = PrometheusText.parse("# TYPE x gauge\nx{domid=\"1\"} 1\n");
        List<Family> b = PrometheusText.parse("# TYPE x counter\nx{domid=\"2\"} 2\n");
        List<Family> c = PrometheusText.parse("# TYPE x counter\nx{domid=\"3\"} 3\n");
        List<String> dropped = new ArrayList<>();
        List<Family> merged = PrometheusText.merge(List.of(a, b, c),
                (source, family, kept) -> dropped.add(source + ":" + family.type().text() + "->" + kept.text()));
        assertEquals(1, merged.size());
        assertEquals(Type.COUNTER, merged.get(0).type());
        assertEquals(List.of("2", "3"), merged.get(0).samples().stream().map(s -> s.labels().get("domid")).toList());
        assertEquals(List.of("0:gauge->counter"), dropped);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "foo                                         | no value",
            "foo{a=\"1\"}                                | no value",
            "foo abc                                     | 'abc' is not a number",
            "foo 1 2 3                                   | text after the timestamp",
            "foo 1 12.5                                  | not a timestamp",
            "foo-bar 1                                   | '-' in a metric name",
            "foo{a=\"x\\y\"} 1                           | invalid escape",
            "foo{a=\"unterminated} 1                     | without its closing quote",
            "foo{a=\"1\",a=\"2\"} 1                      | label a twice",
            "foo{a=\"1\" b=\"2\"} 1                      | expected '}'",
            "foo{1a=\"1\"} 1                             | expected a label name",
            "# TYPE foo countr                           | 'countr' is not a metric type",
            "# TYPE foo counter\\n# TYPE foo gauge        | a second TYPE for foo",
            "# HELP foo a\\n# HELP foo b                  | a second HELP for foo",
            "foo 1\\n# TYPE foo gauge                     | TYPE for foo after its samples",
            "foo 1\\nbar 1\\nfoo 2                         | a sample of foo apart from the rest of its family",
            "# TYPE h histogram\\nh_bucket 1              | h_bucket without its le label",
            "# TYPE h histogram\\nh_bucket{le=\"x\"} 1    | 'x' is not a number",
            "foo{a=\"1\"} 1\\nfoo{a=\"1\"} 2              | a second sample of the series",
            "# HELP foo bad \\q escape                    | invalid escape in HELP text",
    })
    void malformedTextIsRejectedWithItsLine(String text, String expected) {
        String input = text.replace("\\n", "\n");
        MalformedTextException e = assertThrows(MalformedTextException.class, () -> PrometheusText.parse(input));
        assertTrue(e.getMessage().startsWith("line "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should say '" + expected + "'");
    }

    @Test
    void theErrorNamesTheLine() {
        MalformedTextException e = assertThrows(MalformedTextException.class,
                () -> PrometheusText.parse("# TYPE a gauge\na 1\n\nb{x=\"y\"} what\n"));
        assertTrue(e.getMessage().startsWith("line 4: "), e.getMessage());
    }

    private static int count(String text, String prefix) {
        return (int) text.lines().filter(l -> l.startsWith(prefix)).count();
    }

}
