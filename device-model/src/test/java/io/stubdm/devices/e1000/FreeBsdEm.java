package io.stubdm.devices.e1000;

import static io.stubdm.devices.e1000.E1000Regs.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * FreeBSD's em(4) on an 82540EM, replayed register access by register access from its sources: the shared code
 * ({@code e1000_82540.c}, {@code e1000_nvm.c} Microwire routines, {@code e1000_phy.c} MDIC and M88 setup,
 * {@code e1000_mac.c} link checks) and the iflib driver ({@code if_em.c}: attach, em_reset, em_if_init,
 * em_initialize_transmit_unit / receive_unit, em_intr; {@code em_txrx.c}: the lem descriptor handling). Delays
 * the driver spends waiting for hardware are left out; polls are kept. Failures the driver would report with
 * device_printf become {@link #errors}, the checks it makes become exceptions where attach would fail.
 */
final class FreeBsdEm {
    static final int M88E1011_I_PHY_ID = 0x01410c20;
    /** IMS_ENABLE_MASK: RXT0 | TXDW | RXDMT0 | RXSEQ | LSC. */
    static final int IMS_ENABLE_MASK = ICR_RXT0 | ICR_TXDW | ICR_RXDMT0 | ICR_RXSEQ | ICR_LSC;
    static final int DEFAULT_ITR = 1_000_000_000 / (8000 * 256);
    static final int EM_TIDV = 64;
    static final int EM_TADV = 64;
    static final int EM_RDTR = 0;
    static final int EM_RADV = 64;
    static final int TCTL_VALUE = TCTL_PSP | TCTL_RTLC | TCTL_EN | 0x0f << TCTL_CT_SHIFT;
    static final int COLLISION_DISTANCE = 63;
    static final int TIPG_COPPER = 8 | 8 << 10 | 6 << 20;
    static final int TXDCTL_VALUE = 0x1f | 1 << 8 | 1 << 16 | 1 << 22 | 1 << 24 | 1 << 25;
    static final int RCTL_VALUE = RCTL_EN | RCTL_BAM | RCTL_SECRC;
    static final int CTRL_EXT_DRV_LOAD = 1 << 28;
    static final int MANC_ARP_EN = 1 << 13;
    static final int TXDCTL_WTHRESH = 0x3f << 16;
    static final int TXDCTL_FULL_TX_DESC_WB = 0x0101_0000;
    static final int PBA_48K = 0x0030;
    static final int NVM_INIT_CONTROL2_REG = 0x0f;
    static final int NVM_ID_LED_SETTINGS = 0x04;
    static final int NVM_INIT_CONTROL3_PORT_A = 0x24;
    static final long TX_RING = 0x100000;
    static final long RX_RING = 0x110000;
    static final long RX_BUFFERS = 0x200000;
    static final long TX_BUFFERS = 0x300000;
    static final int RING_SIZE = 256;
    static final int RX_BUFFER_SIZE = 2048;
    private static final int NVM_GRANT_ATTEMPTS = 1000;
    private static final int MDIC_POLLS = 1920 * 50;

    final E1000Rig rig;
    final List<String> errors = new ArrayList<>();
    int addressBits;
    int phyId;
    int phyRevision;
    byte[] mac = new byte[6];
    boolean getLinkStatus = true;
    boolean linkActive;
    int linkSpeed;
    boolean fullDuplex;
    long txRing;
    int txCount;
    long rxRing;
    int rxCount;
    /** em(4)'s transmit state: the next descriptor, the TSO sentinel flag, the cached checksum context. */
    int txPidx;
    boolean txTso;
    private int csumKey = -1;
    private int csumTxdUpper;
    private int csumTxdLower;
    /** sc->txd_cmd: IDE because tx_int_delay is non-zero. */
    int txdCmd = TXD_CMD_IDE;

    /** What the stack asks of the hardware for one packet. */
    enum Offload { NONE, CSUM_IP_TCP, TSO4, TSO6 }

    FreeBsdEm(E1000Rig rig) {
        this.rig = rig;
    }

    /**
     * Attach, ifconfig up with 256-descriptor rings, the link-up interrupt handled, and every receive
     * descriptor but one given a 2 KiB buffer, as iflib leaves them: a driver ready for traffic.
     */
    static FreeBsdEm up(E1000Rig rig) {
        FreeBsdEm em = new FreeBsdEm(rig);
        em.attachPre();
        em.attachPost();
        em.init(TX_RING, RING_SIZE, RX_RING, RING_SIZE);
        E1000Rig.pollUntil("link up", () -> (rig.r(STATUS) & STATUS_LU) != 0);
        em.intr();
        em.updateAdminStatus();
        em.refill(0, RING_SIZE - 1, RX_BUFFERS, RX_BUFFER_SIZE);
        return em;
    }

    // ------------------------------------------------------------------ em_if_attach_pre / attach_post

    /** em_if_attach_pre: identify, shared-code init (NVM, PHY), reset, checksum, MAC address. */
    void attachPre() {
        int vendor = (int) rig.cfg(0, 2);
        int device = (int) rig.cfg(2, 2);
        if (vendor != 0x8086 || device != 0x100e) {
            throw new AssertionError("not an 82540EM: " + Integer.toHexString(vendor) + ":" + Integer.toHexString(device));
        }
        findIoBar();
        initNvmParams82540();
        initPhyParams82540();
        resetHw82540();
        if (!validateNvmChecksum() && !validateNvmChecksum()) {
            throw new AssertionError("The EEPROM Checksum Is Not Valid");
        }
        readMacAddr82540();
        if ((mac[0] & 1) != 0 || java.util.Arrays.equals(mac, new byte[6])) {
            throw new AssertionError("Invalid MAC address");
        }
        int apme = readNvm(NVM_INIT_CONTROL3_PORT_A);
        if ((apme & 0x0400) == 0) {
            errors.add("no APME in the EEPROM");
        }
    }

    /** em_if_attach_post: em_reset, the first link check. */
    void attachPost() {
        emReset();
        getLinkStatus = true;
        updateAdminStatus();
    }

    /** em_allocate_pci_resources: "Unable to locate IO BAR" for 82543 < mac < 82571. */
    private void findIoBar() {
        for (int rid = 0x10; rid < 0x28; rid += 4) {
            long val = rig.cfg(rid, 4);
            if ((val & 1) == 1) {
                return;
            }
            if ((val & 6) == 4) {
                rid += 4;
            }
        }
        throw new AssertionError("Unable to locate IO BAR");
    }

    // ------------------------------------------------------------------ NVM (e1000_nvm.c, Microwire)

    private void initNvmParams82540() {
        int eecd = rig.r(EECD);
        addressBits = (eecd & EECD_SIZE) != 0 ? 8 : 6;
    }

    int readNvm(int offset) {
        return readNvmMicrowire(offset, 1)[0];
    }

    /** e1000_read_nvm_microwire: acquire, ready, per word opcode + address out and 16 bits in, release. */
    int[] readNvmMicrowire(int offset, int words) {
        if (addressBits == 0) {
            initNvmParams82540();
        }
        acquireNvm();
        int eecd = rig.r(EECD);
        eecd &= ~(EECD_DI | EECD_SK);
        rig.w(EECD, eecd);
        eecd |= EECD_CS;
        rig.w(EECD, eecd);
        int[] data = new int[words];
        for (int i = 0; i < words; i++) {
            shiftOutEecBits(0b110, 3);
            shiftOutEecBits(offset + i, addressBits);
            data[i] = shiftInEecBits(16);
            standbyNvm();
        }
        releaseNvm();
        return data;
    }

    private void acquireNvm() {
        int eecd = rig.r(EECD);
        rig.w(EECD, eecd | EECD_REQ);
        eecd = rig.r(EECD);
        int timeout = NVM_GRANT_ATTEMPTS;
        while (timeout > 0 && (eecd & EECD_GNT) == 0) {
            eecd = rig.r(EECD);
            timeout--;
        }
        if (timeout == 0) {
            rig.w(EECD, eecd & ~EECD_REQ);
            throw new AssertionError("Could not acquire NVM grant");
        }
    }

    private void shiftOutEecBits(int data, int count) {
        int eecd = rig.r(EECD);
        int mask = 1 << (count - 1);
        eecd &= ~EECD_DO;
        do {
            eecd &= ~EECD_DI;
            if ((data & mask) != 0) {
                eecd |= EECD_DI;
            }
            rig.w(EECD, eecd);
            rig.r(STATUS);
            eecd |= EECD_SK;
            rig.w(EECD, eecd);
            rig.r(STATUS);
            eecd &= ~EECD_SK;
            rig.w(EECD, eecd);
            rig.r(STATUS);
            mask >>>= 1;
        } while (mask != 0);
        eecd &= ~EECD_DI;
        rig.w(EECD, eecd);
    }

    private int shiftInEecBits(int count) {
        int eecd = rig.r(EECD);
        eecd &= ~(EECD_DO | EECD_DI);
        int data = 0;
        for (int i = 0; i < count; i++) {
            data <<= 1;
            eecd |= EECD_SK;
            rig.w(EECD, eecd);
            rig.r(STATUS);
            eecd = rig.r(EECD);
            eecd &= ~EECD_DI;
            if ((eecd & EECD_DO) != 0) {
                data |= 1;
            }
            eecd &= ~EECD_SK;
            rig.w(EECD, eecd);
            rig.r(STATUS);
        }
        return data;
    }

    private void standbyNvm() {
        int eecd = rig.r(EECD);
        eecd &= ~(EECD_CS | EECD_SK);
        rig.w(EECD, eecd);
        eecd |= EECD_SK;
        rig.w(EECD, eecd);
        eecd |= EECD_CS;
        rig.w(EECD, eecd);
        eecd &= ~EECD_SK;
        rig.w(EECD, eecd);
    }

    private void releaseNvm() {
        int eecd = rig.r(EECD);
        eecd &= ~(EECD_CS | EECD_DI);
        rig.w(EECD, eecd);
        eecd |= EECD_SK;
        rig.w(EECD, eecd);
        eecd &= ~EECD_SK;
        rig.w(EECD, eecd);
        eecd = rig.r(EECD);
        rig.w(EECD, eecd & ~EECD_REQ);
    }

    /** e1000_validate_nvm_checksum_generic: the 16-bit sum of words 0..0x3F is NVM_SUM. */
    boolean validateNvmChecksum() {
        int sum = 0;
        for (int i = 0; i < 0x40; i++) {
            sum += readNvm(i);
        }
        return (sum & 0xffff) == 0xbaba;
    }

    private void readMacAddr82540() {
        for (int i = 0; i < 6; i += 2) {
            int word = readNvm(i >> 1);
            mac[i] = (byte) word;
            mac[i + 1] = (byte) (word >> 8);
        }
    }

    // ------------------------------------------------------------------ PHY (e1000_phy.c)

    private void initPhyParams82540() {
        int id1 = readPhyReg(Phy.PHYID1);
        int id2 = readPhyReg(Phy.PHYID2);
        phyId = id1 << 16 | (id2 & 0xfff0);
        phyRevision = id2 & 0xf;
        if (phyId != M88E1011_I_PHY_ID) {
            throw new AssertionError("-E1000_ERR_PHY: PHY id " + Integer.toHexString(phyId));
        }
    }

    /** e1000_read_phy_reg_mdic: READY within 1920 polls, no ERROR, REG echoed. */
    int readPhyReg(int offset) {
        rig.w(MDIC, offset << MDIC_REG_SHIFT | Phy.ADDRESS << MDIC_PHY_SHIFT | MDIC_OP_READ);
        int mdic = pollMdic();
        if ((mdic & MDIC_ERROR) != 0) {
            throw new AssertionError("MDI Error reading PHY register " + offset);
        }
        if ((mdic >>> MDIC_REG_SHIFT & 0x1f) != offset) {
            throw new AssertionError("MDI Read offset error");
        }
        return mdic & 0xffff;
    }

    void writePhyReg(int offset, int data) {
        rig.w(MDIC, data | offset << MDIC_REG_SHIFT | Phy.ADDRESS << MDIC_PHY_SHIFT | MDIC_OP_WRITE);
        int mdic = pollMdic();
        if ((mdic & MDIC_ERROR) != 0) {
            throw new AssertionError("MDI Error writing PHY register " + offset);
        }
    }

    private int pollMdic() {
        for (int i = 0; i < MDIC_POLLS; i++) {
            int mdic = rig.r(MDIC);
            if ((mdic & MDIC_READY) != 0) {
                return mdic;
            }
        }
        throw new AssertionError("MDI Read did not complete");
    }

    /** e1000_copper_link_setup_m88 then the commit (e1000_phy_sw_reset_generic). */
    private void copperLinkSetupM88() {
        int data = readPhyReg(Phy.PSCR);
        data |= 0x0800;            // ASSERT_CRS_ON_TX
        data &= ~0x0060;           // AUTO_X_MODE cleared, then...
        data |= 0x0060;            // ...AUTO_ALL_MODES
        data &= ~0x0002;           // polarity reversal enabled
        writePhyReg(Phy.PSCR, data);
        if (phyRevision < 4) {
            data = readPhyReg(Phy.EPSCR);
            data |= 0x0070;        // TX_CLK_25
            data &= ~(0x0c00 | 0x0300);
            data |= 0x0400 | 0x0100;
            writePhyReg(Phy.EPSCR, data);
        }
        int bmcr = readPhyReg(Phy.BMCR);
        writePhyReg(Phy.BMCR, bmcr | Phy.BMCR_RESET);
    }

    /** e1000_copper_link_autoneg: advertise, restart; then e1000_phy_has_link_generic's short poll. */
    private void copperLinkAutoneg() {
        int anar = readPhyReg(Phy.ANAR);
        int gbcr = readPhyReg(Phy.GBCR);
        anar |= 0x01e0 | 0x0c00;
        gbcr |= 0x0200;
        gbcr &= ~0x0100;
        writePhyReg(Phy.ANAR, anar);
        writePhyReg(Phy.GBCR, gbcr);
        int bmcr = readPhyReg(Phy.BMCR);
        writePhyReg(Phy.BMCR, bmcr | Phy.BMCR_AUTOEN | Phy.BMCR_ANRESTART);
        if (!phyHasLink(10)) {
            // "Unable to establish link!!!" is only a debug message; LSC comes when negotiation ends.
            return;
        }
        configCollisionDist();
    }

    boolean phyHasLink(int iterations) {
        for (int i = 0; i < iterations; i++) {
            readPhyReg(Phy.BMSR);
            if ((readPhyReg(Phy.BMSR) & Phy.BMSR_LINK) != 0) {
                return true;
            }
        }
        return false;
    }

    private void configCollisionDist() {
        int tctl = rig.r(TCTL);
        tctl &= ~(0x3ff << TCTL_COLD_SHIFT);
        tctl |= COLLISION_DISTANCE << TCTL_COLD_SHIFT;
        rig.w(TCTL, tctl);
        rig.r(STATUS);
    }

    // ------------------------------------------------------------------ MAC (e1000_82540.c, e1000_mac.c)

    /** e1000_reset_hw_82540: mask, stop RX/TX, CTRL.RST through the I/O BAR, ARP off, mask, clear ICR. */
    void resetHw82540() {
        rig.w(IMC, 0xffffffff);
        rig.w(RCTL, 0);
        rig.w(TCTL, TCTL_PSP);
        rig.r(STATUS);
        int ctrl = rig.r(CTRL);
        rig.wio(CTRL, ctrl | CTRL_RST);
        int manc = rig.r(MANC);
        rig.w(MANC, manc & ~MANC_ARP_EN);
        rig.w(IMC, 0xffffffff);
        rig.r(ICR);
    }

    /** e1000_init_hw_82540. */
    void initHw82540() {
        readNvm(NVM_ID_LED_SETTINGS);
        rig.r(LEDCTL);
        rig.w(VET, 0);
        for (int i = 0; i < VFTA_COUNT; i++) {
            rig.w(VFTA + 4 * i, 0);
            rig.r(STATUS);
        }
        rarSet(mac, 0);
        for (int i = 1; i < RA_COUNT; i++) {
            rig.w(RA + 8 * i, 0);
            rig.r(STATUS);
            rig.w(RA + 8 * i + 4, 0);
            rig.r(STATUS);
        }
        for (int i = 0; i < MTA_COUNT; i++) {
            rig.w(MTA + 4 * i, 0);
            rig.r(STATUS);
        }
        setupLink();
        int txdctl = rig.r(TXDCTL);
        rig.w(TXDCTL, (txdctl & ~TXDCTL_WTHRESH) | TXDCTL_FULL_TX_DESC_WB);
        clearHwCounters82540();
    }

    /** e1000_rar_set_generic: RAL, then RAH with AV. */
    void rarSet(byte[] address, int index) {
        int low = (address[0] & 0xff) | (address[1] & 0xff) << 8 | (address[2] & 0xff) << 16 | (address[3] & 0xff) << 24;
        int high = (address[4] & 0xff) | (address[5] & 0xff) << 8 | RAH_AV;
        rig.w(RA + 8 * index, low);
        rig.r(STATUS);
        rig.w(RA + 8 * index + 4, high);
        rig.r(STATUS);
    }

    /** e1000_setup_link_generic: flow control from the NVM, the copper link, FCT/FCAH/FCAL, watermarks. */
    private void setupLink() {
        int word = readNvm(NVM_INIT_CONTROL2_REG);
        if ((word & 0x3000) != 0x3000) {
            errors.add("NVM flow control word " + Integer.toHexString(word));
        }
        int ctrl = rig.r(CTRL);
        ctrl |= CTRL_SLU;
        ctrl &= ~(CTRL_FRCSPD | CTRL_FRCDPX);
        rig.w(CTRL, ctrl);
        copperLinkSetupM88();
        copperLinkAutoneg();
        rig.w(FCT, 0x8808);
        rig.w(FCAH, 0x0100);
        rig.w(FCAL, 0x00c28001);
        rig.w(FCTTV, 0x0680);
        rig.w(FCRTL, 0x8000 | ((48 << 10) - 2048 - 1500) & ~7);
        rig.w(FCRTH, ((48 << 10) - 2048) & ~7);
    }

    /** e1000_clear_hw_cntrs_base_generic plus the 82540's own. */
    void clearHwCounters82540() {
        for (int reg = STATISTICS_FIRST; reg <= STATISTICS_LAST; reg += 4) {
            rig.r(reg);
        }
    }

    /** e1000_check_for_copper_link_generic and e1000_get_speed_and_duplex_copper_generic. */
    void checkForLink() {
        if (!getLinkStatus) {
            return;
        }
        if (!phyHasLink(1)) {
            return;
        }
        getLinkStatus = false;
        readPhyReg(Phy.PSSR);
        configCollisionDist();
        readPhyReg(Phy.BMSR);
        int bmsr = readPhyReg(Phy.BMSR);
        if ((bmsr & Phy.BMSR_AN_COMPLETE) != 0) {
            readPhyReg(Phy.ANAR);
            readPhyReg(Phy.ANLPAR);
        }
    }

    // ------------------------------------------------------------------ if_em.c

    /** em_reset. */
    void emReset() {
        int ctrlExt = rig.r(CTRL_EXT);
        rig.w(CTRL_EXT, ctrlExt | CTRL_EXT_DRV_LOAD);
        rig.w(PBA, PBA_48K);
        resetHw82540();
        rig.w(WUFC, 0);
        initHw82540();
        rig.w(VET, 0x8100);
        readPhyReg(Phy.PSSR);
        readPhyReg(Phy.PSCR);
        readPhyReg(Phy.GBSR);
        checkForLink();
    }

    /** em_if_update_admin_status: link transitions, then IMS = EM_MSIX_LINK | LSC. */
    void updateAdminStatus() {
        checkForLink();
        boolean linkCheck = !getLinkStatus;
        if (linkCheck && !linkActive) {
            int status = rig.r(STATUS);
            linkSpeed = (status & 0xc0) == STATUS_SPEED_1000 ? 1000 : (status & 0xc0) == 0x40 ? 100 : 10;
            fullDuplex = (status & STATUS_FD) != 0;
            linkActive = true;
        } else if (!linkCheck && linkActive) {
            linkActive = false;
            linkSpeed = 0;
        }
        clearHwCounters82540();
        rig.w(IMS, 0x0100_0000 | ICR_LSC);
    }

    /**
     * em_if_init with rings of {@code txCount} and {@code rxCount} descriptors at {@code txRing} and
     * {@code rxRing}; em_if_enable_intr follows, as iflib does.
     */
    void init(long txRing, int txCount, long rxRing, int rxCount) {
        this.txRing = txRing;
        this.txCount = txCount;
        this.rxRing = rxRing;
        this.rxCount = rxCount;
        rarSet(mac, 0);
        emReset();
        updateAdminStatus();
        rig.w(VET, 0x8100);
        initializeTransmitUnit();
        for (int i = 0; i < MTA_COUNT; i++) {
            rig.w(MTA + 4 * i, 0);
            rig.r(STATUS);
        }
        initializeReceiveUnit();
        rig.w(CTRL, rig.r(CTRL) | CTRL_VME);
        int rctl = rig.r(RCTL);
        rig.w(RCTL, rctl & ~(RCTL_UPE | RCTL_MPE | RCTL_SBP));
        clearHwCounters82540();
        rig.r(ICR);
        rig.w(ICS, ICR_LSC);
        rig.w(IMS, IMS_ENABLE_MASK);
    }

    private void initializeTransmitUnit() {
        rig.w(TDLEN, txCount * 16);
        rig.w(TDBAH, (int) (txRing >>> 32));
        rig.w(TDBAL, (int) txRing);
        rig.w(TDT, 0);
        rig.w(TDH, 0);
        rig.w(TXDCTL, TXDCTL_VALUE);
        rig.w(TIPG, TIPG_COPPER);
        rig.w(TIDV, EM_TIDV);
        rig.w(TADV, EM_TADV);
        int tctl = rig.r(TCTL);
        tctl &= ~(0xff << TCTL_CT_SHIFT);
        tctl |= TCTL_VALUE;
        rig.w(TCTL, tctl);
    }

    private void initializeReceiveUnit() {
        int rctl = rig.r(RCTL);
        rig.w(RCTL, rctl & ~RCTL_EN);
        rctl &= ~(3 << RCTL_MO_SHIFT);
        rctl |= RCTL_EN | RCTL_BAM;
        rctl &= ~(RCTL_SBP | RCTL_LPE);
        rctl |= RCTL_SECRC;
        rig.w(RADV, EM_RADV);
        rig.w(ITR, DEFAULT_ITR);
        rig.w(RDTR, EM_RDTR);
        rig.w(0x5008, rig.r(0x5008) | 0x8000);   // RFCTL.EXTEN: no such register on the 82540
        int rxcsum = rig.r(RXCSUM);
        rig.w(RXCSUM, rxcsum | RXCSUM_TUOFL | RXCSUM_IPOFL);
        rig.w(RDLEN, rxCount * 16);
        rig.w(RDBAH, (int) (rxRing >>> 32));
        rig.w(RDBAL, (int) rxRing);
        rig.w(RDH, 0);
        rig.w(RDT, 0);
        rctl &= ~RCTL_VFE;
        rctl &= ~0x0c00;
        rig.w(RCTL, rctl);
    }

    /** em_setup_vlan_hw_support with {@code vids} registered: VFTA bits, CTRL.VME, RCTL.VFE. */
    void setupVlanHwSupport(int... vids) {
        int[] shadow = new int[VFTA_COUNT];
        for (int vid : vids) {
            shadow[(vid >> 5) & 0x7f] |= 1 << (vid & 0x1f);
        }
        for (int i = 0; i < VFTA_COUNT; i++) {
            if (shadow[i] != 0) {
                rig.w(VFTA + 4 * i, shadow[i]);
            }
        }
        rig.w(CTRL, rig.r(CTRL) | CTRL_VME);
        rig.w(RCTL, (rig.r(RCTL) & ~RCTL_CFIEN) | RCTL_VFE);
    }

    /** em_intr for INTx: the ICR read, stray checks, link task request. Returns ICR, or 0 for a stray. */
    int intr() {
        int icr = rig.r(ICR);
        if (icr == 0xffffffff || icr == 0) {
            return 0;
        }
        if ((icr & (ICR_RXSEQ | ICR_LSC)) != 0) {
            getLinkStatus = true;
        }
        return icr;
    }

    /**
     * em_isc_txd_encap then em_isc_txd_flush for one packet of {@code length} bytes lying in guest memory as
     * {@code segments} (address, length pairs), with a 14-byte Ethernet header, an IPv4 (20) or IPv6 (40) header
     * and a 32-byte TCP header; {@code vlan} is the tag to insert or -1; {@code interrupt} asks for RS.
     * Returns the index of the descriptor that carries EOP.
     */
    int encap(long[][] segments, int length, Offload offload, int mss, int vlan, boolean interrupt) {
        List<long[]> descriptors = new ArrayList<>();
        int txdUpper = 0;
        int txdLower = 0;
        boolean tsoDesc = false;
        if (offload != Offload.TSO4 && offload != Offload.TSO6 && txTso) {
            tsoDesc = segments.length == 1;
            txTso = false;
        }
        int ipHeader = offload == Offload.TSO6 ? 40 : 20;
        int header = 14 + ipHeader + 32;
        if (offload == Offload.TSO4 || offload == Offload.TSO6) {
            // em_tso_setup
            boolean v4 = offload == Offload.TSO4;
            txdLower = TXD_CMD_DEXT | TXD_DTYP_DATA | TXD_CMD_TSE;
            txdUpper = (v4 ? TXD_POPTS_IXSM | TXD_POPTS_TXSM : TXD_POPTS_TXSM) << 8;
            int cmd = txdCmd | TXD_CMD_DEXT | TXD_CMD_TSE | TXD_CMD_TCP | (v4 ? TXD_CMD_IP : 0) | (length - header);
            descriptors.add(context(14, 14 + 10, v4 ? 14 + 20 - 1 : 0, 14 + ipHeader, 14 + ipHeader + 16, cmd,
                    header, mss));
            txTso = true;
            tsoDesc = true;
        } else if (offload == Offload.CSUM_IP_TCP) {
            // em_transmit_checksum_setup, reusing the context when nothing changed (DONT_FORCE_CTX)
            int key = 14 << 16 | ipHeader << 8 | 3;
            if (key == csumKey) {
                txdUpper = csumTxdUpper;
                txdLower = csumTxdLower;
            } else {
                txdUpper = (TXD_POPTS_IXSM | TXD_POPTS_TXSM) << 8;
                txdLower = TXD_CMD_DEXT | TXD_DTYP_DATA;
                int cmd = TXD_CMD_IFCS | TXD_CMD_DEXT | txdCmd | TXD_CMD_IP | TXD_CMD_TCP;
                descriptors.add(context(14, 14 + 10, 14 + 20 - 1, 14 + 20, 14 + 20 + 16, cmd, 0, 0));
                csumKey = key;
                csumTxdUpper = txdUpper;
                csumTxdLower = txdLower;
            }
        }
        if (vlan >= 0) {
            txdUpper |= vlan << 16;
            txdLower |= TXD_CMD_VLE;
        }
        for (int j = 0; j < segments.length; j++) {
            long address = segments[j][0];
            int segmentLength = (int) segments[j][1];
            int cmd = TXD_CMD_IFCS | txdCmd;
            if (tsoDesc && j == segments.length - 1 && segmentLength > 8) {
                segmentLength -= 4;
                descriptors.add(new long[] {address, cmd | txdLower | segmentLength, txdUpper});
                descriptors.add(new long[] {address + segmentLength, cmd | txdLower | 4, txdUpper});
            } else {
                descriptors.add(new long[] {address, cmd | txdLower | segmentLength, txdUpper});
            }
        }
        descriptors.get(descriptors.size() - 1)[1] |= TXD_CMD_EOP | (interrupt ? TXD_CMD_RS : 0);
        int eop = -1;
        for (long[] d : descriptors) {
            if (d.length == 3) {
                rig.putDescriptor(txRing, txPidx, d[0], (int) d[1], (int) d[2]);
            } else {
                rig.put(txRing + 16L * txPidx, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(d[0]).putLong(d[1]).array());
            }
            eop = txPidx;
            txPidx = (txPidx + 1) % txCount;
        }
        rig.w(TDT, txPidx);
        return eop;
    }

    /** A TCP/IP context descriptor as two little-endian quadwords (marked by a 2-element array). */
    private static long[] context(int ipcss, int ipcso, int ipcse, int tucss, int tucso, int cmdAndLength,
            int headerLength, int mss) {
        ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        d.put((byte) ipcss).put((byte) ipcso).putShort((short) ipcse).put((byte) tucss).put((byte) tucso)
                .putShort((short) 0).putInt(cmdAndLength).put((byte) 0).put((byte) headerLength).putShort((short) mss);
        return new long[] {d.getLong(0), d.getLong(8)};
    }

    /** lem_isc_rxd_refill for descriptors [first, first + count) then em_isc_rxd_flush (RDT = next to fill). */
    void refill(int first, int count, long buffers, int bufferSize) {
        for (int i = 0; i < count; i++) {
            int index = (first + i) % rxCount;
            rig.putDescriptor(rxRing, index, buffers + (long) index * bufferSize, 0, 0);
        }
        rig.w(RDT, (first + count) % rxCount);
    }
}
