package io.stubdm.backends.chardev;

import static org.junit.jupiter.api.Assertions.*;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** QEMU's pipe: chardev over real FIFOs, as libxl makes them with mkfifo for a stub domain's restore console. */
class PipeBackendTest {
    @TempDir
    Path dir;

    private static Path mkfifo(Path path) throws Exception {
        Process p = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
        assertEquals(0, p.waitFor(), "mkfifo " + path);
        return path;
    }

    @Test
    void oneFifoCarriesWhatTheToolstackWritesToTheDomain() throws Exception {
        Path resume = mkfifo(dir.resolve("qemu-resume.7"));
        PipeBackend backend = PipeBackend.open(resume);
        assertEquals("pipe:" + resume, backend.describe());
        try (TestFrontend stub = new TestFrontend()) {
            backend.connect(stub.loop, stub);
            byte[] state = new byte[20_000];
            for (int i = 0; i < state.length; i++) {
                state[i] = (byte) (i * 31);
            }
            // libxl's side: it opens the FIFO write-only, which would block if the backend held no end of it.
            try (OutputStream toolstack = new FileOutputStream(resume.toFile())) {
                toolstack.write(state);
            }
            assertArrayEquals(state, stub.awaitReceived(state.length));
        } finally {
            backend.close();
        }
    }

    @Test
    void withInAndOutFifosInputComesFromOneAndOutputGoesToTheOther() throws Exception {
        Path base = dir.resolve("console");
        mkfifo(dir.resolve("console.in"));
        mkfifo(dir.resolve("console.out"));
        CharBackend backend = CharBackends.parse("pipe:" + base).orElseThrow();
        assertInstanceOf(PipeBackend.class, backend);
        try (TestFrontend stub = new TestFrontend()) {
            backend.connect(stub.loop, stub);
            byte[] hello = "hello from the stub\n".getBytes(StandardCharsets.US_ASCII);
            assertEquals(hello.length, (int) stub.onLoop(() -> backend.write(hello, 0, hello.length)));
            try (InputStream reader = new FileInputStream(dir.resolve("console.out").toFile())) {
                // Byte by byte: FileInputStream.readNBytes seeks, which a FIFO refuses.
                byte[] got = new byte[hello.length];
                for (int i = 0; i < got.length; i++) {
                    got[i] = (byte) reader.read();
                }
                assertArrayEquals(hello, got);
            }
            try (OutputStream writer = new FileOutputStream(dir.resolve("console.in").toFile())) {
                writer.write("typed\n".getBytes(StandardCharsets.US_ASCII));
            }
            assertEquals("typed\n", new String(stub.awaitReceived(6), StandardCharsets.US_ASCII));
        } finally {
            backend.close();
        }
    }

    @Test
    void onlyOneOfInAndOutMeansThePathItself() throws Exception {
        Path base = dir.resolve("half");
        Files.writeString(dir.resolve("half.in"), "ignored");
        Files.writeString(base, "from the path itself");
        try (TestFrontend stub = new TestFrontend(); CharBackend backend = CharBackends.parse("pipe:" + base).orElseThrow()) {
            backend.connect(stub.loop, stub);
            assertEquals("from the path itself", new String(stub.awaitReceived(20), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void aMissingPipeIsAnErrorNamingIt() {
        Path missing = dir.resolve("no-such-fifo");
        IOException e = assertThrows(IOException.class, () -> PipeBackend.open(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertThrows(java.io.UncheckedIOException.class, () -> CharBackends.parse("pipe:" + missing));
    }

    @Test
    void fileOutputTruncatesWhenAskedAsQemuDoesAndAppendOnStillAppends() throws Exception {
        Path save = dir.resolve("qemu-save.7");
        Files.writeString(save, "a previous save, longer than the next one");
        try (TestFrontend stub = new TestFrontend(); CharBackend b = CharBackends.parse("file:" + save, false).orElseThrow()) {
            b.connect(stub.loop, stub);
            byte[] now = "new".getBytes(StandardCharsets.US_ASCII);
            assertEquals(3, (int) stub.onLoop(() -> b.write(now, 0, now.length)));
        }
        assertEquals("new", Files.readString(save));
        try (TestFrontend stub = new TestFrontend();
                CharBackend b = CharBackends.parse("file,id=x,path=" + save + ",append=on", false).orElseThrow()) {
            b.connect(stub.loop, stub);
            byte[] more = "+more".getBytes(StandardCharsets.US_ASCII);
            assertEquals(5, (int) stub.onLoop(() -> b.write(more, 0, more.length)));
        }
        assertEquals("new+more", Files.readString(save));
        try (CharBackend b = CharBackends.parse("file:" + save).orElseThrow()) {
            assertEquals("file:" + save, b.describe());
        }
        assertEquals("new+more", Files.readString(save), "a serial port's file: still appends");
    }
}
