package io.stubdm.backends.net;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

/**
 * A NIC with no cable: {@code -netdev none}. Receives nothing; every frame the NIC sends is dropped and counted
 * as {@code no-backend}.
 */
public final class NullNetBackend implements NetBackend {
    private final NetStats stats = new NetStats();

    @Override
    public void connect(Executor loop, Frontend nic) {
    }

    @Override
    public boolean send(ByteBuffer frame) {
        stats.drop("no-backend");
        return true;
    }

    @Override
    public void resumeReceive() {
    }

    @Override
    public NetStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "none";
    }

    @Override
    public void close() {
    }
}
