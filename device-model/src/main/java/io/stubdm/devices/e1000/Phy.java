package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

/**
 * The 82540EM's internal PHY, a Marvell 88E1011 at MDIO address 1, as software reaches it through MDIC: the IEEE
 * 802.3 clause 22 registers plus the Marvell ones FreeBSD's and Linux's M88 code touch, with QEMU's power-on
 * values ({@code phy_reg_init}) and QEMU's access rules ({@code phy_regcap}). An access to another PHY address or
 * to a register the PHY does not have answers with MDIC.ERROR; a read echoes the register field, which FreeBSD
 * checks ("MDI Read offset error").
 *
 * <p>Link state lives here (BMSR link and autonegotiation-complete); the device decides when autonegotiation
 * finishes, so a BMCR write with ANRESTART only reports the restart.
 */
final class Phy {
    static final int ADDRESS = 1;
    /** M88E1011_I_PHY_ID: what {@code e1000_init_phy_params_82540} insists on. */
    static final int PHY_ID = 0x01410c20;

    static final int BMCR = 0x00;
    static final int BMSR = 0x01;
    static final int PHYID1 = 0x02;
    static final int PHYID2 = 0x03;
    static final int ANAR = 0x04;
    static final int ANLPAR = 0x05;
    static final int ANER = 0x06;
    static final int GBCR = 0x09;
    static final int GBSR = 0x0a;
    /** Marvell PHY Specific Control, Status and Extended Control, and the receive error counter. */
    static final int PSCR = 0x10;
    static final int PSSR = 0x11;
    static final int EPSCR = 0x14;
    static final int RX_ERR_COUNTER = 0x15;

    static final int BMCR_RESET = 0x8000;
    static final int BMCR_AUTOEN = 0x1000;
    static final int BMCR_ANRESTART = 0x0200;
    static final int BMCR_FD = 0x0100;
    static final int BMCR_SPEED1000 = 0x0040;
    /** Bits 5:0 are reserved and read 0. */
    private static final int BMCR_RESERVED = 0x003f;
    static final int BMSR_LINK = 0x0004;
    static final int BMSR_AN_COMPLETE = 0x0020;
    static final int ANLPAR_ACK = 0x4000;
    static final int PSSR_LINK = 0x0400;
    static final int PSSR_RESOLVED = 0x0800;

    private static final int R = 1;
    private static final int W = 2;
    private static final int[] ACCESS = new int[32];
    private static final int[] POWER_ON = new int[32];

    static {
        ACCESS[BMCR] = R | W;
        ACCESS[BMSR] = R;
        ACCESS[PHYID1] = R;
        ACCESS[PHYID2] = R;
        ACCESS[ANAR] = R | W;
        ACCESS[ANLPAR] = R;
        ACCESS[ANER] = R;
        ACCESS[GBCR] = R | W;
        ACCESS[GBSR] = R;
        ACCESS[PSCR] = R | W;
        ACCESS[PSSR] = R;
        ACCESS[EPSCR] = R | W;
        ACCESS[RX_ERR_COUNTER] = R;

        POWER_ON[BMCR] = BMCR_SPEED1000 | BMCR_FD | BMCR_AUTOEN;
        // Link up, autonegotiation able but not complete until software restarts it: QEMU's choice, which
        // makes every attach see a link-status-change interrupt when negotiation "finishes".
        POWER_ON[BMSR] = 0x794d;
        POWER_ON[PHYID1] = PHY_ID >>> 16;
        POWER_ON[PHYID2] = PHY_ID & 0xffff;
        POWER_ON[ANAR] = 0x0de1;
        POWER_ON[ANLPAR] = 0x01e0;
        POWER_ON[GBCR] = 0x0e00;
        POWER_ON[GBSR] = 0x3c00;
        POWER_ON[PSCR] = 0x0360;
        // 1000 Mb/s, full duplex, speed and duplex resolved, link up.
        POWER_ON[PSSR] = 0xac00;
        POWER_ON[EPSCR] = 0x0d60;
    }

    private final int[] regs = new int[32];
    private final Runnable autonegotiationRestarted;

    /** {@code autonegotiationRestarted} runs when software sets ANRESTART with autonegotiation enabled. */
    Phy(Runnable autonegotiationRestarted) {
        this.autonegotiationRestarted = autonegotiationRestarted;
        reset();
    }

    void reset() {
        System.arraycopy(POWER_ON, 0, regs, 0, regs.length);
    }

    /** One MDIC command (13.4.7); returns MDIC's new value, READY set. */
    int mdic(int command) {
        int phy = command >>> MDIC_PHY_SHIFT & 0x1f;
        int reg = command >>> MDIC_REG_SHIFT & 0x1f;
        if (phy != ADDRESS) {
            return command | MDIC_ERROR | MDIC_READY;
        }
        if ((command & MDIC_OP_READ) != 0 && (command & MDIC_OP_WRITE) == 0) {
            if ((ACCESS[reg] & R) == 0) {
                return command | MDIC_ERROR | MDIC_READY;
            }
            return (command & ~MDIC_DATA_MASK) | regs[reg] | MDIC_READY;
        }
        if ((command & MDIC_OP_WRITE) != 0 && (command & MDIC_OP_READ) == 0) {
            if ((ACCESS[reg] & W) == 0) {
                return command | MDIC_ERROR | MDIC_READY;
            }
            write(reg, command & MDIC_DATA_MASK);
        }
        return command | MDIC_READY;
    }

    private void write(int reg, int value) {
        if (reg != BMCR) {
            regs[reg] = value;
            return;
        }
        // RESET and ANRESTART are self-clearing; a reset changes nothing here, as in QEMU.
        regs[BMCR] = value & ~(BMCR_RESERVED | BMCR_RESET | BMCR_ANRESTART);
        if ((value & BMCR_ANRESTART) != 0 && (value & BMCR_AUTOEN) != 0) {
            autonegotiationRestarted.run();
        }
    }

    boolean linkUp() {
        return (regs[BMSR] & BMSR_LINK) != 0;
    }

    boolean autonegotiationEnabled() {
        return (regs[BMCR] & BMCR_AUTOEN) != 0;
    }

    boolean autonegotiationComplete() {
        return (regs[BMSR] & BMSR_AN_COMPLETE) != 0;
    }

    void linkDown() {
        regs[BMSR] &= ~(BMSR_LINK | BMSR_AN_COMPLETE);
        regs[ANLPAR] &= ~ANLPAR_ACK;
        regs[PSSR] &= ~(PSSR_LINK | PSSR_RESOLVED);
    }

    void linkUp(boolean negotiated) {
        regs[BMSR] |= BMSR_LINK;
        regs[PSSR] |= PSSR_LINK | PSSR_RESOLVED;
        if (negotiated) {
            regs[BMSR] |= BMSR_AN_COMPLETE;
            regs[ANLPAR] |= ANLPAR_ACK;
        }
    }
}
