package io.stubdm.devices.rtl8139;

/**
 * The 93C46 serial EEPROM (64 words of 16 bits) behind 9346CR, driven by bit-banging CS, SK and DI and sampling
 * DO (Microwire). A command is a start bit, a 2-bit opcode and a 6-bit address, clocked in on rising SK edges;
 * after a READ's last address bit DO shows the dummy 0, then D15..D0 on the following rising edges.
 *
 * <p>After 16 data bits the chip waits for a new start bit without needing CS to drop, as QEMU's model does:
 * FreeBSD's rl(4) and re(4) probe the address width by sending an 8-bit address first and only a 93C46
 * that ends the read this way returns what they expect. Writes and erases are accepted on the wire and
 * ignored: the EEPROM holds the MAC address stubdm was given, which a guest must not rewrite.
 */
final class Eeprom93c46 {
    static final int WORDS = 64;
    /** EEPROM layout of the RTL8139 (datasheet §7): ID, vendor, device, subsystem, station address at word 7. */
    static final int ID = 0x8129;
    static final int WORD_VENDOR = 1;
    static final int WORD_DEVICE = 2;
    static final int WORD_SUBSYSTEM_VENDOR = 3;
    static final int WORD_SUBSYSTEM = 4;
    static final int WORD_MAC = 7;
    private static final int OPCODE_READ = 2;
    private static final int COMMAND_BITS = 8;

    private enum State { AWAIT_START, COMMAND, READING, IGNORING }

    private final int[] words = new int[WORDS];
    private State state = State.AWAIT_START;
    private int bits;
    private int count;
    private int output;
    private boolean cs;
    private boolean sk;
    private boolean dataOut;

    Eeprom93c46(int vendor, int device, int subsystemVendor, int subsystem, byte[] mac) {
        words[0] = ID;
        words[WORD_VENDOR] = vendor;
        words[WORD_DEVICE] = device;
        words[WORD_SUBSYSTEM_VENDOR] = subsystemVendor;
        words[WORD_SUBSYSTEM] = subsystem;
        for (int i = 0; i < 3; i++) {
            words[WORD_MAC + i] = (mac[2 * i] & 0xff) | (mac[2 * i + 1] & 0xff) << 8;
        }
    }

    /** The station address as stored, for an auto-load or power-on. */
    byte[] mac() {
        byte[] mac = new byte[6];
        for (int i = 0; i < 3; i++) {
            mac[2 * i] = (byte) words[WORD_MAC + i];
            mac[2 * i + 1] = (byte) (words[WORD_MAC + i] >> 8);
        }
        return mac;
    }

    /** The wires as 9346CR drives them in programming mode. */
    void setWires(boolean chipSelect, boolean clock, boolean dataIn) {
        boolean rising = !sk && clock;
        if (!cs && chipSelect) {
            state = State.AWAIT_START;
        }
        cs = chipSelect;
        sk = clock;
        if (chipSelect && rising) {
            clockIn(dataIn);
        }
    }

    /** DO as the NIC samples it: driven only while the chip is selected. */
    boolean dataOut() {
        return cs && dataOut;
    }

    /** Back to idle: the NIC reset, the chip deselected. */
    void reset() {
        state = State.AWAIT_START;
        cs = false;
        sk = false;
        dataOut = false;
    }

    private void clockIn(boolean bit) {
        switch (state) {
            case AWAIT_START:
                if (bit) {
                    state = State.COMMAND;
                    bits = 0;
                    count = 0;
                }
                break;
            case COMMAND:
                bits = bits << 1 | (bit ? 1 : 0);
                if (++count == COMMAND_BITS) {
                    if (bits >> 6 == OPCODE_READ) {
                        output = words[bits & (WORDS - 1)];
                        dataOut = false;
                        count = 0;
                        state = State.READING;
                    } else {
                        state = State.IGNORING;
                    }
                }
                break;
            case READING:
                dataOut = (output & 0x8000) != 0;
                output <<= 1;
                if (++count == 16) {
                    state = State.AWAIT_START;
                }
                break;
            default:
                break;
        }
    }
}
