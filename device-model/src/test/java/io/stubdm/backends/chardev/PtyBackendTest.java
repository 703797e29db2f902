package io.stubdm.backends.chardev;

import static org.junit.jupiter.api.Assertions.*;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A real pty: the guest on one side, a client holding the slave (as xl console does) on the other. */
class PtyBackendTest {

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void guestAndClientTalkInRawMode() throws Exception {
        PtyBackend pty = PtyBackend.open();
        try (GuestPort guest = new GuestPort(pty)) {
            assertTrue(pty.describe().startsWith("pty:/dev/pts/"), pty.describe());
            assertEquals("pty:" + pty.slavePath(), pty.describe());
            assertTrue(Files.exists(Path.of(pty.slavePath())));
            try (RandomAccessFile client = new RandomAccessFile(pty.slavePath(), "rw")) {
                // CR, Ctrl-C, DEL and a high byte pass unchanged only if the line discipline is raw both ways.
                byte[] out = ascii("login: \r\n\u0003\u007f\u00ff");
                guest.print(out);
                assertArrayEquals(out, HostIo.readExactly(client, out.length));
                byte[] in = ascii("root\r\u0003\u0004\u001a\u00e9");
                client.write(in);
                assertArrayEquals(in, guest.read(in.length));
            }
            assertEquals(0, pty.discardedBytes());
        }
    }

    /** Without a client, output goes nowhere (QEMU's pty does the same) and the guest never stalls on it. */
    @Test
    void outputWithoutAClientIsDiscardedAndNotReplayedLater() throws Exception {
        PtyBackend pty = PtyBackend.open();
        try (GuestPort guest = new GuestPort(pty)) {
            byte[] early = new byte[20_000];
            guest.print(early);
            HostIo.await("the backend to discard the early output", () -> pty.discardedBytes() == early.length);
            assertEquals(early.length, guest.engine.onLoop(guest.uart::bytesTransmitted));
            try (RandomAccessFile client = new RandomAccessFile(pty.slavePath(), "rw")) {
                guest.print(ascii("fresh"));
                assertArrayEquals(ascii("fresh"), HostIo.readExactly(client, 5));
            }
        }
    }

    @Test
    void backpressureBothWaysLosesNothing() throws Exception {
        PtyBackend pty = PtyBackend.open();
        try (TestFrontend frontend = new TestFrontend();
             RandomAccessFile client = new RandomAccessFile(pty.slavePath(), "rw")) {
            frontend.setRoom(3);
            pty.connect(frontend.loop, frontend);

            // Input: the frontend takes 3 bytes; the rest waits in the backend until it asks for more.
            byte[] typed = ascii("0123456789");
            client.write(typed);
            assertArrayEquals(ascii("012"), frontend.awaitReceived(3));
            frontend.onLoop(() -> {
                frontend.setRoom(Long.MAX_VALUE);
                pty.acceptInput();
                return null;
            });
            assertArrayEquals(typed, frontend.awaitReceived(typed.length));

            // Output: a client that does not read fills the tty and the backend's buffer, then write() pushes back.
            byte[] chunk = new byte[1024];
            long accepted = 0;
            int last;
            do {
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = (byte) ((accepted + i) % 251);
                }
                long base = accepted;
                last = frontend.onLoop(() -> pty.write(chunk, 0, chunk.length));
                accepted = base + last;
                assertTrue(accepted < (8 << 20), "the backend never pushed back");
            } while (last == chunk.length);
            byte[] all = HostIo.readExactly(client, (int) accepted);
            for (int i = 0; i < all.length; i++) {
                assertEquals((byte) (i % 251), all[i], "byte " + i);
            }
            frontend.awaitWritable();
            assertEquals(0, pty.discardedBytes());
        } finally {
            pty.close();
        }
    }
}
