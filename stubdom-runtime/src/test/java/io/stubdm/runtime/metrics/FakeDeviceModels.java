package io.stubdm.runtime.metrics;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.stubdm.runtime.qmp.QmpCommands;
import io.stubdm.runtime.qmp.QmpServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Device models as the exporter meets them: a QMP monitor that answers x-query-metrics with Micrometer's text. */
final class FakeDeviceModels {
    static final String UUID_3 = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    static final String UUID_5 = "6b1e4c4a-2f57-4c3e-9d8e-0f5a3b1c2d3e";

    private FakeDeviceModels() {
    }

    /**
     * What a device model's registry scrapes to: a counter family (stubdm_ioreqs_total, by type), the service-time
     * histogram and a gauge, every series with the identity the device model claims.
     */
    static String metrics(String domid, String name, String uuid, long pioReads, Duration... serviceTimes) {
        PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try {
            r.config().commonTags("domid", domid, "name", name, "uuid", uuid);
            Counter.builder("stubdm_ioreqs").tags("type", "pio", "direction", "read")
                    .description("Requests the ioreq engine served, by type and direction").register(r)
                    .increment(pioReads);
            // Micrometer takes a family's HELP from whichever of its meters it writes first: each needs it.
            Counter.builder("stubdm_ioreqs").tags("type", "mmio", "direction", "write")
                    .description("Requests the ioreq engine served, by type and direction").register(r).increment(2);
            Timer t = Timer.builder("stubdm_ioreq_service").tag("type", "pio")
                    .description("Time from taking a vCPU's request to answering it")
                    .serviceLevelObjectives(Duration.ofNanos(1_000), Duration.ofNanos(10_000), Duration.ofMillis(1))
                    .register(r);
            for (Duration d : serviceTimes) {
                t.record(d);
            }
            r.gauge("stubdm_nic_link_up", 1);
            return r.scrape();
        } finally {
            r.close();
        }
    }

    /**
     * The value of the one sample named {@code sample} whose labels include {@code want} (key, value, ...); fails
     * when there is none, or more than one.
     */
    static double value(String text, String sample, String... want) {
        List<Double> found = new ArrayList<>();
        try {
            for (PrometheusText.Family f : PrometheusText.parse(text)) {
                for (PrometheusText.Sample s : f.samples()) {
                    boolean all = s.name().equals(sample);
                    for (int i = 0; all && i < want.length; i += 2) {
                        all = want[i + 1].equals(s.labels().get(want[i]));
                    }
                    if (all) {
                        found.add(s.value());
                    }
                }
            }
        } catch (PrometheusText.MalformedTextException e) {
            throw new AssertionError(e.getMessage() + " in:\n" + text, e);
        }
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " samples " + sample + " with " + String.join(",", want)
                    + " in:\n" + text);
        }
        return found.get(0);
    }

    /** A monitor on {@code socket} whose x-query-metrics answers {@code text} as a device model does. */
    static QmpServer serving(Path socket, String text) throws IOException {
        return serving(socket, args -> JsonNodeFactory.instance.objectNode()
                .put("content-type", PrometheusText.CONTENT_TYPE).put("text", text));
    }

    static QmpServer serving(Path socket, QmpCommands.Handler xQueryMetrics) throws IOException {
        return new QmpServer(socket, new QmpCommands().register("x-query-metrics", xQueryMetrics), "stubdm-test");
    }
}
