package io.stubdm.backends.chardev;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A device node as a stub domain's /dev/hvcN would be: here the slave of a pty, whose master another backend
 * holds, so both ends are real descriptors.
 */
class DeviceFileBackendTest {

    @Test
    void readsAndWritesTheNodeRaw() throws Exception {
        PtyBackend far = PtyBackend.open();
        DeviceFileBackend node = DeviceFileBackend.open(far.slavePath());
        try (TestFrontend nodeSide = new TestFrontend(); TestFrontend farSide = new TestFrontend()) {
            assertEquals(far.slavePath(), node.describe());
            node.connect(nodeSide.loop, nodeSide);
            far.connect(farSide.loop, farSide);
            byte[] ping = "ping\r\n\u0003".getBytes(StandardCharsets.ISO_8859_1);
            assertEquals(ping.length, (int) nodeSide.onLoop(() -> node.write(ping, 0, ping.length)));
            assertArrayEquals(ping, farSide.awaitReceived(ping.length));
            byte[] pong = "pong\r\u007f".getBytes(StandardCharsets.ISO_8859_1);
            assertEquals(pong.length, (int) farSide.onLoop(() -> far.write(pong, 0, pong.length)));
            assertArrayEquals(pong, nodeSide.awaitReceived(pong.length));
        } finally {
            node.close();
            far.close();
        }
    }

    @Test
    void aMissingNodeIsAnIoErrorNamingIt() {
        IOException e = assertThrows(IOException.class,
                () -> DeviceFileBackend.open("/dev/hvc-that-does-not-exist"));
        assertTrue(e.getMessage().contains("/dev/hvc-that-does-not-exist"), e.getMessage());
    }
}
