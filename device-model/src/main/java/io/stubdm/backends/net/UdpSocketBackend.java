package io.stubdm.backends.net;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.function.Consumer;

/**
 * Ethernet over UDP, one frame per datagram with no header: QEMU's {@code -netdev socket,udp=REMOTE,localaddr=LOCAL}
 * and {@code -netdev dgram,local.type=inet,...,remote.type=inet,...}, so a stubdm guest can be linked to another
 * one or to a QEMU. Used by tests and for linking guests without a bridge.
 *
 * <p>A plain non-blocking {@link DatagramChannel} with a selector on the backend's own I/O thread, not Netty: the
 * device loop is the event loop that matters here, and a Netty event loop would add a second hop and a thread
 * per backend for one socket, plus a dependency in the stub domain's image, while a datagram socket needs
 * nothing Netty adds. The channel is connected to the remote address, so the kernel delivers only the peer's
 * datagrams; others never reach the backend (QEMU accepts any sender).
 */
public final class UdpSocketBackend extends ThreadedNetBackend {
    private static final System.Logger LOG = System.getLogger(UdpSocketBackend.class.getName());
    /** The largest UDP payload over IPv4. */
    static final int MAX_DATAGRAM = 65507;

    private final DatagramChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private int readyOps;
    private final Consumer<SelectionKey> onSelected = k -> readyOps = k.readyOps();

    /** Binds {@code local} (port 0: any free port) and sends to {@code remote}. */
    public UdpSocketBackend(InetSocketAddress local, InetSocketAddress remote) throws IOException {
        if (local.isUnresolved() || remote.isUnresolved()) {
            throw new IOException("cannot resolve " + (local.isUnresolved() ? local : remote));
        }
        boolean v6 = remote.getAddress() instanceof Inet6Address;
        DatagramChannel ch = DatagramChannel.open(v6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        try {
            ch.bind(local);
            ch.connect(remote);
            ch.configureBlocking(false);
            selector = Selector.open();
            key = ch.register(selector, 0);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        this.channel = ch;
        this.local = (InetSocketAddress) ch.getLocalAddress();
        this.remote = remote;
    }

    /** The bound address, with the port the kernel chose if 0 was asked for. */
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public String describe() {
        return "udp:" + hostPort(local) + "->" + hostPort(remote);
    }

    private static String hostPort(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (a.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    @Override
    protected int readFrame() throws IOException {
        while (true) {
            rxScratch.clear();
            try {
                return channel.read(rxScratch);
            } catch (PortUnreachableException e) {
                // The peer's ICMP answer to an earlier datagram of ours: nobody took that frame. Whichever of
                // read and write meets the error first reports it, once.
                stats.drop("tx-peer-unreachable");
            }
        }
    }

    @Override
    protected WriteResult writeFrame(ByteBuffer frame) {
        if (frame.remaining() > MAX_DATAGRAM) {
            stats.drop("tx-too-large");
            return WriteResult.DROPPED;
        }
        int position = frame.position();
        try {
            return channel.write(frame) == 0 ? WriteResult.BLOCKED : WriteResult.SENT;
        } catch (PortUnreachableException e) {
            // Linux reports the peer's ICMP port-unreachable on the next send, which is then not sent.
            stats.drop("tx-peer-unreachable");
            return WriteResult.DROPPED;
        } catch (IOException e) {
            stats.drop("tx-error");
            return WriteResult.DROPPED;
        } finally {
            frame.position(position);
        }
    }

    @Override
    protected int awaitIo(boolean wantRead, boolean wantWrite) throws IOException {
        int ops = (wantRead ? SelectionKey.OP_READ : 0) | (wantWrite ? SelectionKey.OP_WRITE : 0);
        if (key.interestOps() != ops) {
            key.interestOps(ops);
        }
        readyOps = 0;
        selector.select(onSelected);
        return ((readyOps & SelectionKey.OP_READ) != 0 ? READY_READ : 0)
                | ((readyOps & SelectionKey.OP_WRITE) != 0 ? READY_WRITE : 0);
    }

    @Override
    protected void wakeIo() {
        // A closed selector ignores wake-ups.
        selector.wakeup();
    }

    @Override
    protected void closeHost() {
        try {
            selector.close();
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, describe() + ": close failed", e);
        }
    }
}
