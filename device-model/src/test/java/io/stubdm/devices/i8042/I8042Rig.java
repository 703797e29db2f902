package io.stubdm.devices.i8042;

import static io.stubdm.devices.i8042.I8042.*;
import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.PowerControl;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * An 8042 at ports 0x60/0x64 of a simulated Xen guest, IRQ1 and IRQ12 wired to Xen's set_isa_irq_level, and the
 * port-level primitives the guest drivers build on. Resets requested through {@link PowerControl} are recorded
 * and, as the machine will, reset the controller.
 */
final class I8042Rig implements AutoCloseable {
    /** How often a driver polls the status register before it gives up; the device answers synchronously. */
    static final int POLLS = 8;

    final EmbeddedEngine engine = new EmbeddedEngine();
    final SimVcpu cpu = engine.vcpu(0);
    final List<String> resets = new ArrayList<>();
    final I8042 kbc;

    I8042Rig() {
        PowerControl power = new PowerControl() {
            @Override
            public void requestReset(String cause) {
                resets.add(cause);
                kbc().reset();
            }

            @Override
            public void requestPoweroff(String cause) {
                fail("the 8042 cannot power off: " + cause);
            }
        };
        kbc = new I8042(isaIrq(KBD_IRQ), isaIrq(AUX_IRQ), power);
        engine.ports().register(DATA_PORT, 1, kbc.dataPort(), "i8042-data");
        engine.ports().register(COMMAND_PORT, 1, kbc.commandPort(), "i8042-command");
        engine.start();
    }

    private I8042 kbc() {
        return kbc;
    }

    private IrqLine isaIrq(int irq) {
        return high -> engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID).setIsaIrqLevel(irq, high ? 1 : 0);
    }

    // ---------------------------------------------------------------- raw ports

    int status() {
        return cpu.inb(COMMAND_PORT);
    }

    int data() {
        return cpu.inb(DATA_PORT);
    }

    void command(int cmd) {
        assertEquals(0, status() & STATUS_IBF, "input buffer full before a command");
        cpu.outb(COMMAND_PORT, cmd);
    }

    void write(int b) {
        assertEquals(0, status() & STATUS_IBF, "input buffer full before a data byte");
        cpu.outb(DATA_PORT, b);
    }

    // ---------------------------------------------------------------- driver primitives

    /** The status once OBF is set (i8042_wait_read), or -1 if it never is. */
    int waitOutput() {
        for (int i = 0; i < POLLS; i++) {
            int s = status();
            if ((s & STATUS_OBF) != 0) {
                return s;
            }
        }
        return -1;
    }

    /** The next byte, which must come from the keyboard side (controller replies do). */
    int readKbd() {
        int s = waitOutput();
        assertNotEquals(-1, s, "no byte in the output buffer");
        assertEquals(0, s & STATUS_AUX_OBF, String.format("expected a keyboard-side byte, status 0x%02x", s));
        return data();
    }

    /** The next byte, which must come from the mouse side. */
    int readAux() {
        int s = waitOutput();
        assertNotEquals(-1, s, "no byte in the output buffer");
        assertEquals(STATUS_AUX_OBF, s & STATUS_AUX_OBF, String.format("expected a mouse byte, status 0x%02x", s));
        return data();
    }

    void assertEmpty() {
        assertEquals(0, status() & STATUS_OBF, "output buffer should be empty");
    }

    /** SeaBIOS and Linux i8042_flush: read while OBF, at most 16 bytes; the count read. */
    int flush() {
        int n = 0;
        while (n < 16 && (status() & STATUS_OBF) != 0) {
            data();
            n++;
        }
        return n;
    }

    /**
     * Linux's and SeaBIOS's __i8042_command: {@code command} is 0xSRCC, S data bytes sent after controller
     * command CC, R bytes read back. Loopback replies (0xD3) must come flagged as mouse data.
     */
    int[] i8042Command(int command, int... params) {
        int receive = (command >> 8) & 0xf;
        int send = (command >> 12) & 0xf;
        assertEquals(send, params.length);
        command(command & 0xff);
        for (int p : params) {
            write(p);
        }
        int[] got = new int[receive];
        for (int i = 0; i < receive; i++) {
            got[i] = (command & 0xff) == CMD_WRITE_AUX_OUTPUT ? readAux() : readKbd();
        }
        return got;
    }

    int readCommandByte() {
        return i8042Command(0x0120)[0];
    }

    void writeCommandByte(int cb) {
        i8042Command(0x1060, cb);
    }

    /** Runs {@code action} with the keyboard on the device loop, as the display server will. */
    void keyboard(Consumer<Ps2Keyboard> action) {
        engine.onLoop(() -> action.accept(kbc.keyboard()));
    }

    void mouse(Consumer<Ps2Mouse> action) {
        engine.onLoop(() -> action.accept(kbc.mouse()));
    }

    // ---------------------------------------------------------------- what Xen saw

    /** Levels driven on {@code irq}, in order, as Xen's dm_op log has them. */
    List<Integer> irqLevels(int irq) {
        String prefix = String.format("set_isa_irq_level(0x%x, 0x", irq);
        List<Integer> levels = new ArrayList<>();
        for (String op : engine.domain().dmOpLog()) {
            if (op.startsWith(prefix)) {
                levels.add(Integer.parseInt(op.substring(prefix.length(), op.length() - 1), 16));
            }
        }
        return levels;
    }

    /** Low-to-high transitions of {@code irq}: the edges an edge-triggered PIC latches. */
    int risingEdges(int irq) {
        int edges = 0;
        int level = 0;
        for (int l : irqLevels(irq)) {
            if (l == 1 && level == 0) {
                edges++;
            }
            level = l;
        }
        return edges;
    }

    int irqLevel(int irq) {
        return engine.domain().isaIrqLevel(irq);
    }

    @Override
    public void close() {
        try {
            assertEquals(0, engine.stats().deviceErrors(), "the device threw while serving the guest");
        } finally {
            engine.close();
        }
    }
}
