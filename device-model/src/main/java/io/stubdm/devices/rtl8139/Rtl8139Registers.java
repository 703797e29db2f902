package io.stubdm.devices.rtl8139;

/**
 * RTL8139C+ operational registers and their bits, named as in the RTL8139C(L)+ datasheet (Realtek, rev. 1.6,
 * §6 "Register Descriptions" and §9 "C+ mode"), at offsets in the 256-byte window both BARs decode.
 * Where C+ mode gives a register a second meaning (TSD0/DTCCR, TSAD0/TNPDS) both names are here.
 */
public final class Rtl8139Registers {
    private Rtl8139Registers() {
    }

    // ---------------------------------------------------------------- register offsets (§6)

    /** ID registers: the station address, IDR0 first on the wire. */
    public static final int IDR0 = 0x00;
    /** Multicast hash filter, 64 bits: bit n of MAR0..7 accepts hash n. */
    public static final int MAR0 = 0x08;
    /** Transmit status of descriptors 0-3 (C mode). */
    public static final int TSD0 = 0x10;
    /** Dump Tally Counter Command, 64 bits (C+ mode), on top of TSD0/TSD1. */
    public static final int DTCCR = 0x10;
    /** Transmit start addresses of descriptors 0-3 (C mode). */
    public static final int TSAD0 = 0x20;
    /** Transmit Normal Priority Descriptors Start address, 64 bits (C+ mode), on top of TSAD0/TSAD1. */
    public static final int TNPDS = 0x20;
    /** Transmit High Priority Descriptors Start address, 64 bits (C+ mode), on top of TSAD2/TSAD3. */
    public static final int THPDS = 0x28;
    /** Receive buffer start address (C mode ring). */
    public static final int RBSTART = 0x30;
    /** Early receive byte count, early receive status. */
    public static final int ERBCR = 0x34;
    public static final int ERSR = 0x36;
    /** Command register. */
    public static final int CR = 0x37;
    /** Current Address of Packet Read: where the driver has read up to, minus 16. */
    public static final int CAPR = 0x38;
    /** Current Buffer address: where the next frame will be written. */
    public static final int CBR = 0x3a;
    public static final int IMR = 0x3c;
    public static final int ISR = 0x3e;
    public static final int TCR = 0x40;
    public static final int RCR = 0x44;
    /** Timer CounT Register: counts at the PCI clock; a write restarts it at 0. */
    public static final int TCTR = 0x48;
    /** Missed Packet Counter, 24 bits; a write clears it. */
    public static final int MPC = 0x4c;
    /** 93C46 command register: EEPROM bit-bang and config-write unlock. */
    public static final int CR9346 = 0x50;
    public static final int CONFIG0 = 0x51;
    public static final int CONFIG1 = 0x52;
    /** Timer Interrupt register: ISR.TimeOut when TCTR reaches it (0: never). */
    public static final int TIMER_INT = 0x54;
    /** Media Status Register. */
    public static final int MSR = 0x58;
    public static final int CONFIG3 = 0x59;
    public static final int CONFIG4 = 0x5a;
    /** Halt clock: 'R' runs, 'H' halts. */
    public static final int HLTCLK = 0x5b;
    /** Multiple interrupt select. */
    public static final int MULINT = 0x5c;
    /** PCI revision ID, mirrored. */
    public static final int RERID = 0x5e;
    /** Transmit Status of All Descriptors (C mode). */
    public static final int TSAD = 0x60;
    /** The internal PHY's MII registers, directly mapped. */
    public static final int BMCR = 0x62;
    public static final int BMSR = 0x64;
    public static final int ANAR = 0x66;
    public static final int ANLPAR = 0x68;
    public static final int ANER = 0x6a;
    /** Disconnect counter, false carrier sense counter, N-way test, RX_ER counter: always 0 here. */
    public static final int DIS = 0x6c;
    public static final int FCSC = 0x6e;
    public static final int NWAYTR = 0x70;
    public static final int REC = 0x72;
    /** CS configuration (twister) register. */
    public static final int CSCR = 0x74;
    public static final int CONFIG5 = 0xd8;
    /** Transmit Priority Polling (C+ mode). */
    public static final int TPPOLL = 0xd9;
    /** C+ Command Register. */
    public static final int CPCR = 0xe0;
    /** Receive Descriptor Start Address, 64 bits (C+ mode). */
    public static final int RDSAR = 0xe4;
    /** Early Transmit Threshold (C+ mode). */
    public static final int ETTHR = 0xec;

    // ---------------------------------------------------------------- CR (§6.9)

    public static final int CR_BUFE = 0x01;
    public static final int CR_TE = 0x04;
    public static final int CR_RE = 0x08;
    public static final int CR_RST = 0x10;

    // ---------------------------------------------------------------- IMR / ISR (§6.10, §9.2.3)

    public static final int INT_ROK = 0x0001;
    public static final int INT_RER = 0x0002;
    public static final int INT_TOK = 0x0004;
    public static final int INT_TER = 0x0008;
    /** Rx buffer overflow; in C+ mode, Rx descriptor unavailable. */
    public static final int INT_RXOVW = 0x0010;
    /** Packet underrun / link change. */
    public static final int INT_PUN_LINKCHG = 0x0020;
    public static final int INT_FOVW = 0x0040;
    /** Tx descriptor unavailable (C+). */
    public static final int INT_TDU = 0x0080;
    /** Software interrupt, from TPPoll.FSWInt (C+). */
    public static final int INT_SWINT = 0x0100;
    public static final int INT_TIMEOUT = 0x4000;
    public static final int INT_SERR = 0x8000;
    /** Bits 9-12 are reserved: they read 0 and ignore writes. */
    static final int INT_RESERVED = 0x1e00;

    // ---------------------------------------------------------------- TSD (§6.2)

    public static final int TSD_SIZE = 0x1fff;
    /** Set by the NIC when the DMA from the buffer is done; the driver writes 0 to start a transmission. */
    public static final int TSD_OWN = 0x2000;
    public static final int TSD_TUN = 0x4000;
    public static final int TSD_TOK = 0x8000;
    public static final int TSD_TABT = 0x40000000;

    // ---------------------------------------------------------------- TCR (§6.11)

    /** Loopback test: 11 = internal loopback. */
    public static final int TCR_LBK = 0x00060000;
    /** Hardware version: the 8139C+ is HWVERID_A = 111 01 with HWVERID_B = 10 (bits 30-26, 23-22). */
    public static final int TCR_HWVERID_8139CPLUS = 0x74800000;
    /** IFG, LBK, CRC, MXDMA, TXRR; the version bits and CLRABT are not stored. */
    static final int TCR_WRITABLE = 0x030f07f0;

    // ---------------------------------------------------------------- RCR (§6.12)

    /** Accept All Packets (promiscuous). */
    public static final int RCR_AAP = 0x01;
    /** Accept Physical Match. */
    public static final int RCR_APM = 0x02;
    /** Accept Multicast (through the MAR hash). */
    public static final int RCR_AM = 0x04;
    /** Accept Broadcast. */
    public static final int RCR_AB = 0x08;
    /** Overflow past the ring's end instead of wrapping (C mode, rings below 64 KiB). */
    public static final int RCR_WRAP = 0x80;
    /** Ring length: 8 KiB << RBLEN (+16 bytes). */
    public static final int RCR_RBLEN_SHIFT = 11;
    static final int RCR_WRITABLE = 0x0f03ffbf;

    // ---------------------------------------------------------------- C mode receive header (§6.12, Table 6.1.3)

    public static final int RSR_ROK = 0x0001;
    public static final int RSR_BAR = 0x2000;
    public static final int RSR_PAM = 0x4000;
    public static final int RSR_MAR = 0x8000;

    // ---------------------------------------------------------------- 9346CR (§6.14)

    /** Operating mode, bits 7-6: 00 normal, 01 auto-load, 10 93C46 programming, 11 config register write. */
    public static final int CR9346_EEM = 0xc0;
    public static final int CR9346_AUTOLOAD = 0x40;
    public static final int CR9346_PROGRAM = 0x80;
    public static final int CR9346_CONFIG_WRITE = 0xc0;
    public static final int CR9346_EECS = 0x08;
    public static final int CR9346_EESK = 0x04;
    public static final int CR9346_EEDI = 0x02;
    public static final int CR9346_EEDO = 0x01;

    // ---------------------------------------------------------------- TPPoll (§9.2.2)

    public static final int TPPOLL_HPQ = 0x80;
    public static final int TPPOLL_NPQ = 0x40;
    public static final int TPPOLL_FSWINT = 0x01;

    // ---------------------------------------------------------------- CPCR (§9.2.1)

    public static final int CPCR_TX_ENB = 0x0001;
    public static final int CPCR_RX_ENB = 0x0002;
    public static final int CPCR_MULRW = 0x0008;
    public static final int CPCR_RX_CHKSUM = 0x0020;
    public static final int CPCR_RX_VLAN = 0x0040;
    static final int CPCR_WRITABLE = 0x007b;

    /** DTCCR.Cmd: set by the driver to dump the tally counters, cleared by the NIC when done. */
    public static final int DTCCR_CMD = 0x08;

    // ---------------------------------------------------------------- C+ descriptors (§9.2.1 Transmit, §9.2.2 Receive)

    public static final int DESC_BYTES = 16;
    /** A ring has at most 64 descriptors; the NIC wraps after the 64th even without EOR. */
    public static final int RING_MAX = 64;
    public static final int DESC_OWN = 0x80000000;
    public static final int DESC_EOR = 0x40000000;
    public static final int DESC_FS = 0x20000000;
    public static final int DESC_LS = 0x10000000;

    public static final int TXD_LGSEN = 0x08000000;
    /** Large-send MSS, 11 bits. */
    public static final int TXD_MSS_SHIFT = 16;
    public static final int TXD_MSS_MASK = 0x7ff;
    public static final int TXD_IPCS = 0x00040000;
    public static final int TXD_UDPCS = 0x00020000;
    public static final int TXD_TCPCS = 0x00010000;
    public static final int TXD_LENGTH = 0xffff;
    /** Second word: insert the VLAN tag (tag bytes swapped, as the wire has them). */
    public static final int TXD_TAGC = 0x00020000;

    public static final int RXD_BUFFER_SIZE = 0x1fff;
    public static final int RXD_MAR = 0x04000000;
    public static final int RXD_PAM = 0x02000000;
    public static final int RXD_BAR = 0x01000000;
    /** Protocol ID: 01 TCP/IP, 10 UDP/IP, 11 other IP, 00 not IP. */
    public static final int RXD_PID_TCP = 0x00010000;
    public static final int RXD_PID_UDP = 0x00020000;
    public static final int RXD_PID_IP = 0x00030000;
    public static final int RXD_IPF = 0x00008000;
    public static final int RXD_UDPF = 0x00004000;
    public static final int RXD_TCPF = 0x00002000;
    /** Second word: tag available (stripped into the low 16 bits, bytes as on the wire). */
    public static final int RXD_TAVA = 0x00010000;

    // ---------------------------------------------------------------- MII (IEEE 802.3 clause 22)

    public static final int BMCR_RESET = 0x8000;
    public static final int BMCR_ANE = 0x1000;
    /** 100BASE-TX full/half, 10BASE-T full/half, autonegotiation complete and able, link up, extended. */
    public static final int BMSR_LINKED = 0x782d;
    public static final int BMSR_LINK = 0x0004;
    /** 100/10 full and half duplex, pause, IEEE 802.3. */
    public static final int ANAR_ALL = 0x05e1;
    public static final int ANER_NWAY = 0x0001;
    /** MSR: TXFCE, RXFCE, Aux power present; LINKB (0x04) low = link ok, SPEED_10 (0x08) low = 100 Mb/s. */
    public static final int MSR_LINKED = 0xd0;
}
