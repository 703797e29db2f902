package io.stubdm.runtime.metrics;

import static io.stubdm.runtime.metrics.FakeDeviceModels.UUID_3;
import static io.stubdm.runtime.metrics.FakeDeviceModels.UUID_5;
import static io.stubdm.runtime.metrics.FakeDeviceModels.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.sim.SimXen;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exporter as Prometheus sees it, through its HTTP pipeline, with no network: an EmbeddedChannel. */
class ExporterHttpTest {
    @TempDir
    Path dir;
    private final SimXen xen = new SimXen();
    private final XenStore xenstore = xen.openXenStore();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private DeviceModelScraper scraper;
    private final AtomicInteger scrapes = new AtomicInteger();

    /** A response as a client reads it; its content copied out, its buffers released. */
    private record Response(int status, String contentType, String header, String body) {
    }

    @BeforeEach
    void guests() throws Exception {
        // Guest 3 in Dom0, guest 5 in stub domain 6 (whose console backend has a Dom0 entry too), and guest 9
        // whose device model says it runs but has no socket (it has just died, or the directory is wrong).
        ExporterGuestDirectoryTest.dom0Guest(xenstore, 3, "web", UUID_3);
        ExporterGuestDirectoryTest.stubdomGuest(xenstore, 5, "fw", UUID_5, 6);
        ExporterGuestDirectoryTest.dom0Guest(xenstore, 9, "dead", UUID_5);
        closing.add(FakeDeviceModels.serving(dir.resolve("qmp-libxenstat-3"),
                FakeDeviceModels.metrics("3", "web", UUID_3, 10, Duration.ofNanos(900))));
        closing.add(FakeDeviceModels.serving(dir.resolve("qmp-libxl-5"),
                FakeDeviceModels.metrics("5", "fw", UUID_5, 20, Duration.ofMillis(2))));
        scraper = new DeviceModelScraper(new GuestDirectory(xenstore, dir)::guests, Duration.ofSeconds(5));
        closing.add(scraper);
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        xenstore.close();
        xen.close();
    }

    /**
     * The real scrape, waited for on the test's thread: an EmbeddedChannel's event loop is the test's thread, and
     * must not be entered from the scrape's. (How the handler waits for a scrape is tested on its own below.)
     */
    private Supplier<CompletableFuture<String>> scrapeHere() {
        return () -> {
            scrapes.incrementAndGet();
            return CompletableFuture.completedFuture(scraper.scrape().join());
        };
    }

    private static EmbeddedChannel channel(Supplier<CompletableFuture<String>> scrape) {
        return new EmbeddedChannel(MetricsExporter.initializer(scrape));
    }

    private static void send(EmbeddedChannel ch, String request) {
        ch.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.US_ASCII));
        ch.runPendingTasks();
    }

    /** Everything the server wrote so far, as bytes. */
    private static ByteBuf written(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            all.writeBytes(b);
            b.release();
        }
        return all;
    }

    private static List<Response> responses(EmbeddedChannel ch) {
        EmbeddedChannel client = new EmbeddedChannel(new HttpResponseDecoder(), new HttpObjectAggregator(1 << 24));
        client.writeInbound(written(ch));
        List<Response> out = new ArrayList<>();
        for (Object o; (o = client.readInbound()) != null; ) {
            FullHttpResponse r = (FullHttpResponse) o;
            assertEquals(Integer.toString(r.content().readableBytes()),
                    r.headers().get(HttpHeaderNames.CONTENT_LENGTH), "Content-Length");
            out.add(new Response(r.status().code(), r.headers().get(HttpHeaderNames.CONTENT_TYPE),
                    r.headers().get(HttpHeaderNames.ALLOW), r.content().toString(StandardCharsets.UTF_8)));
            r.release();
        }
        client.finishAndReleaseAll();
        return out;
    }

    private static Response exchange(EmbeddedChannel ch, String request) {
        send(ch, request);
        List<Response> r = responses(ch);
        assertEquals(1, r.size(), "one response to " + request);
        return r.get(0);
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    }

    @Test
    void metricsHasEveryGuestAndTheOneWithoutASocketIsDown() {
        EmbeddedChannel ch = channel(scrapeHere());
        Response r = exchange(ch, get("/metrics"));
        assertEquals(200, r.status());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.contentType());
        String text = r.body();

        assertEquals(1.0, value(text, "stubdm_up", "domid", "3", "name", "web", "uuid", UUID_3, "placement", "dom0"));
        assertEquals(1.0, value(text, "stubdm_up", "domid", "5", "name", "fw", "uuid", UUID_5,
                "placement", "stubdom"));
        assertEquals(0.0, value(text, "stubdm_up", "domid", "9", "name", "dead", "placement", "dom0"));
        assertEquals(1.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "connect"));
        assertEquals(0.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "timeout"));
        assertEquals(10.0, value(text, "stubdm_ioreqs_total", "domid", "3", "type", "pio"));
        assertEquals(20.0, value(text, "stubdm_ioreqs_total", "domid", "5", "type", "pio", "placement", "stubdom"));
        assertEquals(1.0, value(text, "stubdm_ioreq_service_seconds_count", "domid", "5"));
        assertTrue(value(text, "stubdm_scrape_duration_seconds", "domid", "3") >= 0, text);
        // The stub domain's console backend is no guest.
        assertFalse(text.contains("domid=\"6\""), text);
        assertEquals(1, text.lines().filter(l -> l.equals("# TYPE stubdm_ioreqs_total counter")).count(), text);

        // Keep-alive: the same connection scrapes again.
        assertTrue(ch.isOpen());
        assertEquals(200, exchange(ch, get("/metrics?x=1")).status());
        assertEquals(2, scrapes.get());
        ch.finishAndReleaseAll();
    }

    @Test
    void otherPathsAreNotFoundAndOtherMethodsNotAllowed() {
        EmbeddedChannel ch = channel(scrapeHere());
        Response missing = exchange(ch, get("/metrics/extra"));
        assertEquals(404, missing.status());
        assertTrue(missing.body().contains("/metrics"), missing.body());

        Response post = exchange(ch, "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
        assertEquals(405, post.status());
        assertEquals("GET, HEAD", post.header());
        assertEquals(405, exchange(ch, "DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n").status());
        assertEquals(0, scrapes.get(), "none of these scraped");
        ch.finishAndReleaseAll();
    }

    @Test
    void theIndexLinksToTheMetrics() {
        EmbeddedChannel ch = channel(scrapeHere());
        Response r = exchange(ch, get("/"));
        assertEquals(200, r.status());
        assertTrue(r.contentType().startsWith("text/html"), r.contentType());
        assertTrue(r.body().contains("<a href=\"/metrics\">"), r.body());
        ch.finishAndReleaseAll();
    }

    @Test
    void headSaysWhatGetWouldWithoutScraping() {
        EmbeddedChannel ch = channel(scrapeHere());
        send(ch, "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        ByteBuf raw = written(ch);
        String head = raw.toString(StandardCharsets.US_ASCII);
        raw.release();
        assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
        assertTrue(head.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"), head);
        assertTrue(head.endsWith("\r\n\r\n"), "no body: " + head);
        assertEquals(0, scrapes.get());

        send(ch, "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        raw = written(ch);
        head = raw.toString(StandardCharsets.US_ASCII);
        raw.release();
        assertTrue(head.contains("content-type: text/html"), head);
        assertTrue(head.endsWith("\r\n\r\n"), "no body: " + head);
        ch.finishAndReleaseAll();
    }

    @Test
    void theResponseWaitsForTheScrapeAndPipelinedRequestsKeepTheirOrder() {
        CompletableFuture<String> pending = new CompletableFuture<>();
        EmbeddedChannel ch = channel(() -> pending);
        send(ch, get("/metrics") + get("/"));
        assertNull(ch.readOutbound(), "nothing before the scrape is done; the event loop did not wait for it");
        assertFalse(ch.config().isAutoRead(), "nothing more is read meanwhile");

        pending.complete("x 1\n");
        ch.runPendingTasks();
        List<Response> r = responses(ch);
        assertEquals(2, r.size());
        assertEquals("x 1\n", r.get(0).body());
        assertEquals(PrometheusText.CONTENT_TYPE, r.get(0).contentType());
        assertTrue(r.get(1).contentType().startsWith("text/html"), r.get(1).contentType());
        assertTrue(ch.config().isAutoRead());
        ch.finishAndReleaseAll();
    }

    @Test
    void aScrapeThatCannotBeMadeIsServiceUnavailable() {
        EmbeddedChannel ch = channel(() -> CompletableFuture.failedFuture(new IllegalStateException("no xenstore")));
        Response r = exchange(ch, get("/metrics"));
        assertEquals(503, r.status());
        assertTrue(r.body().contains("no xenstore"), r.body());
        ch.finishAndReleaseAll();
    }

    @Test
    void connectionCloseIsHonoured() {
        EmbeddedChannel ch = channel(scrapeHere());
        Response r = exchange(ch, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assertEquals(200, r.status());
        assertFalse(ch.isOpen());
        ch.finishAndReleaseAll();
    }
}
