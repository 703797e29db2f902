package io.stubdm.backends.chardev;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A Unix stream socket, QEMU's {@code unix:/path[,server=on]}. As a server it listens and serves one client at
 * a time (others wait in the listen backlog until it leaves); as a client it connects once at open. While no
 * peer is connected, output is discarded as QEMU's socket chardev does (counted in {@link #discardedBytes()}),
 * and {@link #describe()} says {@code disconnected:unix:/path,server=on}, as {@code query-chardev} does.
 */
public final class UnixSocketBackend extends ThreadedBackend {
    private final Path path;
    private final ServerSocketChannel listener;
    private volatile SocketChannel peer;

    private UnixSocketBackend(Path path, ServerSocketChannel listener, SocketChannel peer) {
        this.path = path;
        this.listener = listener;
        this.peer = peer;
    }

    /**
     * Listens on {@code path}, replacing a stale socket left there (QEMU unlinks it too, but this refuses to
     * remove anything that is not a socket). With {@code waitForClient}, returns only once a client connected
     * (QEMU's {@code wait=on}, its default for servers).
     */
    public static UnixSocketBackend server(Path path, boolean waitForClient) throws IOException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                throw new IOException(path + " exists and is not a socket");
            }
            Files.delete(path);
        }
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            listener.bind(UnixDomainSocketAddress.of(path));
            SocketChannel first = waitForClient ? listener.accept() : null;
            return new UnixSocketBackend(path, listener, first);
        } catch (IOException | RuntimeException e) {
            listener.close();
            Files.deleteIfExists(path);
            throw e;
        }
    }

    /** Connects to a listening socket at {@code path}. */
    public static UnixSocketBackend client(Path path) throws IOException {
        return new UnixSocketBackend(path, null, SocketChannel.open(UnixDomainSocketAddress.of(path)));
    }

    @Override
    protected void startIo() {
        startReader(() -> {
            if (listener == null) {
                readFromPeer(peer);
                return;
            }
            while (!isClosed()) {
                SocketChannel c = peer != null ? peer : listener.accept();
                peer = c;
                readFromPeer(c);
            }
        });
        startWriter(() -> {
            byte[] chunk = new byte[OUTPUT_BUFFER_BYTES];
            int n;
            while ((n = takeOutput(chunk)) >= 0) {
                ByteBuffer b = ByteBuffer.wrap(chunk, 0, n);
                SocketChannel c = peer;
                try {
                    while (c != null && b.hasRemaining()) {
                        c.write(b);
                    }
                } catch (IOException e) {
                    if (isClosed()) {
                        return;
                    }
                }
                discard(b.remaining());
            }
        });
    }

    /** Delivers what the peer sends until it goes away, then forgets it. */
    private void readFromPeer(SocketChannel c) throws InterruptedException {
        ByteBuffer buf = ByteBuffer.allocate(OUTPUT_BUFFER_BYTES);
        try (c) {
            while (c.read(buf) >= 0) {
                if (buf.position() > 0 && !deliver(buf.array(), buf.position())) {
                    return;
                }
                buf.clear();
            }
        } catch (IOException e) {
            // A reset peer is a peer that left.
        } finally {
            peer = null;
        }
    }

    @Override
    public String describe() {
        String name = "unix:" + path + (listener != null ? ",server=on" : "");
        return peer != null ? name : "disconnected:" + name;
    }

    @Override
    protected void closeHost() throws IOException {
        SocketChannel c = peer;
        if (c != null) {
            c.close();
        }
        if (listener != null) {
            listener.close();
            Files.deleteIfExists(path);
        }
    }
}
