package io.stubdm.backends.vnc;

import static io.stubdm.backends.vnc.EmbeddedRfb.output;
import static io.stubdm.backends.vnc.EmbeddedRfb.send;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import io.stubdm.backends.vnc.RfbClient.Rectangle;
import io.stubdm.devices.vga.VgaRenderer.Frame;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Framebuffer updates: dirty tiles, requests, encodings, resizes and backpressure, ticked by hand. */
class VncUpdatesTest {
    private final EmbeddedRfb rfb = new EmbeddedRfb(new FakeConsole(64, 48, 0x336699), false);

    private RfbClient session(EmbeddedChannel ch, int... encodings) throws IOException {
        RfbClient c = rfb.attach(ch, 64, 48);
        if (encodings.length > 0) {
            c.setEncodings(encodings);
        }
        assertArrayEquals(rfb.console.pixels(), c.requestFullFrame());
        return c;
    }

    @Test
    void fullFrameThenOnlyWhatChanged() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = session(ch)) {
            assertEquals(List.of(new Rectangle(0, 0, 64, 48, RfbClient.RAW)), c.lastUpdate());
            // Nothing changed: an incremental request stays outstanding, nothing is sent.
            c.requestUpdate(true, 0, 0, 64, 48);
            rfb.tick();
            assertArrayEquals(new byte[0], output(ch));
            // A change inside one 16×16 tile: that tile, and the request is answered now.
            rfb.console.fillRect(20, 21, 5, 5, 0xFFFFFF);
            assertArrayEquals(rfb.console.pixels(), c.readUpdate(0));
            assertEquals(List.of(new Rectangle(16, 16, 16, 16, RfbClient.RAW)), c.lastUpdate());
        }
    }

    @Test
    void adjacentTilesMergeAcrossAndDown() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = session(ch)) {
            rfb.console.fillRect(10, 2, 30, 2, 0xFF0000); // tiles (0..2, 0)
            rfb.console.fillRect(50, 0, 1, 48, 0x00FF00); // tiles (3, 0..2)
            assertArrayEquals(rfb.console.pixels(), c.awaitUpdate(true, 0));
            assertEquals(List.of(new Rectangle(0, 0, 64, 16, 0), new Rectangle(48, 16, 16, 32, 0)), c.lastUpdate());
        }
    }

    @Test
    void partialEdgeTilesAreClipped() throws IOException {
        rfb.console.setFrame(100, 70, 0);
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = rfb.attach(ch, 100, 70)) {
            c.requestFullFrame();
            rfb.console.setPixel(99, 69, 0xABCDEF);
            assertArrayEquals(rfb.console.pixels(), c.awaitUpdate(true, 0));
            assertEquals(List.of(new Rectangle(96, 64, 4, 6, 0)), c.lastUpdate());
        }
    }

    @Test
    void onlyTilesTouchingTheRequestedRegionAreSentAndTheRestWaits() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = session(ch)) {
            rfb.console.setPixel(1, 1, 0x111111);
            rfb.console.setPixel(40, 40, 0x222222);
            c.requestUpdate(true, 32, 32, 32, 16);
            c.readUpdate(0);
            assertEquals(List.of(new Rectangle(32, 32, 16, 16, 0)), c.lastUpdate());
            assertArrayEquals(rfb.console.pixels(), c.awaitUpdate(true, 0));
            assertEquals(List.of(new Rectangle(0, 0, 16, 16, 0)), c.lastUpdate());
        }
    }

    @Test
    void nonIncrementalRequestSendsItsRegionClippedToTheFrame() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = session(ch)) {
            c.requestUpdate(false, 40, 30, 1000, 1000);
            c.readUpdate(0);
            assertEquals(List.of(new Rectangle(40, 30, 24, 18, 0)), c.lastUpdate());
            c.requestUpdate(false, 10, 10, 0, 0); // an empty region still gets its (empty) answer
            c.readUpdate(0);
            assertEquals(List.of(), c.lastUpdate());
        }
    }

    @Test
    void outstandingRequestsMerge() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = session(ch)) {
            rfb.console.setPixel(0, 0, 0xFFFFFF);
            c.requestUpdate(true, 0, 0, 64, 48);
            c.requestUpdate(true, 0, 0, 64, 48);
            rfb.tick();
            c.readUpdate(0);
            assertArrayEquals(new byte[0], output(ch)); // one update for both
        }
    }

    @Test
    void zrleWhenListedBeforeRaw() throws IOException {
        EmbeddedChannel zrleFirst = rfb.ready();
        EmbeddedChannel rawFirst = rfb.ready();
        try (RfbClient z = session(zrleFirst, RfbClient.ZRLE, RfbClient.RAW);
                RfbClient r = session(rawFirst, 7, RfbClient.RAW, RfbClient.ZRLE)) {
            assertEquals(RfbClient.ZRLE, z.lastUpdate().get(0).encoding());
            assertEquals(RfbClient.RAW, r.lastUpdate().get(0).encoding());
            rfb.console.fillRect(0, 0, 64, 48, 0x123456);
            z.requestUpdate(true, 0, 0, 64, 48);
            r.requestUpdate(true, 0, 0, 64, 48);
            assertArrayEquals(rfb.console.pixels(), z.readUpdate(0));
            assertArrayEquals(rfb.console.pixels(), r.readUpdate(0));
        }
    }

    @Test
    void clientPixelFormatIsUsed() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = rfb.attach(ch, 64, 48)) {
            c.setPixelFormat(Encoded.clientFormat(new PixelFormat(8, 8, false, true, 7, 7, 3, 0, 3, 6)));
            rfb.console.fillRect(0, 0, 32, 48, 0xFF00FF);
            rfb.console.fillRect(32, 0, 32, 48, 0x00FFFF);
            assertArrayEquals(rfb.console.pixels(), c.requestFullFrame());
            c.setEncodings(RfbClient.ZRLE);
            assertArrayEquals(rfb.console.pixels(), c.requestFullFrame());
        }
    }

    @Test
    void desktopSizeThenTheWholeNewPicture() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = session(ch, RfbClient.ZRLE, RfbClient.DESKTOP_SIZE)) {
            rfb.console.setFrame(80, 60, 0x00FF00);
            rfb.console.setPixel(79, 59, 0xFF0000);
            c.requestUpdate(true, 0, 0, 64, 48);
            assertArrayEquals(rfb.console.pixels(), c.readUpdate(0));
            assertEquals(80, c.width());
            assertEquals(60, c.height());
            assertEquals(List.of(new Rectangle(0, 0, 80, 60, RfbClient.ZRLE)), c.lastUpdate());
        }
    }

    @Test
    void desktopSizeIsAnUpdateOfItsOwn() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        send(ch, RfbMessages.setEncodings(RfbClient.RAW, RfbClient.DESKTOP_SIZE));
        send(ch, RfbMessages.updateRequest(true, 0, 0, 64, 48));
        rfb.console.setFrame(32, 16, 0);
        rfb.tick();
        ByteBuffer b = ByteBuffer.wrap(output(ch));
        // FramebufferUpdate with one rectangle: the DesktopSize pseudo-rectangle (RFC 6143 §7.8.2).
        assertEquals(0, b.get());
        b.get();
        assertEquals(1, b.getShort());
        assertEquals(0, b.getShort());
        assertEquals(0, b.getShort());
        assertEquals(32, b.getShort());
        assertEquals(16, b.getShort());
        assertEquals(RfbClient.DESKTOP_SIZE, b.getInt());
        // Then the picture.
        assertEquals(0, b.get());
        b.get();
        assertEquals(1, b.getShort());
        assertEquals(4 + 12 + 32 * 16 * 4, b.limit() - 16);
    }

    @Test
    void clientWithoutDesktopSizeGetsTheNewSizeAnyway() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        send(ch, RfbMessages.updateRequest(true, 0, 0, 64, 48));
        rfb.console.setFrame(32, 16, 0xFFFFFF);
        rfb.tick();
        try (RfbClient c = Encoded.reader(output(ch), 32, 16, PixelFormat.SERVER)) {
            assertArrayEquals(rfb.console.pixels(), c.readUpdate(0));
            assertEquals(List.of(new Rectangle(0, 0, 32, 16, 0)), c.lastUpdate());
        }
    }

    @Test
    void unwritableClientIsSkippedAndCatchesUpLater() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        try (RfbClient c = session(ch)) {
            ch.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
            c.requestUpdate(true, 0, 0, 64, 48);
            rfb.console.setPixel(3, 3, 0xFFFFFF);
            rfb.tick();
            rfb.console.setPixel(60, 40, 0xFFFFFF);
            rfb.tick();
            assertArrayEquals(new byte[0], output(ch));
            ch.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
            assertArrayEquals(rfb.console.pixels(), c.readUpdate(0));
            assertEquals(List.of(new Rectangle(0, 0, 16, 16, 0), new Rectangle(48, 32, 16, 16, 0)), c.lastUpdate());
        }
    }

    @Test
    void eachClientHasItsOwnDirtyTiles() throws IOException {
        EmbeddedChannel a = rfb.ready();
        EmbeddedChannel b = rfb.ready();
        try (RfbClient ca = session(a); RfbClient cb = session(b)) {
            rfb.console.setPixel(5, 5, 0xFFFFFF);
            assertArrayEquals(rfb.console.pixels(), ca.awaitUpdate(true, 0)); // b had no request then
            rfb.console.setPixel(50, 5, 0xFFFFFF);
            assertArrayEquals(rfb.console.pixels(), cb.awaitUpdate(true, 0));
            assertEquals(List.of(new Rectangle(0, 0, 16, 16, 0), new Rectangle(48, 0, 16, 16, 0)), cb.lastUpdate());
            assertArrayEquals(rfb.console.pixels(), ca.awaitUpdate(true, 0));
            assertEquals(List.of(new Rectangle(48, 0, 16, 16, 0)), ca.lastUpdate());
        }
    }

    @Test
    void noCaptureWithoutARequest() throws IOException {
        EmbeddedChannel ch = rfb.ready();
        int before = rfb.console.captures();
        rfb.tick();
        rfb.tick();
        assertEquals(before, rfb.console.captures());
        assertTrue(ch.isActive());
    }

    @Test
    void aFailingCaptureDelaysServerInitButBreaksNothing() throws IOException {
        rfb.console.failCaptures(new IllegalStateException("renderer gone"));
        EmbeddedChannel ch = rfb.open();
        output(ch);
        send(ch, EmbeddedRfb.ascii("RFB 003.008\n"));
        send(ch, (byte) 1, (byte) 1);
        output(ch);
        rfb.tick();
        rfb.tick();
        assertArrayEquals(new byte[0], output(ch));
        rfb.console.failCaptures(null);
        rfb.tick();
        assertEquals(4 + 16 + 4 + "test-desktop".length(), output(ch).length);
    }

    @Test
    void connectionsThatLeaveBeforeServerInitAreForgotten() {
        rfb.console.failCaptures(new IllegalStateException("renderer gone"));
        for (int i = 0; i < 3; i++) {
            EmbeddedChannel ch = rfb.open();
            send(ch, EmbeddedRfb.ascii("RFB 003.008\n"));
            send(ch, (byte) 1, (byte) 1);
            rfb.tick();
            ch.close();
        }
        rfb.console.failCaptures(null);
        int before = rfb.console.captures();
        rfb.tick();
        assertEquals(before, rfb.console.captures()); // nobody left to capture for
    }

    @Test
    void badFramesAreNotShown() {
        EmbeddedChannel ch = rfb.ready();
        VncConsole broken = new VncConsole() {
            @Override
            public Frame capture() {
                return new Frame(64, 48, new int[10]); // fewer pixels than it claims
            }

            @Override
            public void key(int set2Code, boolean down) {}

            @Override
            public void pointer(int dx, int dy, int dz, int buttons) {}
        };
        RefreshLoop loop = new RefreshLoop(broken);
        try (ClientView v = new ClientView(ch, "test", 64, 48)) {
            loop.add(v);
            v.request(false, new Rect(0, 0, 64, 48));
            loop.tick();
            assertArrayEquals(new byte[0], output(ch));
            assertTrue(v.hasRequest()); // still waiting for a picture it can be shown
        }
    }

    @Test
    void refreshThreadAnswersOnItsOwn() throws Exception {
        RefreshLoop loop = new RefreshLoop(rfb.console);
        java.util.concurrent.CompletableFuture<String> size = new java.util.concurrent.CompletableFuture<>();
        loop.start();
        try {
            loop.requestInit(new EmbeddedChannel(), (w, h) -> size.complete(w + "x" + h));
            assertEquals("64x48", size.get(10, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            loop.close();
        }
    }
}
