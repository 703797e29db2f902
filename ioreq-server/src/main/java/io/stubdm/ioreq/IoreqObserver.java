package io.stubdm.ioreq;

/**
 * Told about every request a vCPU waited for, once it is answered: what it was and how long the device model took,
 * from taking the slot to publishing the answer. Called on the device loop, so it must be quick and must not block.
 */
@FunctionalInterface
public interface IoreqObserver {
    IoreqObserver NONE = (request, nanos) -> { };

    void served(Ioreq request, long nanos);
}
