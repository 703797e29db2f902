package io.stubdm.runtime.metrics;

import static io.stubdm.runtime.metrics.FakeDeviceModels.UUID_3;
import static io.stubdm.runtime.metrics.FakeDeviceModels.UUID_5;
import static io.stubdm.runtime.metrics.FakeDeviceModels.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.stubdm.hypervisor.XenException;
import io.stubdm.runtime.metrics.GuestDirectory.Guest;
import io.stubdm.runtime.metrics.GuestDirectory.Placement;
import io.stubdm.runtime.metrics.PrometheusText.Family;
import io.stubdm.runtime.metrics.PrometheusText.Sample;
import io.stubdm.runtime.qmp.QmpError;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExporterScrapeTest {
    private static final String UUID_7 = "a1b2c3d4-0000-4000-8000-000000000007";

    @TempDir
    Path dir;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private Guest dom0(int domid, String name, String uuid) {
        return new Guest(domid, name, uuid, Placement.DOM0, 0, dir.resolve("qmp-libxenstat-" + domid));
    }

    private <T extends AutoCloseable> T closing(T c) {
        closing.add(c);
        return c;
    }

    private DeviceModelScraper scraper(Duration timeout, Guest... guests) {
        return closing(new DeviceModelScraper(() -> List.of(guests), timeout));
    }

    private static String scrape(DeviceModelScraper scraper) throws Exception {
        return scraper.scrape().get(30, TimeUnit.SECONDS);
    }

    @Test
    void theGuestsIdentityIsXenstoresNotTheDeviceModels() throws Exception {
        Guest guest = dom0(7, "fw1", UUID_7);
        // A device model that claims to be domain 1, another guest, with its name and uuid.
        closing(FakeDeviceModels.serving(guest.socket(), FakeDeviceModels.metrics("1", "web", UUID_3, 41,
                Duration.ofNanos(700))));
        String text = scrape(scraper(Duration.ofSeconds(5), guest));

        assertEquals(41.0, value(text, "stubdm_ioreqs_total", "domid", "7", "name", "fw1", "uuid", UUID_7,
                "placement", "dom0", "type", "pio"));
        assertFalse(text.contains("domid=\"1\""), text);
        assertFalse(text.contains("\"web\""), text);
        assertFalse(text.contains(UUID_3), text);
        for (Family f : PrometheusText.parse(text)) {
            for (Sample s : f.samples()) {
                if (!s.name().startsWith("stubdm_exporter_")) {
                    assertEquals(List.of("domid", "name", "uuid", "placement"),
                            new ArrayList<>(s.labels().keySet()).subList(0, 4), s.toString());
                    assertEquals("7", s.labels().get("domid"), s.toString());
                }
            }
        }
        assertEquals(1.0, value(text, "stubdm_up", "domid", "7", "name", "fw1", "placement", "dom0"));
    }

    @Test
    void aDeviceModelThatPosesAsTwoGuestsOrAsTheExporterIsNotBelieved() throws Exception {
        Guest two = dom0(3, "web", UUID_3);
        Guest exporter = dom0(4, "odd", UUID_5);
        Guest honest = dom0(7, "fw1", UUID_7);
        closing(FakeDeviceModels.serving(two.socket(), "x{domid=\"1\"} 1\nx{domid=\"2\"} 2\n"));
        closing(FakeDeviceModels.serving(exporter.socket(), "stubdm_up{domid=\"7\"} 1\n"));
        closing(FakeDeviceModels.serving(honest.socket(), FakeDeviceModels.metrics("7", "fw1", UUID_7, 1)));
        String text = scrape(scraper(Duration.ofSeconds(5), two, exporter, honest));

        assertEquals(0.0, value(text, "stubdm_up", "domid", "3"));
        assertEquals(0.0, value(text, "stubdm_up", "domid", "4"));
        assertEquals(1.0, value(text, "stubdm_up", "domid", "7"));
        assertEquals(2.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "malformed"));
        assertFalse(text.contains("\nx{"), text);
    }

    @Test
    void everyKindOfFailureCostsOnlyItsGuestAndIsCountedByReason() throws Exception {
        Guest ok = dom0(3, "web", UUID_3);
        Guest missing = dom0(4, "gone", UUID_5);
        Guest refuses = dom0(5, "refuses", UUID_5);
        Guest garbage = dom0(6, "garbage", UUID_5);
        Guest silent = dom0(8, "silent", UUID_5);
        Guest wrongFormat = dom0(9, "openmetrics", UUID_5);
        closing(FakeDeviceModels.serving(ok.socket(), FakeDeviceModels.metrics("3", "web", UUID_3, 10)));
        closing(FakeDeviceModels.serving(refuses.socket(), args -> {
            throw QmpError.generic("metrics are off");
        }));
        closing(FakeDeviceModels.serving(garbage.socket(), "stubdm_ioreqs_total{type=\"pio\" 12\n"));
        closing(new QmpClientTest.RawPeer(silent.socket(), ""));
        closing(FakeDeviceModels.serving(wrongFormat.socket(), args -> JsonNodeFactory.instance.objectNode()
                .put("content-type", "application/openmetrics-text; version=1.0.0").put("text", "x 1\n# EOF\n")));

        DeviceModelScraper scraper = scraper(Duration.ofMillis(600), ok, missing, refuses, garbage, silent,
                wrongFormat);
        long start = System.nanoTime();
        String text = scrape(scraper);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(millis < 3000, "a hung device model holds the scrape for its timeout only: " + millis + " ms");

        assertEquals(1.0, value(text, "stubdm_up", "domid", "3"));
        assertEquals(10.0, value(text, "stubdm_ioreqs_total", "domid", "3", "type", "pio"));
        for (String down : List.of("4", "5", "6", "8", "9")) {
            assertEquals(0.0, value(text, "stubdm_up", "domid", down), "domain " + down);
        }
        assertEquals(1.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "connect"));
        assertEquals(1.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "qmp_error"));
        assertEquals(2.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "malformed"));
        assertEquals(1.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "timeout"));
        assertTrue(value(text, "stubdm_scrape_duration_seconds", "domid", "8") >= 0.5, text);
        assertTrue(value(text, "stubdm_scrape_duration_seconds", "domid", "3") < 0.5, text);

        // The counters count on: the next scrape fails the same way and adds to them.
        String again = scrape(scraper);
        assertEquals(2.0, value(again, "stubdm_exporter_scrape_errors_total", "reason", "connect"));
        assertEquals(1.0, value(again, "stubdm_up", "domid", "3"));
    }

    @Test
    void scrapesAskedForMeanwhileShareTheRunningOne() throws Exception {
        Guest slow = dom0(8, "silent", UUID_5);
        closing(new QmpClientTest.RawPeer(slow.socket(), ""));
        DeviceModelScraper scraper = scraper(Duration.ofMillis(400), slow);
        CompletableFuture<String> first = scraper.scrape();
        CompletableFuture<String> second = scraper.scrape();
        assertSame(first, second);
        String text = first.get(10, TimeUnit.SECONDS);
        assertEquals(1.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "timeout"),
                "one scrape, one failure");
        CompletableFuture<String> third = scraper.scrape();
        assertNotSame(first, third);
        // The silent peer took one connection only; the next attempt finds nobody accepting in time, or at all.
        third.get(10, TimeUnit.SECONDS);
    }

    @Test
    void noGuestsIsStillAScrape() throws Exception {
        String text = scrape(scraper(Duration.ofSeconds(1)));
        assertTrue(text.contains("# TYPE stubdm_up gauge\n"), text);
        assertEquals(0.0, value(text, "stubdm_exporter_scrape_errors_total", "reason", "timeout"));
    }

    @Test
    void xenstoreUnreadableFailsTheScrape() {
        DeviceModelScraper scraper = closing(new DeviceModelScraper(() -> {
            throw new XenException("xs_directory", XenException.EIO, "");
        }, Duration.ofSeconds(1)));
        CompletableFuture<String> f = scraper.scrape();
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("xs_directory"), e.getCause().toString());
    }
}
