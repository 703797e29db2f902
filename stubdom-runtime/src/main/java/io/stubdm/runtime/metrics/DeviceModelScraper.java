package io.stubdm.runtime.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.stubdm.runtime.metrics.GuestDirectory.Guest;
import io.stubdm.runtime.metrics.PrometheusText.Family;
import io.stubdm.runtime.metrics.PrometheusText.MalformedTextException;
import io.stubdm.runtime.metrics.PrometheusText.Sample;
import io.stubdm.runtime.metrics.PrometheusText.Type;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * One scrape of every guest's device model, as one Prometheus text: the guests are listed, each device model is
 * asked {@code x-query-metrics} on a thread of a small pool of this class's own (never on the HTTP event loop),
 * in parallel, and whatever has answered within the timeout is merged under the guests' own identities (see
 * {@link GuestLabels}). A guest that does not answer, or answers with something that is not metrics, is reported
 * by {@code stubdm_up 0} and counted in {@code stubdm_exporter_scrape_errors_total}; the others are not affected.
 *
 * <p>Requests that arrive while a scrape is running share its result instead of starting another: every scrape
 * asks every device model, and in a stub domain's placement the proxy in front of it serves one client at a time.
 */
public final class DeviceModelScraper implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DeviceModelScraper.class.getName());
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** The QMP command each device model answers with its metrics. */
    static final String COMMAND = "x-query-metrics";
    /** Device models asked at once; more wait for a free thread, within the same timeout. */
    static final int PARALLELISM = 16;
    /** How long past the timeout a query that has not even started is waited for, before it counts as timed out. */
    private static final long GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    static final String UP = "stubdm_up";
    static final String DURATION = "stubdm_scrape_duration_seconds";
    static final String ERRORS = "stubdm_exporter_scrape_errors_total";
    /** The exporter's own names: a device model reporting one is not believed (its guest counts as malformed). */
    private static final Set<String> OWN = Set.of(UP, DURATION, ERRORS, "stubdm_exporter_scrape_errors");
    private static final String OWN_PREFIX = "stubdm_exporter_";

    /** Why a guest was not scraped, as the {@code reason} label of {@value #ERRORS} names it. */
    public enum Failure {
        TIMEOUT, CONNECT, QMP_ERROR, MALFORMED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Failure of(QmpException.Kind kind) {
            switch (kind) {
                case TIMEOUT:
                    return TIMEOUT;
                case CONNECT:
                    return CONNECT;
                case ERROR_REPLY:
                    return QMP_ERROR;
                default:
                    return MALFORMED;
            }
        }
    }

    /** What one guest's query came to: its relabelled families, or why there are none. */
    private record Outcome(Guest guest, List<Family> families, double seconds, Failure failure, String detail) {
        static Outcome up(Guest guest, List<Family> families, double seconds) {
            return new Outcome(guest, families, seconds, null, null);
        }

        static Outcome down(Guest guest, Failure failure, String detail, double seconds) {
            return new Outcome(guest, List.of(), seconds, failure, detail);
        }
    }

    private final Supplier<List<Guest>> guests;
    private final Duration timeout;
    private final ThreadPoolExecutor executor;
    private final Map<Failure, AtomicLong> errors;
    private final AtomicReference<CompletableFuture<String>> inFlight = new AtomicReference<>();

    /**
     * Scrapes the guests {@code guests} lists (a {@link GuestDirectory}'s, in production), each device model within
     * {@code timeout} of the scrape's start.
     */
    public DeviceModelScraper(Supplier<List<Guest>> guests, Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the timeout must be positive, not " + timeout);
        }
        this.guests = guests;
        this.timeout = timeout;
        this.executor = new ThreadPoolExecutor(PARALLELISM, PARALLELISM, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), new DefaultThreadFactory("metrics-scrape", true));
        // Idle between scrapes: no threads kept for that.
        executor.allowCoreThreadTimeOut(true);
        Map<Failure, AtomicLong> counts = new EnumMap<>(Failure.class);
        for (Failure f : Failure.values()) {
            counts.put(f, new AtomicLong());
        }
        this.errors = Collections.unmodifiableMap(counts);
    }

    public Duration timeout() {
        return timeout;
    }

    /**
     * The merged metrics of every guest and the exporter's own, as Prometheus text; completes within about the
     * timeout. Fails only when the guests cannot be listed at all (xenstore unreadable).
     */
    public CompletableFuture<String> scrape() {
        CompletableFuture<String> mine = new CompletableFuture<>();
        CompletableFuture<String> running = inFlight.compareAndExchange(null, mine);
        if (running != null) {
            return running;
        }
        CompletableFuture<String> result;
        try {
            result = scrapeNow();
        } catch (RuntimeException e) {
            result = CompletableFuture.failedFuture(e);
        }
        result.whenComplete((text, failure) -> {
            // Cleared first: whoever is handed this result and asks again gets a new scrape, not this one.
            inFlight.set(null);
            if (failure != null) {
                mine.completeExceptionally(failure);
            } else {
                mine.complete(text);
            }
        });
        return mine;
    }

    private CompletableFuture<String> scrapeNow() {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        return CompletableFuture.supplyAsync(guests, executor).thenCompose(list -> {
            List<CompletableFuture<Outcome>> outcomes = new ArrayList<>(list.size());
            for (Guest g : list) {
                long left = Math.max(0, deadline - System.nanoTime());
                // The query keeps its own deadline; this one also covers a query still queued behind hung ones.
                outcomes.add(CompletableFuture.supplyAsync(() -> query(g, deadline), executor)
                        .completeOnTimeout(Outcome.down(g, Failure.TIMEOUT, g.socket() + ": not asked within "
                                + timeout.toMillis() + " ms (every query thread was busy)", seconds(timeout.toNanos())),
                                left + GRACE_NANOS, TimeUnit.NANOSECONDS));
            }
            return CompletableFuture.allOf(outcomes.toArray(CompletableFuture[]::new))
                    .thenApply(v -> render(outcomes.stream().map(CompletableFuture::join).toList()));
        });
    }

    /** Asks one device model for its metrics; every failure becomes an outcome, none escapes. */
    private Outcome query(Guest guest, long deadline) {
        long start = System.nanoTime();
        try {
            JsonNode answer = QmpClient.execute(guest.socket(), COMMAND, Duration.ofNanos(deadline - start));
            List<Family> families = PrometheusText.parse(metricsText(answer));
            requireNoneOfOurs(families);
            return Outcome.up(guest, GuestLabels.apply(families, guest), seconds(System.nanoTime() - start));
        } catch (QmpException e) {
            return Outcome.down(guest, Failure.of(e.kind()), e.getMessage(), seconds(System.nanoTime() - start));
        } catch (MalformedTextException e) {
            return Outcome.down(guest, Failure.MALFORMED, guest.socket() + ": " + COMMAND + ": " + e.getMessage(),
                    seconds(System.nanoTime() - start));
        } catch (RuntimeException e) {
            // A bug of ours on one guest's answer costs that guest, not the whole scrape.
            LOG.log(Level.ERROR, "scraping " + guest + " failed", e);
            return Outcome.down(guest, Failure.MALFORMED, e.toString(), seconds(System.nanoTime() - start));
        }
    }

    /** The text of an {@code x-query-metrics} answer: {@code {"content-type": ..., "text": ...}}. */
    private static String metricsText(JsonNode answer) throws MalformedTextException {
        if (answer == null || !answer.isObject()) {
            throw new MalformedTextException("the answer is not an object");
        }
        JsonNode text = answer.get("text");
        if (text == null || !text.isTextual()) {
            throw new MalformedTextException("the answer has no 'text'");
        }
        JsonNode contentType = answer.get("content-type");
        if (contentType != null && !isTextFormat(contentType.asText())) {
            throw new MalformedTextException("content-type '" + contentType.asText()
                    + "' is not the Prometheus text format 0.0.4");
        }
        return text.asText();
    }

    /** {@code text/plain}, and if named, version 0.0.4 in UTF-8. */
    static boolean isTextFormat(String contentType) {
        String[] parts = contentType.split(";");
        if (!parts[0].trim().equalsIgnoreCase("text/plain")) {
            return false;
        }
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].trim().split("=", 2);
            String value = kv.length == 2 ? kv[1].trim() : "";
            if (kv[0].equalsIgnoreCase("version") && !value.equals("0.0.4")
                    || kv[0].equalsIgnoreCase("charset") && !value.equalsIgnoreCase("utf-8")) {
                return false;
            }
        }
        return true;
    }

    private static void requireNoneOfOurs(List<Family> families) throws MalformedTextException {
        for (Family f : families) {
            if (isOurs(f.name())) {
                throw new MalformedTextException("reports " + f.name() + ", which is the exporter's own");
            }
            for (Sample s : f.samples()) {
                if (isOurs(s.name())) {
                    throw new MalformedTextException("reports " + s.name() + ", which is the exporter's own");
                }
            }
        }
    }

    private static boolean isOurs(String name) {
        return OWN.contains(name) || name.startsWith(OWN_PREFIX);
    }

    /** The guests' merged families, then the exporter's own; failures are counted and logged here, once. */
    private String render(List<Outcome> outcomes) {
        List<Guest> answered = new ArrayList<>();
        List<List<Family>> sources = new ArrayList<>();
        List<Sample> up = new ArrayList<>();
        List<Sample> durations = new ArrayList<>();
        for (Outcome o : outcomes) {
            Map<String, String> identity = GuestLabels.of(o.guest());
            up.add(new Sample(UP, identity, o.failure() == null ? 1 : 0));
            durations.add(new Sample(DURATION, identity, o.seconds()));
            if (o.failure() == null) {
                answered.add(o.guest());
                sources.add(o.families());
            } else {
                errors.get(o.failure()).incrementAndGet();
                LOG.log(Level.WARNING, o.guest() + ": not scraped (" + o.failure().label() + "): " + o.detail());
            }
        }
        List<Family> families = new ArrayList<>(PrometheusText.merge(sources, (source, family, kept) ->
                LOG.log(Level.WARNING, answered.get(source) + ": " + family.name() + " left out: declared "
                        + family.type().text() + " where other device models declare " + kept.text())));
        families.add(new Family(UP, Type.GAUGE,
                "1 if the guest's device model answered " + COMMAND + " with metrics in this scrape, else 0", up));
        families.add(new Family(DURATION, Type.GAUGE,
                "How long the guest's device model took to answer " + COMMAND + " (or to fail to)", durations));
        List<Sample> counts = new ArrayList<>();
        for (Map.Entry<Failure, AtomicLong> e : errors.entrySet()) {
            counts.add(new Sample(ERRORS, Map.of("reason", e.getKey().label()), e.getValue().get()));
        }
        families.add(new Family(ERRORS, Type.COUNTER,
                "Device models not scraped, by reason: timeout, connect, qmp_error (an error answer), malformed",
                counts));
        return PrometheusText.write(families);
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /**
     * Stops the query threads; a query under way ends as if its deadline had passed. Returns once they have ended
     * (at most a few seconds), so that what they use, xenstore among it, can be closed after.
     */
    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
