package io.stubdm.backends.chardev;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileBackendTest {
    @TempDir
    Path dir;

    @Test
    void appendsWhatTheGuestPrintsAndFlushesOnClose() throws Exception {
        Path log = dir.resolve("serial.log");
        Files.writeString(log, "previous boot\n");
        FileBackend backend = FileBackend.open(log);
        assertEquals("file:" + log, backend.describe());
        byte[] text = new byte[10_000];
        for (int i = 0; i < text.length; i++) {
            text[i] = (byte) ('a' + i % 26);
        }
        try (GuestPort guest = new GuestPort(backend)) {
            guest.print(text);
        }
        byte[] content = Files.readAllBytes(log);
        String expected = "previous boot\n" + new String(text, StandardCharsets.US_ASCII);
        assertEquals(expected, new String(content, StandardCharsets.US_ASCII));
    }
}
