package io.stubdm.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExporterCommandTest {

    private static List<String> args(String line) {
        return line.isBlank() ? List.of() : List.of(line.trim().split(" +"));
    }

    @Test
    void defaults() {
        ExporterCommand.Options o = ExporterCommand.parse(List.of());
        assertEquals(new InetSocketAddress("127.0.0.1", 9750), o.listen());
        assertEquals(Duration.ofSeconds(5), o.timeout());
        assertEquals(Path.of("/var/run/xen"), o.qmpDir());
    }

    @Test
    void everyOptionInBothSpellings() {
        ExporterCommand.Options o = ExporterCommand.parse(args("--listen [::1]:9751 --timeout 2.5 --qmp-dir /tmp/q"));
        assertEquals(new InetSocketAddress("::1", 9751), o.listen());
        assertEquals(Duration.ofMillis(2500), o.timeout());
        assertEquals(Path.of("/tmp/q"), o.qmpDir());
        o = ExporterCommand.parse(args("--listen=0.0.0.0:80 --timeout=60 --qmp-dir=/run/xen"));
        assertEquals(new InetSocketAddress("0.0.0.0", 80), o.listen());
        assertEquals(Duration.ofSeconds(60), o.timeout());
        assertEquals(Path.of("/run/xen"), o.qmpDir());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "--listen 127.0.0.1              | --listen wants HOST:PORT",
            "--listen :9750                  | --listen wants HOST:PORT",
            "--listen 127.0.0.1:99999        | '99999' is not a port",
            "--listen 127.0.0.1:http         | 'http' is not a port",
            "--listen ::1:9750               | put an IPv6 address in brackets",
            "--listen [::1]9750              | --listen wants HOST:PORT",
            "--listen                        | --listen needs a value",
            "--timeout abc                   | --timeout wants seconds",
            "--timeout -1                    | --timeout wants seconds",
            "--timeout 0                     | must be more than 0",
            "--timeout 61                    | at most 60 seconds",
            "--timeout 1 --timeout 2         | --timeout is given twice",
            "--qmp-dir=                      | --qmp-dir needs a directory",
            "--port 9750                     | unknown argument '--port'",
            "9750                            | unknown argument '9750'",
    })
    void badArgumentsExitWith2AndSayWhy(String line, String expected) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> argv = new ArrayList<>(List.of("exporter"));
        argv.addAll(args(line));
        int status = ExporterCommand.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String said = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, status, said);
        assertTrue(said.startsWith("stubdm exporter: "), said);
        assertTrue(said.contains(expected), "'" + said + "' should say '" + expected + "'");
        assertTrue(said.contains(ExporterCommand.USAGE), said);
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpIsUsageAndSuccess() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = ExporterCommand.run(List.of("exporter", "--help"),
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertEquals(0, status);
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith(ExporterCommand.USAGE));
    }
}
