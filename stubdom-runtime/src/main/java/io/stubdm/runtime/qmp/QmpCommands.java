package io.stubdm.runtime.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The commands a QMP server answers, by name. Handlers run on the server's connection thread. */
public final class QmpCommands {

    /** One command: arguments in (an empty object when the client sent none), the {@code return} value out. */
    @FunctionalInterface
    public interface Handler {
        JsonNode execute(ObjectNode arguments) throws QmpError;
    }

    private final Map<String, Handler> handlers = new TreeMap<>();
    /** Set for {@link #deferred}: the commands that will answer, once they exist. */
    private CompletableFuture<QmpCommands> later;
    private long waitMillis;

    /**
     * Commands that do not exist yet: each one waits (at most {@code waitMillis}) for {@code later}, then is answered
     * by the command of that name there. A QMP socket can listen this way while the device model behind it is still
     * being built; a command arriving meanwhile is answered when it is ready, never by a half-built machine.
     */
    public static QmpCommands deferred(CompletableFuture<QmpCommands> later, long waitMillis) {
        QmpCommands c = new QmpCommands();
        c.later = later;
        c.waitMillis = waitMillis;
        return c;
    }

    public QmpCommands register(String name, Handler handler) {
        if (handlers.putIfAbsent(name, handler) != null) {
            throw new IllegalArgumentException("QMP command " + name + " is registered twice");
        }
        return this;
    }

    Handler handler(String name) {
        if (later == null) {
            return handlers.get(name);
        }
        return arguments -> {
            QmpCommands ready;
            try {
                ready = later.get(waitMillis, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw QmpError.generic("the device model is still starting (" + name + " waited " + waitMillis + " ms)");
            } catch (ExecutionException e) {
                throw QmpError.generic("the device model failed to start: " + e.getCause().getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw QmpError.generic(name + " interrupted");
            }
            Handler h = ready.handler(name);
            if (h == null) {
                throw new QmpError(QmpError.COMMAND_NOT_FOUND, "The command " + name + " has not been found");
            }
            return h.execute(arguments);
        };
    }

    public Set<String> names() {
        return handlers.keySet();
    }
}
