package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.e1000.FreeBsdEm.Offload;
import io.stubdm.devices.pci.PciRegs;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ICR, ICS, IMS and IMC as em_intr and iflib use them, the INTA level that follows {@code ICR & IMS}, and the
 * timers between an event and its interrupt: ITR throttling, RDTR/RADV and TIDV/TADV.
 */
class E1000InterruptTest {
    private final E1000Rig rig = new E1000Rig();

    @AfterEach
    void close() {
        assertEquals(0, rig.engine.loop().failures(), "no exception escaped on the device loop");
        assertEquals(0, rig.engine.stats().deviceErrors());
        rig.close();
    }

    @Test
    void causeAndMaskRegisters() {
        rig.w(IMS, ICR_RXT0 | ICR_LSC);
        assertEquals(ICR_RXT0 | ICR_LSC, rig.r(IMS));
        rig.w(ICS, ICR_TXDW);
        assertFalse(rig.irq(), "TXDW is masked");
        assertEquals(ICR_TXDW, rig.r(ICS), "ICS reads as ICR and does not clear it");
        rig.w(IMS, ICR_TXDW);
        assertTrue(rig.irq(), "a cause latched while masked fires when unmasked");
        assertEquals(ICR_TXDW, rig.r(ICR));
        assertFalse(rig.irq(), "reading ICR clears it and drops INTA");
        assertEquals(0, rig.r(ICR));

        rig.w(ICS, ICR_TXDW | ICR_LSC);
        assertTrue(rig.irq());
        rig.w(ICR, ICR_TXDW);
        assertTrue(rig.irq(), "LSC still pending");
        assertEquals(ICR_LSC, rig.r(ICS));
        rig.w(ICR, ICR_LSC);
        assertFalse(rig.irq(), "writing 1 clears the cause");

        rig.w(ICS, ICR_RXT0);
        assertTrue(rig.irq());
        rig.w(IMC, 0xffffffff);
        assertFalse(rig.irq(), "IMC masks at once");
        assertEquals(0, rig.r(IMS));
        assertEquals(0, rig.r(IMC), "IMC is write-only");
        assertEquals(ICR_RXT0, rig.r(ICR), "the cause stayed latched");

        rig.w(ICS, 0xffffffff);
        assertEquals(ICR_VALID, rig.r(ICR), "reserved bits and INT_ASSERTED (82571+) never set");
        assertEquals(List.of(true, false, true, false, true, false), rig.irqLevels());
    }

    @Test
    void intxDisableMasksThePin() {
        rig.w(IMS, ICR_LSC);
        rig.w(ICS, ICR_LSC);
        assertTrue(rig.irq());
        assertEquals(PciRegs.STATUS_INTERRUPT, rig.cfg(PciRegs.STATUS, 2) & PciRegs.STATUS_INTERRUPT);
        int command = (int) rig.cfg(PciRegs.COMMAND, 2);
        rig.cfgw(PciRegs.COMMAND, 2, command | PciRegs.COMMAND_INTX_DISABLE);
        assertFalse(rig.irq());
        rig.cfgw(PciRegs.COMMAND, 2, command);
        assertTrue(rig.irq());
        rig.r(ICR);
        assertEquals(0, rig.cfg(PciRegs.STATUS, 2) & PciRegs.STATUS_INTERRUPT);
    }

    @Test
    void itrSpacesInterrupts() {
        int itr = 40000;
        long interval = itr * 256L;
        rig.w(ITR, itr);
        rig.w(IMS, ICR_TXDW);
        long start = System.nanoTime();
        rig.w(ICS, ICR_TXDW);
        assertTrue(rig.irq(), "the first interrupt is not delayed");
        rig.r(ICR);
        rig.w(ICS, ICR_TXDW);
        assertFalse(rig.irq(), "the second waits for the interval");
        assertEquals(ICR_TXDW, rig.r(ICS), "the cause is visible meanwhile");
        E1000Rig.pollUntil("the throttled interrupt", rig::irq);
        assertTrue(System.nanoTime() - start >= interval, "at least ITR x 256 ns apart");

        rig.w(ITR, 0);
        rig.r(ICR);
        rig.w(ICS, ICR_TXDW);
        assertTrue(rig.irq(), "ITR = 0 does not throttle");
    }

    @Test
    void receiveDelayTimer() {
        FreeBsdEm.up(rig);
        rig.w(IMS, ICR_RXT0);
        rig.w(RDTR, 20000);
        rig.w(RADV, 0);
        rig.r(ICR);
        long start = System.nanoTime();
        rig.inject(Packets.tcpFrame(E1000Rig.MAC, 100, 1));
        assertEquals(0, rig.r(ICS) & ICR_RXT0, "RXT0 waits for RDTR");
        E1000Rig.pollUntil("RXT0", () -> (rig.r(ICS) & ICR_RXT0) != 0);
        assertTrue(System.nanoTime() - start >= 20000 * 1024L);

        rig.r(ICR);
        rig.inject(Packets.tcpFrame(E1000Rig.MAC, 100, 2));
        assertEquals(0, rig.r(ICS) & ICR_RXT0);
        rig.w(RDTR, 20000 | RDTR_FPD);
        assertEquals(ICR_RXT0, rig.r(ICR) & ICR_RXT0, "FPD fires the pending delay");
        rig.w(RDTR, 20000 | RDTR_FPD);
        assertEquals(0, rig.r(ICR) & ICR_RXT0, "FPD with nothing pending does nothing");
    }

    @Test
    void absoluteDelayBoundsAFrameStream() {
        FreeBsdEm.up(rig);
        rig.w(RDTR, 0xffff);
        rig.w(RADV, 10000);
        rig.r(ICR);
        long start = System.nanoTime();
        boolean seen = false;
        for (int i = 0; i < 40 && !seen; i++) {
            rig.inject(Packets.tcpFrame(E1000Rig.MAC, 60, i));
            seen = (rig.r(ICS) & ICR_RXT0) != 0;
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        assertTrue(seen, "RADV ends the delay although frames keep restarting RDTR");
        assertTrue(System.nanoTime() - start >= 10000 * 1024L);
    }

    @Test
    void transmitDelayOnlyForIde() {
        FreeBsdEm em = FreeBsdEm.up(rig);
        rig.w(TIDV, 20000);
        rig.w(TADV, 0);
        rig.r(ICR);
        byte[] frame = Packets.tcpFrame(Packets.PEER, 100, 1);
        rig.put(FreeBsdEm.TX_BUFFERS, frame);
        long start = System.nanoTime();
        em.encap(new long[][] {{FreeBsdEm.TX_BUFFERS, frame.length}}, frame.length, Offload.NONE, 0, -1, true);
        assertEquals(ICR_TXQE, rig.r(ICS) & (ICR_TXDW | ICR_TXQE), "IDE: TXDW waits for TIDV, TXQE does not");
        E1000Rig.pollUntil("TXDW", () -> (rig.r(ICS) & ICR_TXDW) != 0);
        assertTrue(System.nanoTime() - start >= 20000 * 1024L);

        rig.r(ICR);
        em.txdCmd = 0;
        em.encap(new long[][] {{FreeBsdEm.TX_BUFFERS, frame.length}}, frame.length, Offload.NONE, 0, -1, true);
        assertEquals(ICR_TXDW, rig.r(ICR) & ICR_TXDW, "without IDE, TXDW at once");
    }
}
