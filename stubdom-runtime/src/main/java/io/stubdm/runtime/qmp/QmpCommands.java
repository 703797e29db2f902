package io.stubdm.runtime.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The commands a QMP server answers, by name. Handlers run on the server's connection thread. */
public final class QmpCommands {

    /** One command: arguments in (an empty object when the client sent none), the {@code return} value out. */
    @FunctionalInterface
    public interface Handler {
        JsonNode execute(ObjectNode arguments) throws QmpError;
    }

    private final Map<String, Handler> handlers = new TreeMap<>();

    public QmpCommands register(String name, Handler handler) {
        if (handlers.putIfAbsent(name, handler) != null) {
            throw new IllegalArgumentException("QMP command " + name + " is registered twice");
        }
        return this;
    }

    Handler handler(String name) {
        return handlers.get(name);
    }

    public Set<String> names() {
        return handlers.keySet();
    }
}
