package io.stubdm.backends.vnc;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A VNC server (RFB 3.8, RFC 6143) for the guest's display, as QEMU's -vnc: one Netty event loop thread accepts
 * and talks to the clients, one refresh thread captures the picture and encodes updates.
 */
public final class VncServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VncServer.class.getName());
    private static final int BASE_PORT = 5900;
    /** Connections beyond this are closed at once; each costs buffers and a ZRLE stream. */
    static final int MAX_CLIENTS = 64;

    private final EventLoopGroup group;
    private final Channel listener;
    private final InetSocketAddress address;
    private final RefreshLoop refresh;
    private final AuthConfig auth;
    /** Every accepted connection, from accept to close. */
    private final Set<Channel> clients;
    private final AtomicBoolean closed = new AtomicBoolean();

    private VncServer(EventLoopGroup group, Channel listener, InetSocketAddress address, RefreshLoop refresh,
            AuthConfig auth, Set<Channel> clients) {
        this.group = group;
        this.listener = listener;
        this.address = address;
        this.refresh = refresh;
        this.auth = auth;
        this.clients = clients;
    }

    /**
     * Binds TCP port 5900+display on host, trying display+1 .. {@code to} in turn when a port is in use (QEMU's
     * to=N), and starts the refresh thread. IOException (naming host and port range) when none can be bound.
     */
    public static VncServer start(VncOptions options, VncConsole console) throws IOException {
        return start(options, console, "stubdm");
    }

    /**
     * As {@link #start(VncOptions, VncConsole)}, with the desktop name clients show in their title bar (null:
     * "stubdm", for a guest started without -name).
     */
    public static VncServer start(VncOptions options, VncConsole console, String desktopName) throws IOException {
        if (options == null || console == null) {
            throw new IllegalArgumentException("options and console are required");
        }
        if (desktopName == null) {
            desktopName = "stubdm";
        }
        InetAddress host = options.allInterfaces() ? null : InetAddress.getByName(options.host());
        AuthConfig auth = new AuthConfig(options.password());
        RefreshLoop refresh = new RefreshLoop(console);
        ServerContext context = new ServerContext(desktopName, auth, new AuthThrottle(), refresh, console,
                new SecureRandom());
        EventLoopGroup group = new NioEventLoopGroup(1, new DefaultThreadFactory("vnc-io", true));
        Set<Channel> clients = ConcurrentHashMap.newKeySet();
        try {
            ServerBootstrap bootstrap = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (clients.size() >= MAX_CLIENTS) {
                                LOG.log(Level.WARNING, "VNC: refusing " + ch.remoteAddress() + ": already "
                                        + MAX_CLIENTS + " clients");
                                ch.close();
                                return;
                            }
                            clients.add(ch);
                            ch.closeFuture().addListener(f -> clients.remove(ch));
                            ch.pipeline().addLast(new RfbSession(context));
                        }
                    });
            String portRange = (BASE_PORT + options.display())
                    + (options.to() > options.display() ? "-" + (BASE_PORT + options.to()) : "");
            String where = (options.allInterfaces() ? "all interfaces" : "host " + options.host()) + ", TCP port "
                    + portRange;
            IOException inUse = null;
            for (int display = options.display(); display <= options.to(); display++) {
                int port = BASE_PORT + display;
                InetSocketAddress bindTo = host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
                ChannelFuture bound = bootstrap.bind(bindTo).awaitUninterruptibly();
                if (bound.isSuccess()) {
                    refresh.start();
                    VncServer server = new VncServer(group, bound.channel(), bindTo, refresh, auth, clients);
                    LOG.log(Level.INFO, "VNC server listening on " + describe(bindTo) + " (display " + display
                            + ", auth " + server.auth() + ")");
                    return server;
                }
                Throwable cause = bound.cause();
                if (!(cause instanceof BindException)) {
                    throw new IOException("VNC: cannot listen on " + where + ": " + cause, cause);
                }
                // In use, or an address that is not this host's ("Cannot assign requested address").
                if (inUse == null) {
                    inUse = new IOException("VNC: cannot listen on " + where + ": " + cause.getMessage(), cause);
                } else {
                    inUse.addSuppressed(cause);
                }
            }
            throw inUse;
        } catch (IOException | RuntimeException | Error e) {
            refresh.close();
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }

    private static String describe(InetSocketAddress a) {
        InetAddress ip = a.getAddress();
        String host = ip instanceof Inet6Address ? "[" + ip.getHostAddress() + "]" : ip.getHostAddress();
        return host + ":" + a.getPort();
    }

    /** The bound address (host as given, the port actually bound). */
    public InetSocketAddress address() {
        return address;
    }

    /** "none" or "vnc" (QMP query-vnc's auth names). */
    public String auth() {
        return auth.securityType() == AuthConfig.VNC ? "vnc" : "none";
    }

    /**
     * Sets the VNC password (QMP change-vnc-password): from now on clients must authenticate with VNC auth
     * (security type 2) even if the option said password=off. Only the first 8 characters count (as in every
     * VNC server). With password=on and no password set yet, every login fails (QEMU does the same).
     */
    public void setPassword(String password) {
        auth.setPassword(password);
    }

    /** Connected clients, for QMP query-vnc: remote host, remote port (as string), family "ipv4"/"ipv6". */
    public List<Client> clients() {
        List<Client> out = new ArrayList<>();
        for (Channel ch : clients) {
            SocketAddress remote = ch.remoteAddress();
            if (ch.isActive() && remote instanceof InetSocketAddress r && r.getAddress() != null) {
                out.add(new Client(r.getAddress().getHostAddress(), Integer.toString(r.getPort()),
                        r.getAddress() instanceof Inet6Address ? "ipv6" : "ipv4"));
            }
        }
        return out;
    }

    /** A connected client, as QMP query-vnc reports it. */
    public record Client(String host, String service, String family) {}

    /** Closes the listening socket, every client, and stops the refresh thread. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        listener.close().awaitUninterruptibly();
        for (Channel ch : clients) {
            ch.close().awaitUninterruptibly();
        }
        refresh.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        LOG.log(Level.INFO, "VNC server on " + describe(address) + " closed");
    }
}
