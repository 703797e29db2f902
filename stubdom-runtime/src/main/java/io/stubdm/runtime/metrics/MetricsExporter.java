package io.stubdm.runtime.metrics;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The exporter's HTTP/1.1 server: one Netty event loop thread accepts connections and parses requests; scrapes run
 * on the {@link DeviceModelScraper}'s own threads (see {@link MetricsHttpHandler}).
 */
public final class MetricsExporter implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MetricsExporter.class.getName());
    /** A scrape request has no body; anything larger is refused (413) before it is buffered. */
    static final int MAX_REQUEST_BODY = 16 << 10;
    /** A connection that sends nothing for this long is closed; Prometheus scrapes far more often than that. */
    static final int IDLE_SECONDS = 300;

    private final EventLoopGroup group;
    private final Channel listener;
    private final InetSocketAddress address;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MetricsExporter(EventLoopGroup group, Channel listener) {
        this.group = group;
        this.listener = listener;
        this.address = (InetSocketAddress) listener.localAddress();
    }

    /** Listens on {@code listen} and answers each {@code GET /metrics} with what {@code scraper} scrapes. */
    public static MetricsExporter start(InetSocketAddress listen, DeviceModelScraper scraper) throws IOException {
        EventLoopGroup group = new NioEventLoopGroup(1, new DefaultThreadFactory("exporter-http", true));
        try {
            ChannelFuture bound = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(initializer(scraper::scrape))
                    .bind(listen)
                    .awaitUninterruptibly();
            if (!bound.isSuccess()) {
                throw new IOException("cannot listen on " + describe(listen) + ": " + bound.cause().getMessage(),
                        bound.cause());
            }
            MetricsExporter exporter = new MetricsExporter(group, bound.channel());
            LOG.log(Level.INFO, "serving http://" + describe(exporter.address) + MetricsHttpHandler.METRICS_PATH);
            return exporter;
        } catch (IOException | RuntimeException | Error e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** A connection's handlers: HTTP/1.1 codec, whole requests, and the metrics handler over {@code scrape}. */
    static ChannelInitializer<Channel> initializer(Supplier<CompletableFuture<String>> scrape) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new ReadTimeoutHandler(IDLE_SECONDS), new HttpServerCodec(),
                        new HttpObjectAggregator(MAX_REQUEST_BODY), new MetricsHttpHandler(scrape));
            }
        };
    }

    static String describe(InetSocketAddress a) {
        String host = a.getAddress() == null ? a.getHostString()
                : a.getAddress() instanceof Inet6Address ? "[" + a.getAddress().getHostAddress() + "]"
                : a.getAddress().getHostAddress();
        return host + ":" + a.getPort();
    }

    /** The bound address (the port actually bound when 0 was asked for). */
    public InetSocketAddress address() {
        return address;
    }

    /** Returns once the server has been closed. */
    public void awaitClose() throws InterruptedException {
        listener.closeFuture().await();
    }

    /** Stops listening and closes every connection. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        listener.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        LOG.log(Level.INFO, "stopped serving " + describe(address));
    }
}
