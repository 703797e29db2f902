package io.stubdm.devices;

/** A device with a power-on state that a machine reset returns it to. */
public interface Resettable {

    void reset();
}
