package io.stubdm.backends.chardev;

import static org.junit.jupiter.api.Assertions.*;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The -serial and -chardev argument forms libxl passes to QEMU. */
class CharBackendsTest {
    @TempDir
    Path dir;

    private static CharBackend open(String spec) {
        return CharBackends.parse(spec).orElseThrow();
    }

    @Test
    void noneMeansNoPortAndNullMeansAnEmptyOne() {
        assertEquals(Optional.empty(), CharBackends.parse("none"));
        try (CharBackend b = open("null")) {
            assertInstanceOf(NullBackend.class, b);
            assertEquals("null", b.describe());
            assertEquals(5, b.write(new byte[5], 0, 5));
        }
        try (CharBackend b = open("null,id=serial1")) {
            assertEquals("null", b.describe());
        }
    }

    @Test
    void pty() {
        for (String spec : new String[] {"pty", "pty,id=serial0"}) {
            try (CharBackend b = open(spec)) {
                assertInstanceOf(PtyBackend.class, b);
                assertTrue(b.describe().matches("pty:/dev/pts/\\d+"), b.describe());
            }
        }
    }

    /** Only opened, not connected: connecting would read the test JVM's stdin. */
    @Test
    void stdio() {
        try (CharBackend b = open("stdio")) {
            assertInstanceOf(StdioBackend.class, b);
            assertEquals("stdio", b.describe());
        }
    }

    @Test
    void file() {
        Path log = dir.resolve("com1.log");
        try (CharBackend b = open("file:" + log)) {
            assertEquals("file:" + log, b.describe());
        }
        try (CharBackend b = open("file,id=s0,path=" + log)) {
            assertEquals("file:" + log, b.describe());
        }
    }

    @Test
    void unixServerAndChardevSocket() {
        Path path = dir.resolve("s.sock");
        try (CharBackend b = open("unix:" + path + ",server=on,wait=off")) {
            assertEquals("disconnected:unix:" + path + ",server=on", b.describe());
        }
        try (CharBackend b = open("unix:" + path + ",server,nowait")) {
            assertEquals("disconnected:unix:" + path + ",server=on", b.describe());
        }
        try (CharBackend b = open("socket,id=libxl-cmd,path=" + path + ",server=on,wait=off")) {
            assertInstanceOf(UnixSocketBackend.class, b);
            assertEquals("disconnected:unix:" + path + ",server=on", b.describe());
        }
    }

    @Test
    void deviceNode() {
        try (CharBackend b = open("/dev/null")) {
            assertInstanceOf(DeviceFileBackend.class, b);
            assertEquals("/dev/null", b.describe());
        }
        try (CharBackend b = open("serial,id=s,path=/dev/null")) {
            assertEquals("/dev/null", b.describe());
        }
    }

    @Test
    void clientSocketWithNobodyListeningFailsToOpen() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> CharBackends.parse("unix:" + dir.resolve("nobody.sock")));
        assertTrue(e.getMessage().contains("nobody.sock"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "tcp:localhost:4555|'tcp:localhost:4555'",
        "vc|'vc'",
        "unix:/tmp/x.sock,server=maybe|server=maybe",
        "unix:/tmp/x.sock,bogus=1|'bogus'",
        "unix:/tmp/x.sock,server=on,server=off|'server' given twice",
        "unix:,server=on|empty path",
        "pty,id=s,logfile=/tmp/l|'logfile'",
        "socket,id=s,host=localhost,port=4555|missing path=",
        "file:|empty path",
        "file,id=x|missing path=",
        "stdio,id=x,signal=off|'signal'",
        "unix:/tmp/x.sock,,server|empty option",
    })
    void badSpecsNameTheBadPart(String spec, String named) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CharBackends.parse(spec));
        assertTrue(e.getMessage().contains(named), e.getMessage());
        assertTrue(e.getMessage().contains(spec), e.getMessage());
    }

    @Test
    void emptySpec() {
        assertThrows(IllegalArgumentException.class, () -> CharBackends.parse(""));
    }
}
