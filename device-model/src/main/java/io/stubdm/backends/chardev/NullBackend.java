package io.stubdm.backends.chardev;

import java.util.concurrent.Executor;

/** QEMU's {@code -serial null}: a port with nothing behind it. Output vanishes, input never comes. */
public final class NullBackend implements CharBackend {

    @Override
    public void connect(Executor loop, Frontend frontend) {
    }

    @Override
    public int write(byte[] buf, int off, int len) {
        return len;
    }

    @Override
    public void acceptInput() {
    }

    @Override
    public String describe() {
        return "null";
    }

    @Override
    public void close() {
    }
}
