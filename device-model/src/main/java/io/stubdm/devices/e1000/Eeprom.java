package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

/**
 * The 82540EM's 64-word Microwire EEPROM (a 93C46) as software sees it: bit-banged through EECD, or read a
 * word at a time through EERD. The image is QEMU's ({@code e1000_eeprom_template}, from SDM tables 5-2 and
 * 5-3) with the MAC address in words 0-2 and the checksum word making the sum of all 64 words 0xBABA, which
 * FreeBSD's and Linux's attach check. Writes to the part (erase/write opcodes) are not stored.
 *
 * <p>The Microwire state machine follows QEMU's {@code set_eecd}/{@code get_eecd}, the timing FreeBSD's
 * {@code e1000_read_nvm_microwire} relies on: a rising CS edge resets the shifter; each rising SK edge shifts
 * DI in; after the 3-bit opcode and the 6-bit address a READ presents the word MSB first on DO, the next bit
 * after every falling SK edge, and runs on into the following words for a sequential read.
 */
final class Eeprom {
    static final int WORDS = 64;
    /** What the 16-bit sum of every word, the checksum word included, must be. */
    static final int CHECKSUM_SUM = 0xbaba;
    static final int CHECKSUM_WORD = 0x3f;
    /** Words 0x0B and 0x0D: subsystem ID and device ID, both 0x100E as QEMU writes them. */
    static final int SUBSYSTEM_ID_WORD = 0x0b;
    static final int DEVICE_ID_WORD = 0x0d;
    private static final int READ_OPCODE = 0b110;
    private static final int ADDRESS_BITS = 6;
    /** Opcode and address: the bits the part takes before it answers. */
    private static final int COMMAND_BITS = 3 + ADDRESS_BITS;
    /** The EECD bits software drives and reads back. */
    private static final int DRIVEN_BITS = EECD_SK | EECD_CS | EECD_DI | EECD_FWE | EECD_REQ;

    private static final int[] TEMPLATE = {
        0x0000, 0x0000, 0x0000, 0x0000, 0xffff, 0x0000, 0x0000, 0x0000,
        0x3000, 0x1000, 0x6403, 0x0000, 0x8086, 0x0000, 0x8086, 0x3040,
        0x0008, 0x2000, 0x7e14, 0x0048, 0x1000, 0x00d8, 0x0000, 0x2700,
        0x6cc9, 0x3150, 0x0722, 0x040b, 0x0984, 0x0000, 0xc000, 0x0706,
        0x1008, 0x0000, 0x0f04, 0x7fff, 0x4d01, 0xffff, 0xffff, 0xffff,
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
        0x0100, 0x4000, 0x121c, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0x0000,
    };

    private final int[] words = new int[WORDS];
    private int pins;
    private int shiftIn;
    private int bitsIn;
    private int bitOut;
    private boolean reading;

    Eeprom(byte[] mac, int deviceId) {
        System.arraycopy(TEMPLATE, 0, words, 0, WORDS);
        for (int i = 0; i < 3; i++) {
            words[i] = (mac[2 * i] & 0xff) | (mac[2 * i + 1] & 0xff) << 8;
        }
        words[SUBSYSTEM_ID_WORD] = deviceId;
        words[DEVICE_ID_WORD] = deviceId;
        int sum = 0;
        for (int i = 0; i < CHECKSUM_WORD; i++) {
            sum += words[i];
        }
        words[CHECKSUM_WORD] = (CHECKSUM_SUM - sum) & 0xffff;
    }

    int word(int index) {
        return words[index & (WORDS - 1)];
    }

    /** Back to idle, as after a reset: CS low, no command in progress. */
    void reset() {
        pins = 0;
        shiftIn = 0;
        bitsIn = 0;
        bitOut = 0;
        reading = false;
    }

    /**
     * EECD as read: the pins software drives, PRES (an EEPROM is fitted), GNT while software requests the part,
     * SIZE clear (64 words), and DO: the current data bit while a read is shifting out, high (ready) otherwise.
     */
    int readEecd() {
        int v = pins | EECD_PRES;
        if ((pins & EECD_REQ) != 0) {
            v |= EECD_GNT;
        }
        if (!reading || (words[(bitOut >> 4) & (WORDS - 1)] >> (15 - (bitOut & 15)) & 1) != 0) {
            v |= EECD_DO;
        }
        return v;
    }

    void writeEecd(int value) {
        int old = pins;
        pins = value & DRIVEN_BITS;
        if ((value & EECD_CS) == 0) {
            return;
        }
        if ((old & EECD_CS) == 0) {
            shiftIn = 0;
            bitsIn = 0;
            bitOut = 0;
            reading = false;
        }
        if (((old ^ value) & EECD_SK) == 0) {
            return;
        }
        if ((value & EECD_SK) == 0) {
            bitOut++;
            return;
        }
        shiftIn = shiftIn << 1 | ((value & EECD_DI) != 0 ? 1 : 0);
        if (++bitsIn == COMMAND_BITS && !reading) {
            // The falling edge that ends the address bit advances to bit 0 of the addressed word.
            bitOut = ((shiftIn & (WORDS - 1)) << 4) - 1;
            reading = (shiftIn >> ADDRESS_BITS & 7) == READ_OPCODE;
        }
    }

    /** EERD after software writes {@code value}: with START, the addressed word and DONE at once. */
    int eerd(int value) {
        if ((value & EERD_START) == 0) {
            return value & ~(EERD_START | EERD_DONE);
        }
        int address = value >>> EERD_ADDR_SHIFT & 0xff;
        return word(address) << EERD_DATA_SHIFT | address << EERD_ADDR_SHIFT | EERD_DONE;
    }
}
