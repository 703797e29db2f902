package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.e1000.FreeBsdEm.Offload;
import io.stubdm.devices.pci.PciRegs;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a broken or hostile guest can do: point rings and buffers outside its RAM, write anything anywhere in
 * both BARs, reset the device in the middle of things. Nothing may throw out of the device, and a reset followed
 * by a normal attach must give a working NIC.
 */
class E1000RobustnessTest {
    private static final long NOT_RAM = 0x7000_0000L;
    private final E1000Rig rig = new E1000Rig();

    @AfterEach
    void close() {
        assertEquals(0, rig.engine.loop().failures(), "no exception escaped on the device loop");
        assertEquals(0, rig.engine.stats().deviceErrors(), "no access failed with an exception");
        rig.close();
    }

    private long dmaErrors() {
        return rig.onLoop(rig.nic::dmaErrors);
    }

    private long drops(String cause) {
        return rig.onLoop(() -> rig.backend.stats().drops(cause));
    }

    /** A frame each way through a driver that has just come up. */
    private void assertTraffic(FreeBsdEm em) {
        byte[] in = Packets.tcpFrame(E1000Rig.MAC, 300, 7);
        int head = rig.r(RDH);
        rig.inject(in);
        assertEquals(head + 1, rig.r(RDH));
        assertArrayEquals(in, rig.get(FreeBsdEm.RX_BUFFERS + (long) head * FreeBsdEm.RX_BUFFER_SIZE, in.length));
        byte[] out = Packets.tcpFrame(Packets.PEER, 300, 8);
        rig.put(FreeBsdEm.TX_BUFFERS, out);
        int sent = rig.sent().size();
        em.encap(new long[][] {{FreeBsdEm.TX_BUFFERS, out.length}}, out.length, Offload.NONE, 0, -1, true);
        assertArrayEquals(out, rig.sent().get(sent));
    }

    @Test
    void transmitDmaOutsideRam() {
        FreeBsdEm em = FreeBsdEm.up(rig);
        int eop = em.encap(new long[][] {{NOT_RAM, 100}}, 100, Offload.NONE, 0, -1, true);
        assertEquals(0, rig.sent().size());
        assertEquals(1, drops("tx-dma-error"));
        assertEquals(1, dmaErrors());
        assertEquals(TXD_STAT_DD, rig.descriptor(FreeBsdEm.TX_RING, eop).get(12), "the descriptor is still given back");
        assertEquals(eop + 1, rig.r(TDH));
        em.encap(new long[][] {{-4096L, 100}}, 100, Offload.NONE, 0, -1, true);
        assertEquals(2, drops("tx-dma-error"), "an address beyond 2^63 too");

        int head = rig.r(TDH);
        rig.w(TDBAL, (int) NOT_RAM);
        rig.w(TDT, head + 1);
        assertEquals(3, dmaErrors(), "the ring itself is unreadable");
        assertEquals(head, rig.r(TDH), "nothing consumed");
    }

    @Test
    void receiveDmaOutsideRam() {
        FreeBsdEm.up(rig);
        rig.putDescriptor(FreeBsdEm.RX_RING, 0, NOT_RAM, 0, 0);
        byte[] frame = Packets.tcpFrame(E1000Rig.MAC, 100, 1);
        rig.inject(frame);
        assertEquals(1, rig.r(RDH));
        assertEquals(RXD_ERR_RXE, rig.descriptor(FreeBsdEm.RX_RING, 0).get(13) & 0xff, "RXE: the data went nowhere");
        assertEquals(1, dmaErrors());

        rig.w(RDBAL, (int) NOT_RAM);
        rig.inject(frame);
        assertEquals(1, drops("rx-dma-error"));
        assertEquals(2, dmaErrors());
    }

    @Test
    void garbageEverywhereThenResetAndAttach() {
        Random random = new Random(0x82540);
        for (int offset = 0; offset < E1000.MMIO_SIZE; offset += 4) {
            rig.w(offset, random.nextInt());
        }
        for (int offset = 0; offset < 0x8000; offset += 4) {
            rig.r(offset);
        }
        int[] sizes = {1, 2, 4, 8};
        for (int i = 0; i < 2000; i++) {
            int size = sizes[random.nextInt(4)];
            long address = E1000Rig.MMIO_BASE + random.nextInt(E1000.MMIO_SIZE - 8);
            if (random.nextBoolean()) {
                rig.cpu.mmioWrite(address, size, random.nextLong() & (size == 8 ? -1L : (1L << 8 * size) - 1));
            } else {
                rig.cpu.mmioRead(address, size);
            }
            int port = E1000Rig.IO_BASE + random.nextInt(E1000.IO_SIZE - 4);
            int ioSize = sizes[random.nextInt(3)];
            if (random.nextBoolean()) {
                rig.cpu.out(port, ioSize, random.nextInt() & (int) ((1L << 8 * ioSize) - 1));
            } else {
                rig.cpu.in(port, ioSize);
            }
            if (i % 100 == 0) {
                rig.inject(Packets.tcpFrame(random.nextBoolean() ? E1000Rig.MAC : Packets.BROADCAST, random.nextInt(1500), i));
            }
        }
        assertEquals(0, rig.engine.loop().failures());
        assertEquals(0, rig.engine.stats().deviceErrors());

        rig.wio(CTRL, CTRL_RST);
        assertEquals(0, rig.r(RCTL));
        assertEquals(0, rig.r(IMS));
        assertEquals(0, rig.r(TDLEN));
        assertEquals(0x12005452, rig.r(RA));
        FreeBsdEm em = FreeBsdEm.up(rig);
        assertTraffic(em);
    }

    @Test
    void resetMidTrafficThenCleanAttach() {
        FreeBsdEm em = FreeBsdEm.up(rig);
        assertTraffic(em);
        rig.onLoop(() -> rig.backend.limitSends(0));
        byte[] out = Packets.tcpFrame(Packets.PEER, 100, 1);
        rig.put(FreeBsdEm.TX_BUFFERS, out);
        em.encap(new long[][] {{FreeBsdEm.TX_BUFFERS, out.length}}, out.length, Offload.NONE, 0, -1, true);
        rig.w(RDT, rig.r(RDH));
        rig.inject(Packets.tcpFrame(E1000Rig.MAC, 100, 2));
        assertEquals(1, (int) rig.onLoop(rig.backend::waiting), "a frame waits for buffers");

        rig.wio(CTRL, rig.r(CTRL) | CTRL_RST);
        assertEquals(0, rig.r(TDH));
        assertEquals(0, rig.r(ICR));
        assertEquals(STATUS_LU, rig.r(STATUS) & STATUS_LU, "the PHY kept the link");
        rig.onLoop(rig.backend::unlimitSends);
        assertEquals(1, rig.sent().size(), "the abandoned packet is not sent after the reset");

        em = FreeBsdEm.up(rig);
        assertEquals(1, rig.r(RDH), "the waiting frame arrived once the new ring had buffers");
        assertTraffic(em);

        // A machine reset puts config space back too: BARs must be programmed again.
        rig.onLoop(rig.nic::reset);
        assertEquals(0, rig.cfg(PciRegs.BAR0, 4));
        rig.cfgw(PciRegs.BAR0, 4, E1000Rig.MMIO_BASE);
        rig.cfgw(PciRegs.BAR0 + 4, 4, E1000Rig.IO_BASE);
        rig.cfgw(PciRegs.COMMAND, 2, PciRegs.COMMAND_IO | PciRegs.COMMAND_MEMORY | PciRegs.COMMAND_MASTER);
        em = FreeBsdEm.up(rig);
        assertTraffic(em);
    }

    @Test
    void statisticsClearOnReadAndIgnoreWrites() {
        FreeBsdEm em = FreeBsdEm.up(rig);
        assertTraffic(em);
        rig.inject(Packets.tcpFrame(E1000Rig.MAC, 100, 3));
        assertEquals(2, rig.r(TPR));
        assertEquals(0, rig.r(TPR));
        int low = rig.r(GOTCL);
        assertEquals(366 + 4, low);
        assertEquals(low, rig.r(GOTCL), "the low half alone does not clear");
        assertEquals(0, rig.r(GOTCH));
        assertEquals(0, rig.r(GOTCL));
        assertEquals(2, rig.r(GPRC));
        rig.w(GPRC, 1234);
        assertEquals(0, rig.r(GPRC), "statistics are read-only");
    }
}
