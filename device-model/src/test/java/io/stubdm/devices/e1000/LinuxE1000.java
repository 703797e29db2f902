package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

/**
 * Linux's e1000 driver ({@code drivers/net/ethernet/intel/e1000}) probing and opening an 82540EM: where it differs
 * from em(4). It keeps the FCS (RCTL.SECRC clear, 4 bytes taken off each length), offloads only TCP/UDP receive
 * checksums (RXCSUM.TUOFL), throttles to 20000 interrupts/s, sets RDT on the last buffer it filled, and resets the
 * PHY through CTRL.PHY_RST. Its EEPROM and MDIC routines ({@code e1000_shift_out_ee_bits},
 * {@code e1000_read_phy_reg}) drive the same protocol as FreeBSD's shared code, which is reused here.
 */
final class LinuxE1000 {
    static final int RCTL_VALUE = RCTL_EN | RCTL_BAM;
    /** 1000000000 / (itr * 256) with the initial dynamic-mode itr of 20000. */
    static final int ITR_VALUE = 1_000_000_000 / (20000 * 256);
    static final int TIDV_VALUE = 8;
    static final int TADV_VALUE = 32;
    static final int RADV_VALUE = 8;
    static final int TCTL_VALUE = TCTL_PSP | TCTL_RTLC | 0x0f << TCTL_CT_SHIFT | 0x3f << TCTL_COLD_SHIFT | TCTL_EN;
    static final int BUFFER_SIZE = 2048;

    final E1000Rig rig;
    private final FreeBsdEm shared;
    byte[] mac;
    int phyId;
    long rxRing;
    int rxCount;
    long rxBuffers;

    LinuxE1000(E1000Rig rig) {
        this.rig = rig;
        this.shared = new FreeBsdEm(rig);
    }

    /** e1000_probe: reset, EEPROM checksum and MAC, PHY detection, e1000_reset. */
    void probe() {
        resetHw();
        shared.attachPre();
        mac = shared.mac;
        phyId = shared.phyId;
        phyHwReset();
        shared.emReset();
    }

    /** e1000_reset_hw for the 82540: the I/O-mapped CTRL.RST, then ARP interception off. */
    private void resetHw() {
        rig.w(IMC, 0xffffffff);
        rig.w(RCTL, 0);
        rig.w(TCTL, TCTL_PSP);
        rig.r(STATUS);
        int ctrl = rig.r(CTRL);
        rig.wio(CTRL, ctrl | CTRL_RST);
        rig.w(MANC, rig.r(MANC) & ~FreeBsdEm.MANC_ARP_EN);
        rig.w(IMC, 0xffffffff);
        rig.r(ICR);
    }

    /** e1000_phy_hw_reset: CTRL.PHY_RST asserted, then the old CTRL back. */
    private void phyHwReset() {
        int ctrl = rig.r(CTRL);
        rig.w(CTRL, ctrl | CTRL_PHY_RST);
        rig.r(STATUS);
        rig.w(CTRL, ctrl);
        rig.r(STATUS);
    }

    /** e1000_open → e1000_up: configure TX and RX, fill the RX ring, enable interrupts, ICS=LSC. */
    void open(long txRing, int txCount, long rxRing, int rxCount, long rxBuffers) {
        this.rxRing = rxRing;
        this.rxCount = rxCount;
        this.rxBuffers = rxBuffers;
        int bmcr = shared.readPhyReg(Phy.BMCR);
        shared.writePhyReg(Phy.BMCR, bmcr & ~0x0800);
        rig.w(RCTL, rig.r(RCTL) & ~(RCTL_UPE | RCTL_MPE));
        shared.rarSet(mac, 0);
        rig.w(CTRL, rig.r(CTRL) | CTRL_VME);

        rig.w(TDBAL, (int) txRing);
        rig.w(TDBAH, (int) (txRing >>> 32));
        rig.w(TDLEN, txCount * 16);
        rig.w(TDH, 0);
        rig.w(TDT, 0);
        rig.w(TIPG, FreeBsdEm.TIPG_COPPER);
        rig.w(TIDV, TIDV_VALUE);
        rig.w(TADV, TADV_VALUE);
        rig.w(TCTL, TCTL_VALUE);

        int rctl = rig.r(RCTL);
        rig.w(RCTL, rctl & ~RCTL_EN);
        rig.w(RDTR, 0);
        rig.w(RADV, RADV_VALUE);
        rig.w(ITR, ITR_VALUE);
        rig.w(RDLEN, rxCount * 16);
        rig.w(RDBAH, (int) (rxRing >>> 32));
        rig.w(RDBAL, (int) rxRing);
        rig.w(RDH, 0);
        rig.w(RDT, 0);
        rig.w(RXCSUM, rig.r(RXCSUM) | RXCSUM_TUOFL);
        rig.w(RCTL, RCTL_VALUE);

        // e1000_alloc_rx_buffers: every descriptor but one, RDT on the last one filled.
        for (int i = 0; i < rxCount - 1; i++) {
            rig.putDescriptor(rxRing, i, rxBuffers + (long) i * BUFFER_SIZE, 0, 0);
        }
        rig.w(RDT, rxCount - 2);

        rig.w(IMS, FreeBsdEm.IMS_ENABLE_MASK);
        rig.w(ICS, ICR_LSC);
    }

    /** e1000_check_for_link for copper: BMSR twice, then speed and duplex from STATUS. */
    boolean checkForLink() {
        shared.readPhyReg(Phy.BMSR);
        if ((shared.readPhyReg(Phy.BMSR) & Phy.BMSR_LINK) == 0) {
            return false;
        }
        shared.readPhyReg(Phy.PSSR);
        int status = rig.r(STATUS);
        return (status & STATUS_LU) != 0 && (status & 0xc0) == STATUS_SPEED_1000 && (status & STATUS_FD) != 0;
    }
}
