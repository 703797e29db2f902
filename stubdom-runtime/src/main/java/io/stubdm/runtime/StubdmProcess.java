package io.stubdm.runtime;

/**
 * A running {@code stubdm} as {@link Stubdm} holds it: an HVM guest's device model or a stub domain's Dom0
 * console backend. It ends with QMP {@code quit} or with the shutdown hook SIGHUP runs.
 */
public interface StubdmProcess extends AutoCloseable {

    /** Blocks until QMP {@code quit}. */
    void awaitQuit() throws InterruptedException;

    /** Releases everything the process opened. Safe to call twice. */
    @Override
    void close();
}
