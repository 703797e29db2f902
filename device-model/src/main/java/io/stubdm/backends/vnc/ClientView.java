package io.stubdm.backends.vnc;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * What one client has of the framebuffer and what it asked for: its pixel format and encodings, its outstanding
 * FramebufferUpdateRequest, the size it believes the framebuffer has, and the tiles changed since it was last
 * sent them. The session's event loop records requests; the refresh thread turns them into updates.
 */
final class ClientView implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ClientView.class.getName());

    private final Channel channel;
    private final String peer;
    /** Used by the refresh thread only, and closed with the view. */
    private final ZrleEncoder zrle = new ZrleEncoder();

    // Guarded by this.
    private PixelEncoder pixels = new PixelEncoder(PixelFormat.SERVER);
    private int encoding = FramebufferUpdate.RAW;
    private boolean desktopSize;
    private boolean requested;
    private boolean incrementalOnly;
    private Rect region = Rect.EMPTY;
    private TileGrid dirty;
    private boolean warnedResize;

    /** A client just told, in ServerInit, that the framebuffer is width × height. */
    ClientView(Channel channel, String peer, int width, int height) {
        this.channel = channel;
        this.peer = peer;
        this.dirty = new TileGrid(width, height);
        dirty.markAll(); // it has nothing yet
    }

    Channel channel() {
        return channel;
    }

    synchronized void setPixelFormat(PixelFormat format) {
        pixels = new PixelEncoder(format);
    }

    synchronized PixelFormat pixelFormat() {
        return pixels.format();
    }

    /** SetEncodings (RFC 6143 §7.5.2): the list is in preference order, so the first of Raw and ZRLE wins. */
    synchronized void setEncodings(int[] encodings) {
        int chosen = FramebufferUpdate.RAW;
        boolean resize = false;
        boolean decided = false;
        for (int e : encodings) {
            if (!decided && (e == FramebufferUpdate.RAW || e == FramebufferUpdate.ZRLE)) {
                chosen = e;
                decided = true;
            }
            resize |= e == FramebufferUpdate.DESKTOP_SIZE;
        }
        encoding = chosen;
        desktopSize = resize;
    }

    synchronized int encoding() {
        return encoding;
    }

    synchronized boolean supportsDesktopSize() {
        return desktopSize;
    }

    /** FramebufferUpdateRequest (§7.5.3); requests not yet answered are merged. */
    synchronized void request(boolean incremental, Rect area) {
        incrementalOnly = requested ? incrementalOnly && incremental : incremental;
        region = requested ? region.union(area) : area;
        requested = true;
    }

    synchronized boolean hasRequest() {
        return requested;
    }

    /** Adds tiles that changed in the shadow frame; ignored across a size change, which resends everything. */
    synchronized void addDirty(TileGrid changed) {
        if (changed.width() == dirty.width() && changed.height() == dirty.height()) {
            dirty.or(changed);
        }
    }

    /**
     * The messages that answer the outstanding request from {@code frame}, or an empty list when there is
     * nothing to send yet (an incremental request with no change in its region stays outstanding).
     */
    List<ByteBuf> takeUpdate(ShadowFrame frame) {
        List<Rect> rects;
        PixelEncoder format;
        int enc;
        boolean announceSize = false;
        synchronized (this) {
            if (!requested) {
                return List.of();
            }
            Rect whole = new Rect(0, 0, frame.width(), frame.height());
            if (frame.width() != dirty.width() || frame.height() != dirty.height()) {
                // The guest changed mode: the old region means nothing now, the client gets all of it.
                announceSize = desktopSize;
                if (!desktopSize && !warnedResize) {
                    warnedResize = true;
                    LOG.log(Level.INFO, "VNC client " + peer + " does not support DesktopSize; sending the "
                            + frame.width() + "x" + frame.height() + " picture anyway");
                }
                dirty = new TileGrid(frame.width(), frame.height());
                rects = List.of(whole);
            } else {
                Rect area = region.intersect(whole);
                if (incrementalOnly) {
                    rects = dirty.takeRuns(area);
                    if (rects.isEmpty()) {
                        return List.of();
                    }
                } else {
                    dirty.clearInside(area);
                    rects = area.isEmpty() ? List.of() : List.of(area);
                }
            }
            requested = false;
            region = Rect.EMPTY;
            format = pixels;
            enc = encoding;
        }
        List<ByteBuf> out = new ArrayList<>(2);
        try {
            if (announceSize) {
                out.add(FramebufferUpdate.desktopSize(channel.alloc(), frame.width(), frame.height()));
            }
            out.add(FramebufferUpdate.pixels(channel.alloc(), frame, rects, enc, format, zrle));
            return out;
        } catch (RuntimeException | Error e) {
            out.forEach(ByteBuf::release);
            throw e;
        }
    }

    @Override
    public void close() {
        zrle.close();
    }

    @Override
    public String toString() {
        return peer;
    }
}
