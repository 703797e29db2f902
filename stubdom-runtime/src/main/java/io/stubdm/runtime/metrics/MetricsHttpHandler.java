package io.stubdm.runtime.metrics;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * The exporter's HTTP side, one instance per connection: {@code GET /metrics} (a scrape), {@code GET /} (a page
 * that links to it), {@code HEAD} of both; 404 elsewhere, 405 for other methods.
 *
 * <p>A scrape takes up to the device models' timeout, so it runs elsewhere and the response is written when it is
 * done; the event loop never waits. Meanwhile the connection reads nothing more, and requests already read wait
 * their turn, so that responses go out in the order of their requests even when a client pipelines them.
 */
final class MetricsHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final System.Logger LOG = System.getLogger(MetricsHttpHandler.class.getName());
    static final String METRICS_PATH = "/metrics";
    private static final String INDEX = "<!DOCTYPE html>\n<html><head><title>stubdm exporter</title></head><body>\n"
            + "<h1>stubdm exporter</h1>\n<p>The device models of this host's Xen guests: "
            + "<a href=\"" + METRICS_PATH + "\">" + METRICS_PATH + "</a></p>\n</body></html>\n";

    /** What a request needs once its buffers have been released. */
    private record Request(HttpMethod method, String path, boolean keepAlive) {
    }

    private final Supplier<CompletableFuture<String>> scrape;
    private final Queue<Request> waiting = new ArrayDeque<>();
    private boolean busy;

    MetricsHttpHandler(Supplier<CompletableFuture<String>> scrape) {
        this.scrape = scrape;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
        if (!msg.decoderResult().isSuccess()) {
            Request r = new Request(msg.method(), "", false);
            respond(ctx, r, text(HttpResponseStatus.BAD_REQUEST, "bad request: " + msg.decoderResult().cause()));
            return;
        }
        Request r = new Request(msg.method(), new QueryStringDecoder(msg.uri()).path(), HttpUtil.isKeepAlive(msg));
        if (busy) {
            waiting.add(r);
        } else {
            serve(ctx, r);
        }
    }

    private void serve(ChannelHandlerContext ctx, Request r) {
        boolean get = r.method().equals(HttpMethod.GET);
        boolean head = r.method().equals(HttpMethod.HEAD);
        if (!r.path().equals("/") && !r.path().equals(METRICS_PATH)) {
            respond(ctx, r, text(HttpResponseStatus.NOT_FOUND, "not found; the metrics are at " + METRICS_PATH));
        } else if (!get && !head) {
            FullHttpResponse response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, r.method() + " is not allowed");
            response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            respond(ctx, r, response);
        } else if (r.path().equals("/")) {
            respond(ctx, r, body(HttpResponseStatus.OK, "text/html; charset=utf-8", INDEX));
        } else if (head) {
            // What a GET would say but its length, without asking every device model: a HEAD checks that the
            // exporter is up, and should not cost each guest a scrape.
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, PrometheusText.CONTENT_TYPE);
            respond(ctx, r, response);
        } else {
            busy = true;
            ctx.channel().config().setAutoRead(false);
            CompletableFuture<String> scraped;
            try {
                scraped = scrape.get();
            } catch (RuntimeException e) {
                scraped = CompletableFuture.failedFuture(e);
            }
            scraped.whenComplete((text, failure) -> ctx.executor().execute(() -> {
                if (failure != null) {
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure;
                    LOG.log(Level.WARNING, "scrape failed: " + cause);
                    respond(ctx, r, text(HttpResponseStatus.SERVICE_UNAVAILABLE, "scrape failed: " + cause));
                } else {
                    respond(ctx, r, body(HttpResponseStatus.OK, PrometheusText.CONTENT_TYPE, text));
                }
            }));
        }
    }

    /** Writes a response, then serves the next waiting request, or reads again. */
    private void respond(ChannelHandlerContext ctx, Request r, FullHttpResponse response) {
        if (r.method().equals(HttpMethod.HEAD)) {
            response = headersOnly(response);
        }
        HttpUtil.setKeepAlive(response, r.keepAlive());
        if (!r.keepAlive()) {
            waiting.clear();
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.writeAndFlush(response);
        busy = false;
        Request next = waiting.poll();
        if (next != null) {
            serve(ctx, next);
        } else {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private static FullHttpResponse text(HttpResponseStatus status, String text) {
        return body(status, "text/plain; charset=utf-8", text + "\n");
    }

    private static FullHttpResponse body(HttpResponseStatus status, String contentType, String body) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8)));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        HttpUtil.setContentLength(response, response.content().readableBytes());
        return response;
    }

    /** The headers of {@code response}, Content-Length included, and no body: HEAD's answer. */
    private static FullHttpResponse headersOnly(FullHttpResponse response) {
        FullHttpResponse head = new DefaultFullHttpResponse(response.protocolVersion(), response.status());
        head.headers().set(response.headers());
        response.release();
        return head;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof ReadTimeoutException)) {
            LOG.log(Level.DEBUG, "HTTP connection from " + ctx.channel().remoteAddress() + ": " + cause);
        }
        ctx.close();
    }
}
