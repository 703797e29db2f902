package io.stubdm.devices.i8042;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.PowerControl;
import io.stubdm.devices.Resettable;
import io.stubdm.ioreq.BusDevice;
import java.lang.System.Logger.Level;
import java.util.Arrays;

/**
 * The Intel 8042 keyboard controller of a PC, with a {@link Ps2Keyboard} on its first port and a {@link Ps2Mouse}
 * on its auxiliary port. The machine registers {@link #dataPort()} at port 0x60 and {@link #commandPort()} at port
 * 0x64, one byte each, and connects {@link #KBD_IRQ} and {@link #AUX_IRQ}. Behaviour follows QEMU's
 * hw/input/pckbd.c, since SeaBIOS, FreeBSD (atkbdc, psm) and Linux (i8042) have long run against it.
 *
 * <p>The controller has one output buffer. It is fed, in this order, by the controller's own replies, by the
 * keyboard while its port is enabled ({@link #CB_KBD_DISABLE} clear) and by the mouse while its port is; a device
 * whose port is disabled keeps its bytes. Keyboard bytes go through the set 2 to set 1 translation while
 * {@link #CB_TRANSLATE} is set, as on a PC, where the controller translates, not the keyboard.
 *
 * <p>IRQ1 is high while the buffer holds a byte from the keyboard side, {@link #CB_KBD_INT} is set and the
 * keyboard port is enabled; IRQ12 while it holds a mouse byte ({@link #STATUS_AUX_OBF}) and {@link #CB_AUX_INT} is
 * set. Reading port 0x60 empties the buffer and drops the line; if another byte is waiting it is loaded at once
 * and the line rises again. Those rises are the edges a guest's edge-triggered PIC counts, one per byte (QEMU
 * kbd_update_irq_lines; under Xen each is a set_isa_irq_level transition).
 *
 * <p>The controller takes each byte as the guest writes it, so {@link #STATUS_IBF} never reads as set and
 * drivers' wait-for-input-empty loops pass at once. Runs on the device loop.
 */
public final class I8042 implements Resettable {
    private static final System.Logger LOG = System.getLogger(I8042.class.getName());

    public static final int DATA_PORT = 0x60;
    /** Status register when read, controller command when written. */
    public static final int COMMAND_PORT = 0x64;
    public static final int KBD_IRQ = 1;
    public static final int AUX_IRQ = 12;

    /** Status register. Output buffer full: port 0x60 has a byte for the host. */
    public static final int STATUS_OBF = 0x01;
    /** Input buffer full: the controller has not taken the host's last byte yet. */
    public static final int STATUS_IBF = 0x02;
    /** System flag: set by a passed self-test; follows {@link #CB_SYS} whenever the command byte is written. */
    public static final int STATUS_SYS = 0x04;
    /** The last byte written went to port 0x64 (a command), not 0x60 (data). */
    public static final int STATUS_CMD = 0x08;
    /** The keylock switch is open (keyboard not inhibited); always, there is no key. */
    public static final int STATUS_UNLOCKED = 0x10;
    /** The output buffer's byte came from the mouse. */
    public static final int STATUS_AUX_OBF = 0x20;
    public static final int STATUS_TIMEOUT = 0x40;
    public static final int STATUS_PARITY_ERROR = 0x80;

    /** Command byte (controller RAM byte 0). Keyboard bytes raise IRQ1. */
    public static final int CB_KBD_INT = 0x01;
    /** Mouse bytes raise IRQ12. */
    public static final int CB_AUX_INT = 0x02;
    /** Copied to {@link #STATUS_SYS} when the command byte is written. */
    public static final int CB_SYS = 0x04;
    public static final int CB_IGNORE_KEYLOCK = 0x08;
    /** Keyboard port disabled (clock held low): the keyboard keeps its bytes. */
    public static final int CB_KBD_DISABLE = 0x10;
    /** Mouse port disabled. */
    public static final int CB_AUX_DISABLE = 0x20;
    /** Translate keyboard bytes from scan code set 2 to set 1. */
    public static final int CB_TRANSLATE = 0x40;

    /** Output port (P2). Bit 0 low holds the CPU in reset. */
    public static final int OUT_RESET = 0x01;
    public static final int OUT_A20 = 0x02;
    /** The pins that are IRQ1 and IRQ12. */
    public static final int OUT_KBD_IRQ = 0x10;
    public static final int OUT_AUX_IRQ = 0x20;

    /** 0x20-0x3F read controller RAM byte (command & 0x1F); 0x20 reads the command byte. */
    public static final int CMD_READ_RAM = 0x20;
    /** 0x60-0x7F write controller RAM byte (command & 0x1F) with the next data byte; 0x60 the command byte. */
    public static final int CMD_WRITE_RAM = 0x60;
    public static final int CMD_AUX_DISABLE = 0xA7;
    public static final int CMD_AUX_ENABLE = 0xA8;
    /** Auxiliary interface test: 0x00 means no fault. */
    public static final int CMD_AUX_TEST = 0xA9;
    /** Controller self-test: {@link #SELF_TEST_PASSED}. */
    public static final int CMD_SELF_TEST = 0xAA;
    /** Keyboard interface test: 0x00 means no fault. */
    public static final int CMD_KBD_TEST = 0xAB;
    public static final int CMD_KBD_DISABLE = 0xAD;
    public static final int CMD_KBD_ENABLE = 0xAE;
    public static final int CMD_READ_INPUT_PORT = 0xC0;
    public static final int CMD_READ_OUTPUT_PORT = 0xD0;
    public static final int CMD_WRITE_OUTPUT_PORT = 0xD1;
    /** The next data byte comes back as if the keyboard had sent it. */
    public static final int CMD_WRITE_KBD_OUTPUT = 0xD2;
    /** The next data byte comes back as if the mouse had sent it (Linux's AUX loopback test). */
    public static final int CMD_WRITE_AUX_OUTPUT = 0xD3;
    /** The next data byte goes to the mouse. */
    public static final int CMD_WRITE_AUX = 0xD4;
    public static final int CMD_A20_OFF = 0xDD;
    public static final int CMD_A20_ON = 0xDF;
    /** Keyboard clock and data lines as the controller's T0/T1 inputs see them. */
    public static final int CMD_READ_TEST_INPUTS = 0xE0;
    /** 0xF0-0xFF pulse the output port bits 3:0 that are 0 in the command; bit 0 is the CPU reset. */
    public static final int CMD_PULSE_OUTPUT = 0xF0;
    /** Pulse bit 0 only: reset the machine. */
    public static final int CMD_SYSTEM_RESET = 0xFE;

    public static final int SELF_TEST_PASSED = 0x55;
    public static final int INTERFACE_OK = 0x00;

    private static final int RAM_BYTES = 32;
    private static final int RAM_INDEX = RAM_BYTES - 1;
    /** Bit 7 high: keyboard not inhibited (QEMU's KBD_CCMD_READ_INPORT answer). */
    private static final int INPUT_PORT = 0x80;
    /** Reset inactive, A20 on, and the unused bits high (QEMU's KBD_OUT_ONES). */
    private static final int OUTPUT_PORT_POWER_ON = 0xcc | OUT_A20 | OUT_RESET;
    /** T0 and T1 low, what BIOS POST routines look for (IBMulator's answer; QEMU has none). */
    private static final int TEST_INPUTS = 0x00;
    private static final int NONE = -1;

    private final IrqLine kbdIrq;
    private final IrqLine auxIrq;
    private final PowerControl power;
    private final Ps2Keyboard keyboard = new Ps2Keyboard();
    private final Ps2Mouse mouse = new Ps2Mouse();
    private final XtTranslator translator = new XtTranslator();
    private final int[] ram = new int[RAM_BYTES];
    private final BusDevice dataPort = new BusDevice() {
        @Override
        public long read(long offset, int size) {
            return readData();
        }

        @Override
        public void write(long offset, int size, long value) {
            writeData((int) value & 0xff);
        }
    };
    private final BusDevice commandPort = new BusDevice() {
        @Override
        public long read(long offset, int size) {
            return status;
        }

        @Override
        public void write(long offset, int size, long value) {
            writeCommand((int) value & 0xff);
        }
    };

    private int status;
    /** What port 0x60 reads; it keeps the last byte once read, as QEMU's obdata does (EMM386 rereads it). */
    private int outputBuffer;
    private int controllerReply;
    private boolean controllerReplyFromAux;
    /** The command whose data byte the next write to port 0x60 is, or {@link #NONE}. */
    private int awaitingData;
    private int outputPort;
    private boolean kbdIrqHigh;
    private boolean auxIrqHigh;

    public I8042(IrqLine kbdIrq, IrqLine auxIrq, PowerControl power) {
        this.kbdIrq = kbdIrq;
        this.auxIrq = auxIrq;
        this.power = power;
        keyboard.onInput(this::fillOutputBuffer);
        mouse.onInput(this::fillOutputBuffer);
        reset();
    }

    /** Port 0x60. */
    public BusDevice dataPort() {
        return dataPort;
    }

    /** Port 0x64. */
    public BusDevice commandPort() {
        return commandPort;
    }

    public Ps2Keyboard keyboard() {
        return keyboard;
    }

    public Ps2Mouse mouse() {
        return mouse;
    }

    /** The A20 gate as the output port drives it. Only tracked: Xen's HVM guests have no A20 gate to drive. */
    public boolean a20Enabled() {
        return (outputPort & OUT_A20) != 0;
    }

    /** QEMU kbd_reset: both interrupts enabled, no translation until firmware asks for it. */
    @Override
    public void reset() {
        Arrays.fill(ram, 0);
        ram[0] = CB_KBD_INT | CB_AUX_INT;
        status = STATUS_CMD | STATUS_UNLOCKED;
        outputBuffer = 0;
        controllerReply = NONE;
        awaitingData = NONE;
        outputPort = OUTPUT_PORT_POWER_ON;
        translator.reset();
        keyboard.reset();
        mouse.reset();
        updateIrqLines();
    }

    private int readData() {
        int value = outputBuffer;
        if ((status & STATUS_OBF) != 0) {
            status &= ~(STATUS_OBF | STATUS_AUX_OBF);
            updateIrqLines(); // drop the line first, so the next byte is a fresh edge
            fillOutputBuffer();
        }
        return value;
    }

    private void writeCommand(int cmd) {
        status |= STATUS_CMD;
        awaitingData = NONE; // a command abandons one still waiting for its data byte
        if (cmd >= CMD_PULSE_OUTPUT) {
            // QEMU maps every pulse with bit 0 low to a reset; the other lines pulse nothing we model.
            if ((cmd & OUT_RESET) == 0) {
                power.requestReset(String.format("i8042 command 0x%02x", cmd));
            }
            return;
        }
        if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + RAM_BYTES) {
            replyFromController(ram[cmd & RAM_INDEX], false);
        } else if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_BYTES) {
            awaitingData = cmd;
        } else {
            controllerCommand(cmd);
        }
        fillOutputBuffer();
    }

    private void controllerCommand(int cmd) {
        switch (cmd) {
            case CMD_WRITE_OUTPUT_PORT:
            case CMD_WRITE_KBD_OUTPUT:
            case CMD_WRITE_AUX_OUTPUT:
            case CMD_WRITE_AUX:
                awaitingData = cmd;
                break;
            case CMD_AUX_DISABLE:
                ram[0] |= CB_AUX_DISABLE;
                break;
            case CMD_AUX_ENABLE:
                ram[0] &= ~CB_AUX_DISABLE;
                break;
            case CMD_KBD_DISABLE:
                ram[0] |= CB_KBD_DISABLE;
                break;
            case CMD_KBD_ENABLE:
                ram[0] &= ~CB_KBD_DISABLE;
                break;
            case CMD_AUX_TEST:
            case CMD_KBD_TEST:
                replyFromController(INTERFACE_OK, false);
                break;
            case CMD_SELF_TEST:
                status |= STATUS_SYS;
                replyFromController(SELF_TEST_PASSED, false);
                break;
            case CMD_READ_INPUT_PORT:
                replyFromController(INPUT_PORT, false);
                break;
            case CMD_READ_OUTPUT_PORT:
                replyFromController(outputPort | (kbdIrqHigh ? OUT_KBD_IRQ : 0) | (auxIrqHigh ? OUT_AUX_IRQ : 0),
                        false);
                break;
            case CMD_A20_OFF:
                outputPort &= ~OUT_A20;
                break;
            case CMD_A20_ON:
                outputPort |= OUT_A20;
                break;
            case CMD_READ_TEST_INPUTS:
                replyFromController(TEST_INPUTS, false);
                break;
            default:
                LOG.log(Level.DEBUG, () -> String.format("i8042: unsupported controller command 0x%02x", cmd));
        }
    }

    private void writeData(int value) {
        status &= ~STATUS_CMD;
        int cmd = awaitingData;
        awaitingData = NONE;
        if (cmd == NONE) {
            // Sending to a device enables its port (QEMU kbd_write_data: "reenables PS/2 communication").
            ram[0] &= ~CB_KBD_DISABLE;
            keyboard.receive(value);
        } else if (cmd == CMD_WRITE_RAM) {
            writeCommandByte(value);
        } else if (cmd < CMD_WRITE_RAM + RAM_BYTES) {
            ram[cmd & RAM_INDEX] = value;
        } else if (cmd == CMD_WRITE_OUTPUT_PORT) {
            outputPort = value & ~(OUT_KBD_IRQ | OUT_AUX_IRQ);
            if ((value & OUT_RESET) == 0) {
                power.requestReset(String.format("i8042 output port written 0x%02x", value));
                return;
            }
        } else if (cmd == CMD_WRITE_KBD_OUTPUT || cmd == CMD_WRITE_AUX_OUTPUT) {
            replyFromController(value, cmd == CMD_WRITE_AUX_OUTPUT);
        } else { // CMD_WRITE_AUX
            ram[0] &= ~CB_AUX_DISABLE;
            mouse.receive(value);
        }
        fillOutputBuffer();
    }

    private void writeCommandByte(int value) {
        if (((ram[0] ^ value) & CB_TRANSLATE) != 0) {
            translator.reset();
        }
        ram[0] = value;
        // The status register's system flag takes the command byte's (IBM PS/2 Technical Reference, 8042 status).
        status = (status & ~STATUS_SYS) | (value & CB_SYS);
    }

    /** The controller's own answer; it replaces one the guest has not read yet (QEMU's single cbdata byte). */
    private void replyFromController(int value, boolean asAux) {
        controllerReply = value;
        controllerReplyFromAux = asAux;
    }

    private void fillOutputBuffer() {
        while ((status & STATUS_OBF) == 0) {
            int cb = ram[0];
            if (controllerReply != NONE) {
                load(controllerReply, controllerReplyFromAux);
                controllerReply = NONE;
            } else if ((cb & CB_KBD_DISABLE) == 0 && keyboard.hasOutput()) {
                int b = keyboard.takeOutput();
                if ((cb & CB_TRANSLATE) != 0) {
                    b = translator.feed(b);
                    if (b < 0) {
                        continue; // a break prefix: it marks the next byte and is not passed on
                    }
                }
                load(b, false);
            } else if ((cb & CB_AUX_DISABLE) == 0 && mouse.hasOutput()) {
                load(mouse.takeOutput(), true);
            } else {
                break;
            }
        }
        updateIrqLines();
    }

    private void load(int value, boolean fromAux) {
        outputBuffer = value;
        status |= STATUS_OBF | (fromAux ? STATUS_AUX_OBF : 0);
    }

    private void updateIrqLines() {
        int cb = ram[0];
        boolean full = (status & STATUS_OBF) != 0;
        boolean aux = (status & STATUS_AUX_OBF) != 0;
        boolean kbdLevel = full && !aux && (cb & CB_KBD_INT) != 0 && (cb & CB_KBD_DISABLE) == 0;
        boolean auxLevel = full && aux && (cb & CB_AUX_INT) != 0;
        if (kbdLevel != kbdIrqHigh) {
            kbdIrqHigh = kbdLevel;
            kbdIrq.setLevel(kbdLevel);
        }
        if (auxLevel != auxIrqHigh) {
            auxIrqHigh = auxLevel;
            auxIrq.setLevel(auxLevel);
        }
    }
}
