package io.stubdm.hypervisor.sim;

import static io.stubdm.hypervisor.IoreqAbi.*;

import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

/**
 * A simulated vCPU. A test drives it as the guest would (port I/O, MMIO, string instructions, PCI config
 * cycles), and it does what Xen does on the exit: route the access, fill the vCPU's {@code ioreq_t} slot of the
 * chosen server, publish READY, notify, block until IORESP_READY, take the data back and free the slot
 * ({@code xen/common/ioreq.c: ioreq_send}, {@code ioreq_complete} paths).
 *
 * <p>{@link #post} and {@link #poll} split one request in two so a single thread can play both the guest and
 * the device model (benchmarks, deterministic tests).
 */
public final class SimVcpu {
    private static final long DEFAULT_TIMEOUT_NANOS = 10_000_000_000L;

    private final SimDomain domain;
    private final int id;
    private volatile Thread waiter;
    private volatile boolean woken;
    private long timeoutNanos = DEFAULT_TIMEOUT_NANOS;

    SimVcpu(SimDomain domain, int id) {
        this.domain = domain;
        this.id = id;
    }

    public int id() {
        return id;
    }

    /** How long a request may wait for the device model before {@link SimTimeoutException}. */
    public void setTimeoutNanos(long nanos) {
        this.timeoutNanos = nanos;
    }

    // ---------------------------------------------------------------- guest instructions

    public int inb(int port) {
        return (int) in(port, 1);
    }

    public int inw(int port) {
        return (int) in(port, 2);
    }

    public long inl(int port) {
        return in(port, 4);
    }

    public void outb(int port, int value) {
        out(port, 1, value);
    }

    public void outw(int port, int value) {
        out(port, 2, value);
    }

    public void outl(int port, long value) {
        out(port, 4, value);
    }

    public long in(int port, int size) {
        return send(SimIoreq.pio(port, size, true, 0));
    }

    public void out(int port, int size, long value) {
        send(SimIoreq.pio(port, size, false, value));
    }

    /** {@code rep ins}: {@code count} items from the port into guest RAM at {@code gpa} (downwards with df). */
    public void ins(int port, int size, long gpa, int count, boolean df) {
        send(SimIoreq.pio(port, size, true, gpa).rep(count, df, true));
    }

    /** {@code rep outs}: {@code count} items from guest RAM at {@code gpa} to the port. */
    public void outs(int port, int size, long gpa, int count, boolean df) {
        send(SimIoreq.pio(port, size, false, gpa).rep(count, df, true));
    }

    public long mmioRead(long addr, int size) {
        return send(SimIoreq.mmio(addr, size, true, 0));
    }

    public void mmioWrite(long addr, int size, long value) {
        send(SimIoreq.mmio(addr, size, false, value));
    }

    /** {@code rep movs} from MMIO at {@code mmio} into RAM at {@code gpa}. */
    public void movsFromMmio(long mmio, long gpa, int size, int count, boolean df) {
        send(SimIoreq.mmio(mmio, size, true, gpa).rep(count, df, true));
    }

    /** {@code rep movs} from RAM at {@code gpa} into MMIO at {@code mmio}. */
    public void movsToMmio(long mmio, long gpa, int size, int count, boolean df) {
        send(SimIoreq.mmio(mmio, size, false, gpa).rep(count, df, true));
    }

    /** {@code rep stos} into MMIO: the same value written {@code count} times. */
    public void stosToMmio(long mmio, int size, long value, int count, boolean df) {
        send(SimIoreq.mmio(mmio, size, false, value).rep(count, df, false));
    }

    /** A configuration-mechanism-#1 read: CF8 then the data port, as every BIOS and kernel does it. */
    public long pciConfigRead(int bus, int device, int function, int reg, int size) {
        outl(0xCF8, cf8(bus, device, function, reg));
        return in(0xCFC + (reg & 3), size);
    }

    public void pciConfigWrite(int bus, int device, int function, int reg, int size, long value) {
        outl(0xCF8, cf8(bus, device, function, reg));
        out(0xCFC + (reg & 3), size, value);
    }

    private static long cf8(int bus, int device, int function, int reg) {
        return 0x8000_0000L | (bus & 0xff) << 16 | (device & 0x1f) << 11 | (function & 7) << 8 | (reg & 0xfc);
    }

    /**
     * Executes an access as Xen would: CF8 latching, routing, the buffered ring for VGA-window writes, a
     * synchronous request otherwise, the null handler when no server claims it. Returns the data the guest gets.
     */
    public long send(SimIoreq request) {
        SimIoreq r = request.copy();
        domain.observePortAccess(r);
        SimIoreqServer s = domain.select(r);
        if (s == null) {
            domain.nullHandle(r);
            return r.data;
        }
        if (r.type == IOREQ_TYPE_COPY && !r.read && !r.dataIsPtr && r.count == 1
                && r.addr >= SimGuestRam.VGA_HOLE_START && r.addr + r.size <= SimGuestRam.VGA_HOLE_END
                && s.sendBuffered(r)) {
            return r.data;
        }
        return sendTo(s, r);
    }

    /** Sends exactly this request to the given server's slot, with no routing: for ABI and hostile-input tests. */
    public long sendRaw(int serverId, SimIoreq request) {
        return sendTo(serverOrThrow(serverId), request.copy());
    }

    long sendTo(SimIoreqServer s, SimIoreq r) {
        post(s, r);
        long deadline = System.nanoTime() + timeoutNanos;
        waiter = Thread.currentThread();
        try {
            while (true) {
                Long result = poll(s, r);
                if (result != null) {
                    return result;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new SimTimeoutException("vCPU " + id + ": no response to " + r + " within "
                            + timeoutNanos / 1_000_000 + " ms (state " + state(s) + ")");
                }
                if (!woken) {
                    LockSupport.parkNanos(this, Math.min(left, 1_000_000));
                }
                woken = false;
            }
        } finally {
            waiter = null;
        }
    }

    // ---------------------------------------------------------------- split phase

    /** Writes the request into this vCPU's slot and notifies the device model, without waiting. */
    public void post(int serverId, SimIoreq r) {
        post(serverOrThrow(serverId), r);
    }

    /** The response data if the device model has answered (the slot is then free again), else null. */
    public Long poll(int serverId, SimIoreq r) {
        return poll(serverOrThrow(serverId), r);
    }

    /**
     * Writes the slot with an arbitrary state value and notifies, as a broken or hostile Xen could: for tests of
     * how the device model copes. The slot is left as the device model leaves it; {@link #resetSlot} frees it.
     */
    public void postWithState(int serverId, SimIoreq r, int state) {
        SimIoreqServer s = serverOrThrow(serverId);
        fill(s, r, state);
        s.vcpuPorts[id].deliverToDm();
    }

    /** Forces the slot back to NONE after a hostile test. */
    public void resetSlot(int serverId) {
        ByteBuffer page = serverOrThrow(serverId).ioreqPage;
        int o = id * IOREQ_SIZE + OFF_FLAGS;
        page.put(o, (byte) (page.get(o) & ~FLAG_STATE_MASK));
    }

    /** The slot's state as Xen would read it. */
    public int slotState(int serverId) {
        return state(serverOrThrow(serverId));
    }

    void post(SimIoreqServer s, SimIoreq r) {
        ByteBuffer page = s.ioreqPage;
        int o = id * IOREQ_SIZE;
        int state = page.get(o + OFF_FLAGS) & FLAG_STATE_MASK;
        if (state != STATE_IOREQ_NONE) {
            domain.crash("device model set bad IO state " + state + " on vCPU " + id);
            throw new IllegalStateException("vCPU " + id + " slot is in state " + state + ", not NONE");
        }
        woken = false;
        fill(s, r, STATE_IOREQ_READY);
        s.vcpuPorts[id].deliverToDm();
    }

    private void fill(SimIoreqServer s, SimIoreq r, int finalState) {
        ByteBuffer page = s.ioreqPage;
        int o = id * IOREQ_SIZE;
        page.putLong(o + OFF_ADDR, r.addr);
        page.putLong(o + OFF_DATA, r.data);
        page.putInt(o + OFF_COUNT, r.count);
        page.putInt(o + OFF_SIZE, r.size);
        page.putInt(o + OFF_VP_EPORT, s.vcpuPorts[id].port);
        page.put(o + OFF_TYPE, (byte) r.type);
        page.put(o + OFF_FLAGS, (byte) r.flagsWithState(STATE_IOREQ_NONE));
        VarHandle.releaseFence(); // the request is complete before READY is visible
        page.put(o + OFF_FLAGS, (byte) r.flagsWithState(finalState));
    }

    Long poll(SimIoreqServer s, SimIoreq r) {
        ByteBuffer page = s.ioreqPage;
        int o = id * IOREQ_SIZE;
        int flags = page.get(o + OFF_FLAGS);
        VarHandle.acquireFence();
        switch (flags & FLAG_STATE_MASK) {
            case STATE_IORESP_READY: {
                long data = page.getLong(o + OFF_DATA);
                page.put(o + OFF_FLAGS, (byte) ((flags & ~FLAG_STATE_MASK) | STATE_IOREQ_NONE));
                return data;
            }
            case STATE_IOREQ_READY:
            case STATE_IOREQ_INPROCESS:
                if (domain.server(s.id) == null) {
                    return r.data; // the emulator went away; Xen lets the vCPU go on
                }
                return null;
            case STATE_IOREQ_NONE:
                // Only an emulator dying mid-request leaves NONE; Xen treats the I/O as done.
                return r.data;
            default:
                domain.crash("Weird HVM iorequest state " + (flags & FLAG_STATE_MASK) + " on vCPU " + id);
                throw new IllegalStateException("device model wrote state " + (flags & FLAG_STATE_MASK));
        }
    }

    private int state(SimIoreqServer s) {
        return s.ioreqPage.get(id * IOREQ_SIZE + OFF_FLAGS) & FLAG_STATE_MASK;
    }

    private SimIoreqServer serverOrThrow(int serverId) {
        SimIoreqServer s = domain.server(serverId);
        if (s == null) {
            throw new IllegalArgumentException("no ioreq server " + serverId + " in domain " + domain.domid());
        }
        return s;
    }

    /** The device model notified this vCPU's port. */
    void wake() {
        woken = true;
        Thread t = waiter;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }
}
