package io.stubdm.runtime.metrics;

import java.io.IOException;

/**
 * A QMP conversation that did not produce an answer, and why: callers count failures by kind (the exporter's
 * {@code stubdm_exporter_scrape_errors_total}), so the kind is part of the exception, not of its message.
 */
public final class QmpException extends IOException {

    /** Why the command was not answered. */
    public enum Kind {
        /** No connection could be made, or the peer closed or reset it before answering. */
        CONNECT,
        /** The deadline passed before the answer was complete. */
        TIMEOUT,
        /** The monitor answered with a QMP {@code error}. */
        ERROR_REPLY,
        /** What came back was not QMP: bad JSON, no greeting, an oversized or unexpected message. */
        PROTOCOL
    }

    private final Kind kind;

    public QmpException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public QmpException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
