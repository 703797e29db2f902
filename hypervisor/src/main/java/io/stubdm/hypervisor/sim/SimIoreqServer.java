package io.stubdm.hypervisor.sim;

import static io.stubdm.hypervisor.IoreqAbi.*;

import io.stubdm.hypervisor.IoRangeType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One ioreq server as Xen keeps it ({@code xen/common/ioreq.c}): its two shared pages, the Xen ends of its event
 * channels, its enabled flag and the port, memory and PCI ranges it claimed.
 */
final class SimIoreqServer {
    private static final VarHandle POINTERS =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    final int id;
    final int bufioreqHandling;
    /** Frame 0 = buffered page, frame 1 = synchronous page, contiguous so that one resource mapping covers both. */
    final ByteBuffer frames;
    final ByteBuffer bufPage;
    final ByteBuffer ioreqPage;
    final SimXenPort[] vcpuPorts;
    final SimXenPort bufPort;
    final RangeSet[] ranges = {new RangeSet(), new RangeSet(), new RangeSet()};
    volatile boolean enabled;

    SimIoreqServer(int id, int bufioreqHandling, SimXenPort[] vcpuPorts, SimXenPort bufPort) {
        this.id = id;
        this.bufioreqHandling = bufioreqHandling;
        this.frames = ByteBuffer.allocateDirect(2 * PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        this.bufPage = frames.slice(0, PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        this.ioreqPage = frames.slice(PAGE_SIZE, PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        this.vcpuPorts = vcpuPorts;
        this.bufPort = bufPort;
    }

    boolean hasBufferedRing() {
        return bufioreqHandling != HVM_IOREQSRV_BUFIOREQ_OFF;
    }

    RangeSet ranges(IoRangeType type) {
        return ranges[type.code];
    }

    /** Xen writes each vCPU's port into its slot only when the server is enabled (ioreq_update_evtchn). */
    void enable() {
        for (int i = 0; i < vcpuPorts.length; i++) {
            ioreqPage.putInt(i * IOREQ_SIZE + OFF_VP_EPORT, vcpuPorts[i].port);
        }
        enabled = true;
    }

    /**
     * {@code ioreq_send_buffered}: puts a write into the ring, or returns false when it does not fit (the caller
     * then sends it synchronously). Synchronized as Xen's bufioreq_lock serialises producers.
     */
    synchronized boolean sendBuffered(SimIoreq r) {
        if (!hasBufferedRing() || r.read || r.dataIsPtr || r.count != 1 || r.addr >= BUF_ADDR_LIMIT) {
            return false;
        }
        int sizeCode;
        switch (r.size) {
            case 1: sizeCode = 0; break;
            case 2: sizeCode = 1; break;
            case 4: sizeCode = 2; break;
            case 8: sizeCode = 3; break;
            default: return false;
        }
        int qw = r.size == 8 ? 1 : 0;
        int rd = bufPage.getInt(BUF_OFF_READ_POINTER);
        int wr = bufPage.getInt(BUF_OFF_WRITE_POINTER);
        if (wr - rd >= BUF_SLOT_NUM - qw) {
            return false;
        }
        int word0 = (r.type & BUF_TYPE_MASK) | (sizeCode << BUF_SIZE_SHIFT) | ((int) r.addr << BUF_ADDR_SHIFT);
        putSlot(wr, word0, (int) r.data);
        if (qw == 1) {
            putSlot(wr + 1, word0, (int) (r.data >>> 32));
        }
        VarHandle.releaseFence(); // smp_wmb(): slots before the pointer
        bufPage.putInt(BUF_OFF_WRITE_POINTER, wr + 1 + qw);
        canonicalisePointers(qw);
        bufPort.deliverToDm();
        return true;
    }

    private void putSlot(int index, int word0, int data) {
        int off = BUF_OFF_SLOTS + Integer.remainderUnsigned(index, BUF_SLOT_NUM) * BUF_SLOT_SIZE;
        bufPage.putInt(off, word0);
        bufPage.putInt(off + 4, data);
    }

    /**
     * With BUFIOREQ_ATOMIC, Xen subtracts whole laps from both pointers in one 64-bit cmpxchg so they never
     * overflow; the consumer must therefore advance read_pointer with an atomic add.
     */
    private void canonicalisePointers(int qw) {
        if (bufioreqHandling != HVM_IOREQSRV_BUFIOREQ_ATOMIC) {
            return;
        }
        for (int tries = qw; tries < BUF_SLOT_NUM; tries++) {
            long old = (long) POINTERS.getVolatile(bufPage, 0);
            int rd = (int) old;
            int wr = (int) (old >>> 32);
            if (Integer.compareUnsigned(rd, BUF_SLOT_NUM) < 0) {
                return;
            }
            int laps = Integer.divideUnsigned(rd, BUF_SLOT_NUM);
            long fresh = ((long) (wr - laps * BUF_SLOT_NUM) << 32) | ((rd - laps * BUF_SLOT_NUM) & 0xffffffffL);
            POINTERS.compareAndSet(bufPage, 0, old, fresh);
        }
    }
}
