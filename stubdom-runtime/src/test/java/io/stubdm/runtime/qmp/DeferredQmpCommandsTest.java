package io.stubdm.runtime.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A stub domain's QMP socket listens before its device model exists (libxl's 30 s): commands that arrive meanwhile
 * wait for it, and are answered by it, never before.
 */
class DeferredQmpCommandsTest {
    final CompletableFuture<QmpCommands> later = new CompletableFuture<>();
    final QmpCommands deferred = QmpCommands.deferred(later, 5_000);

    @Test
    void aCommandWaitsForTheDeviceModelThenIsAnsweredByIt() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<String> cont = pool.submit(() -> deferred.handler("cont")
                    .execute(JsonNodeFactory.instance.objectNode()).path("done").asText());
            Thread.sleep(200);
            assertFalse(cont.isDone(), "cont must not be answered before the device model exists");
            later.complete(new QmpCommands().register("cont",
                    a -> JsonNodeFactory.instance.objectNode().put("done", "yes")));
            assertEquals("yes", cont.get(5, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anUnknownCommandIsStillUnknownOnceTheDeviceModelIsThere() {
        later.complete(new QmpCommands());
        QmpError e = assertThrows(QmpError.class,
                () -> deferred.handler("no-such").execute(JsonNodeFactory.instance.objectNode()));
        assertEquals(QmpError.COMMAND_NOT_FOUND, e.errorClass());
    }

    @Test
    void aDeviceModelThatFailedToStartIsReported() {
        later.completeExceptionally(new IllegalArgumentException("-drive file=/dev/xvdq: no such file"));
        QmpError e = assertThrows(QmpError.class,
                () -> deferred.handler("query-status").execute(JsonNodeFactory.instance.objectNode()));
        assertTrue(e.getMessage().contains("failed to start") && e.getMessage().contains("/dev/xvdq"), e.getMessage());
    }

    @Test
    void aCommandDoesNotWaitForever() {
        QmpCommands impatient = QmpCommands.deferred(new CompletableFuture<>(), 100);
        QmpError e = assertThrows(QmpError.class,
                () -> impatient.handler("cont").execute(JsonNodeFactory.instance.objectNode()));
        assertTrue(e.getMessage().contains("still starting"), e.getMessage());
    }
}
