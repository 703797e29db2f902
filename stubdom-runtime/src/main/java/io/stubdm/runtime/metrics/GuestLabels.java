package io.stubdm.runtime.metrics;

import io.stubdm.runtime.metrics.GuestDirectory.Guest;
import io.stubdm.runtime.metrics.PrometheusText.Family;
import io.stubdm.runtime.metrics.PrometheusText.MalformedTextException;
import io.stubdm.runtime.metrics.PrometheusText.Sample;
import io.stubdm.runtime.metrics.PrometheusText.Series;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who a series is about is the exporter's to say, not the device model's: a device model in a stub domain runs
 * next to an untrusted guest and must not be able to pass its numbers off as another guest's. So {@code domid},
 * {@code name} and {@code uuid} are set on every sample from what Dom0's xenstore says, replacing whatever the
 * device model reported, and {@code placement} is added.
 */
final class GuestLabels {
    static final String DOMID = "domid";
    static final String NAME = "name";
    static final String UUID = "uuid";
    static final String PLACEMENT = "placement";

    private GuestLabels() {
    }

    /** The labels that identify {@code guest}, in the order they are written. */
    static Map<String, String> of(Guest guest) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(DOMID, Integer.toString(guest.domid()));
        labels.put(NAME, guest.name());
        labels.put(UUID, guest.uuid());
        labels.put(PLACEMENT, guest.placement().label());
        return labels;
    }

    /**
     * The families with {@code guest}'s identity on every sample, the device model's other labels after it.
     *
     * @throws MalformedTextException if two samples become one series: they differed only in the identity labels,
     *         which no honest device model does
     */
    static List<Family> apply(List<Family> families, Guest guest) throws MalformedTextException {
        Map<String, String> identity = of(guest);
        Set<Series> seen = new HashSet<>();
        List<Family> out = new ArrayList<>(families.size());
        for (Family f : families) {
            List<Sample> samples = new ArrayList<>(f.samples().size());
            for (Sample s : f.samples()) {
                Map<String, String> labels = new LinkedHashMap<>(identity);
                s.labels().forEach(labels::putIfAbsent);
                Sample relabelled = s.withLabels(labels);
                if (!seen.add(relabelled.series())) {
                    throw new MalformedTextException("samples of " + s.name() + " differ only in "
                            + String.join("/", identity.keySet()) + ", which are the exporter's to set");
                }
                samples.add(relabelled);
            }
            out.add(f.withSamples(samples));
        }
        return out;
    }
}
