package io.stubdm.devices.rtl8139;

import static io.stubdm.devices.pci.PciRegs.*;
import static io.stubdm.devices.rtl8139.Packets.*;
import static io.stubdm.devices.rtl8139.Rtl8139Registers.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random accesses of every size to every register through both BARs, random frames from the host, a host that
 * pushes back now and then, bus mastering switched off and on: nothing may escape into the device loop, the
 * interrupt line must follow ISR & IMR, reserved bits must stay clear, and afterwards re(4) must bring the chip
 * up and move frames as if nothing had happened.
 */
class Rtl8139GarbageTest {

    @Test
    void garbageLeavesTheChipConsistentAndUsable() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String why = "seed " + seed;
        try (Rtl8139Rig rig = new Rtl8139Rig(true)) {
            FakeBackend host = rig.fake();
            for (int i = 0; i < 30_000; i++) {
                int what = random.nextInt(100);
                int size = 1 << random.nextInt(3);
                int offset = random.nextInt(256 / size) * size + (random.nextInt(8) == 0 ? random.nextInt(size) : 0);
                offset = Math.min(offset, 256 - size);
                long value = random.nextLong() & (size == 4 ? 0xffffffffL : (1L << 8 * size) - 1);
                boolean io = random.nextBoolean();
                if (what < 55) {
                    write(rig, io, offset, size, value);
                } else if (what < 90) {
                    read(rig, io, offset, size);
                } else if (what < 96) {
                    byte[] frame = new byte[random.nextInt(2000)];
                    random.nextBytes(frame);
                    if (frame.length >= 6 && random.nextBoolean()) {
                        System.arraycopy(Rtl8139Rig.MAC, 0, frame, 0, 6);
                    }
                    host.inject(frame);
                } else if (what < 98) {
                    host.setFull(random.nextBoolean());
                } else {
                    // Point a ring at guest RAM, where descriptors are whatever the RAM holds.
                    write(rig, io, random.nextBoolean() ? RDSAR : TNPDS, 4, random.nextInt(64 << 20) & ~0xff);
                    rig.cfgw(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | (random.nextInt(4) == 0 ? 0 : COMMAND_MASTER));
                }
            }
            host.setFull(false);
            rig.cfgw(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER);
            // Quiesce: no timer, no receiver, so that ISR holds still while the test reads it.
            rig.w32(TIMER_INT, 0);
            rig.w8(CR, 0);
            rig.settle();

            assertEquals(0, rig.engine.loop().failures(), "nothing escaped from the device: " + why);
            assertEquals(0, rig.engine.stats().deviceErrors(), why);
            int isr = rig.r16(ISR);
            int imr = rig.r16(IMR);
            assertEquals(0, isr & 0x1e00, "reserved ISR bits: " + why);
            assertEquals(0, imr & 0x1e00, "reserved IMR bits: " + why);
            rig.settle();
            assertEquals((rig.r16(ISR) & rig.r16(IMR)) != 0, rig.irq.get(), "the line follows ISR & IMR: " + why);
            assertEquals(0, rig.r8(CR) & CR_RST, "reset always completes: " + why);
            assertEquals(0x20, rig.r8(RERID), why);
            assertEquals(TCR_HWVERID_8139CPLUS, rig.r32(TCR) & 0x7cc00000L, "the version bits are read-only: " + why);

            // And re(4) brings it up again.
            rig.w8(CR9346, CR9346_AUTOLOAD);
            FreeBsdRe re = new FreeBsdRe(rig);
            re.probe();
            byte[] mac = re.attach();
            assertArrayEquals(Rtl8139Rig.MAC, mac, "the EEPROM still holds the address: " + why);
            re.init(mac, true, true);
            int before = rig.engine.onLoop(host::sent).size();
            byte[] out = ipv4(PEER_MAC, mac, TCP, payload(500, 1), TCP_ACK, false);
            re.transmit(out, 2, TXD_IPCS | TXD_TCPCS, 0);
            Rtl8139Rig.await("the frame at the host", () -> rig.engine.onLoop(host::sent).size() > before);
            List<byte[]> sent = rig.engine.onLoop(host::sent);
            assertChecksumsValid(sent.get(sent.size() - 1), 14, "after the garbage: " + why);

            rig.settle();
            byte[] in = ipv4(mac, PEER_MAC, UDP, payload(77, 2), 0, true);
            host.inject(in);
            long deadline = System.nanoTime() + Rtl8139Rig.WAIT_NANOS;
            List<FreeBsdRe.Received> up = new java.util.ArrayList<>();
            while (up.stream().noneMatch(r -> java.util.Arrays.equals(r.frame(), in))) {
                assertTrue(System.nanoTime() < deadline, "the frame never came up: " + why);
                up.addAll(re.poll());
            }
            assertEquals(0, rig.engine.loop().failures(), why);
        }
    }

    private static void write(Rtl8139Rig rig, boolean io, int offset, int size, long value) {
        if (io) {
            rig.cpu.out(Rtl8139Rig.IO_BASE + offset, size, value);
        } else {
            rig.cpu.mmioWrite(Rtl8139Rig.MMIO_BASE + offset, size, value);
        }
    }

    private static void read(Rtl8139Rig rig, boolean io, int offset, int size) {
        if (io) {
            rig.cpu.in(Rtl8139Rig.IO_BASE + offset, size);
        } else {
            rig.cpu.mmioRead(Rtl8139Rig.MMIO_BASE + offset, size);
        }
    }
}
