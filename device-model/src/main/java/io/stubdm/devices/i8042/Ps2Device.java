package io.stubdm.devices.i8042;

/**
 * A device on one of the 8042's PS/2 ports, as the controller sees it: bytes the host sends it
 * ({@link #receive}) and bytes it has for the host ({@link #takeOutput}).
 *
 * <p>Output sits in two queues. Replies to the host's commands go first, so an ACK never waits behind (or is
 * lost to a full queue of) key codes or motion packets; QEMU (hw/input/ps2.c, the command reply queue) does the
 * same after guests misread scan codes as replies. Input from the host side (keys, motion) goes to a 16-byte
 * queue, the buffer a PS/2 device has; what does not fit is dropped and counted.
 *
 * <p>Everything runs on the device loop, input from the display server included.
 */
public abstract class Ps2Device {
    private static final int NO_ARGUMENT = -1;
    private int argumentFor = NO_ARGUMENT;
    /** Bytes of host input a device buffers (QEMU's PS2_QUEUE_SIZE, "required by PS/2 protocol"). */
    public static final int QUEUE_BYTES = 16;
    /** Command acknowledged. */
    public static final int ACK = 0xFA;
    /** As a reply: the byte just received was not understood, send it again. As a command: repeat the last byte. */
    public static final int RESEND = 0xFE;
    /** The longest reply is five bytes: an ACK and a polled IntelliMouse packet. */
    private static final int REPLY_BYTES = 8;

    private final ByteQueue replies = new ByteQueue(REPLY_BYTES);
    private final ByteQueue input = new ByteQueue(QUEUE_BYTES);
    private Runnable inputListener = () -> { };
    private int lastSent;
    private long droppedBytes;

    Ps2Device() {
    }

    /** Bytes of host input dropped because the queue was full. */
    public final long droppedBytes() {
        return droppedBytes;
    }

    // ---------------------------------------------------------------- the controller's side

    /** Called after host input is queued, so the controller can move it to its output buffer. */
    final void onInput(Runnable listener) {
        inputListener = listener;
    }

    /**
     * Whether a byte is waiting. Host input waits while the device expects a command's argument: a keyboard
     * between 0xED and its LED byte sends nothing else, so the ACK to that byte cannot queue behind a key code.
     */
    final boolean hasOutput() {
        return !replies.isEmpty() || (!input.isEmpty() && !expectsArgument());
    }

    /** The next byte for the host; the caller has checked {@link #hasOutput()}. */
    final int takeOutput() {
        if (!replies.isEmpty()) {
            lastSent = replies.take();
        } else {
            lastSent = input.take();
            if (input.isEmpty()) {
                inputDrained();
            }
        }
        return lastSent;
    }

    /**
     * A byte the host sent. A host that sends again has given up on any reply it did not read, so those bytes go
     * (QEMU ps2_cqueue_reset).
     */
    final void receive(int b) {
        replies.clear();
        if (b == RESEND && !expectsArgument()) {
            replies.add(lastSent);
            return;
        }
        if (argumentFor != NO_ARGUMENT) {
            int cmd = argumentFor;
            argumentFor = NO_ARGUMENT;
            argument(cmd, b);
            return;
        }
        command(b);
    }

    /** The next byte from the host is the argument of {@code cmd}, not a command. */
    final void awaitArgument(int cmd) {
        argumentFor = cmd;
    }

    /** True while the next byte from the host is the argument of a command, not a command. */
    final boolean expectsArgument() {
        return argumentFor != NO_ARGUMENT;
    }

    /** Power-on state: queues empty, then the device's own state. */
    final void reset() {
        replies.clear();
        input.clear();
        lastSent = 0;
        argumentFor = NO_ARGUMENT;
        resetDevice();
    }

    // ---------------------------------------------------------------- the device's side

    /** A command byte. */
    abstract void command(int b);

    /** The argument byte of a command that called {@link #awaitArgument}. */
    abstract void argument(int cmd, int b);

    abstract void resetDevice();

    /** The input queue has emptied; a device with more to say (accumulated motion) can queue it now. */
    void inputDrained() {
    }

    final void reply(int... bytes) {
        for (int b : bytes) {
            replies.add(b);
        }
    }

    /** Queues all of {@code bytes} or, if they do not fit, none of them (half a key code would garble the rest). */
    final boolean queueInput(int... bytes) {
        if (input.free() < bytes.length) {
            droppedBytes += bytes.length;
            return false;
        }
        for (int b : bytes) {
            input.add(b);
        }
        return true;
    }

    final int inputFree() {
        return input.free();
    }

    final void clearInput() {
        input.clear();
    }

    final void inputQueued() {
        inputListener.run();
    }
}
