package io.stubdm.runtime.xenpv;

/**
 * The states of a split device's two halves, {@code enum xenbus_state} of Xen's {@code public/io/xenbus.h}, as
 * each half writes its own in its {@code state} key.
 */
final class XenbusState {
    static final int UNKNOWN = 0;
    static final int INITIALISING = 1;
    /** The backend waits for the frontend's details (ring reference, event channel). */
    static final int INIT_WAIT = 2;
    /** The frontend published its details. */
    static final int INITIALISED = 3;
    static final int CONNECTED = 4;
    static final int CLOSING = 5;
    static final int CLOSED = 6;
    static final int RECONFIGURING = 7;
    static final int RECONFIGURED = 8;

    private static final String[] NAMES = {"Unknown", "Initialising", "InitWait", "Initialised", "Connected",
        "Closing", "Closed", "Reconfiguring", "Reconfigured"};

    private XenbusState() {
    }

    /** {@code 4 (Connected)}; a value outside the enum shows as itself. */
    static String describe(int state) {
        return state >= 0 && state < NAMES.length ? state + " (" + NAMES[state] + ")" : Integer.toString(state);
    }
}
