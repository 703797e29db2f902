package io.stubdm.devices.e1000;

/**
 * Register offsets, bits and descriptor layouts of the Intel 82540EM, named as in the <i>PCI/PCI-X Family of
 * Gigabit Ethernet Controllers Software Developer's Manual</i> (8254x SDM, 317453-006, revision 4.0). Section
 * numbers below refer to that manual: chapter 3 describes the descriptors, 13.4 the general registers and 13.7
 * the statistics. Offsets are byte offsets into the 128 KiB memory BAR, and the values IOADDR takes in the
 * I/O BAR.
 */
public final class E1000Regs {
    private E1000Regs() {}

    // ------------------------------------------------------------------ 13.4 general registers

    /** Device Control (13.4.1). */
    public static final int CTRL = 0x0000;
    /** Device Status (13.4.2), read-only. */
    public static final int STATUS = 0x0008;
    /** EEPROM/Flash Control & Data (13.4.3): the Microwire pins software bit-bangs. */
    public static final int EECD = 0x0010;
    /** EEPROM Read (13.4.4): a word read without bit-banging. */
    public static final int EERD = 0x0014;
    /** Extended Device Control (13.4.6). */
    public static final int CTRL_EXT = 0x0018;
    /** MDI Control (13.4.7): PHY register access. */
    public static final int MDIC = 0x0020;
    public static final int FCAL = 0x0028;
    public static final int FCAH = 0x002c;
    public static final int FCT = 0x0030;
    /** VLAN Ether Type: the TPID that marks a tagged frame on receive and is inserted on transmit. */
    public static final int VET = 0x0038;
    /** Interrupt Cause Read (13.4.17): read-to-clear. */
    public static final int ICR = 0x00c0;
    /** Interrupt Throttling (13.4.18): minimum interval between interrupts, in 256 ns units. */
    public static final int ITR = 0x00c4;
    /** Interrupt Cause Set (13.4.19). */
    public static final int ICS = 0x00c8;
    /** Interrupt Mask Set/Read (13.4.20). */
    public static final int IMS = 0x00d0;
    /** Interrupt Mask Clear (13.4.21). */
    public static final int IMC = 0x00d8;
    /** Receive Control (13.4.22). */
    public static final int RCTL = 0x0100;
    public static final int FCTTV = 0x0170;
    public static final int TXCW = 0x0178;
    public static final int RXCW = 0x0180;
    /** Transmit Control (13.4.33). */
    public static final int TCTL = 0x0400;
    public static final int TIPG = 0x0410;
    public static final int AIT = 0x0458;
    public static final int LEDCTL = 0x0e00;
    /** Packet Buffer Allocation. */
    public static final int PBA = 0x1000;
    public static final int FCRTL = 0x2160;
    public static final int FCRTH = 0x2168;
    public static final int RDFH = 0x2410;
    public static final int RDFT = 0x2418;
    public static final int RDFHS = 0x2420;
    public static final int RDFTS = 0x2428;
    public static final int RDFPC = 0x2430;
    /** Receive descriptor ring: base (16-byte aligned), length in bytes (multiple of 128), head, tail. */
    public static final int RDBAL = 0x2800;
    public static final int RDBAH = 0x2804;
    public static final int RDLEN = 0x2808;
    public static final int RDH = 0x2810;
    public static final int RDT = 0x2818;
    /** Receive Delay Timer (13.4.30): the packet timer, 1.024 µs units; bit 31 flushes the pending delay. */
    public static final int RDTR = 0x2820;
    public static final int RXDCTL = 0x2828;
    /** Receive Interrupt Absolute Delay Timer (13.4.31), 1.024 µs units. */
    public static final int RADV = 0x282c;
    /** Receive Small Packet Detect (13.4.32): frames shorter than this raise ICR.SRPD. */
    public static final int RSRPD = 0x2c00;
    public static final int TDFH = 0x3410;
    public static final int TDFT = 0x3418;
    public static final int TDFHS = 0x3420;
    public static final int TDFTS = 0x3428;
    public static final int TDFPC = 0x3430;
    /** Transmit descriptor ring: base, length, head, tail, as for receive. */
    public static final int TDBAL = 0x3800;
    public static final int TDBAH = 0x3804;
    public static final int TDLEN = 0x3808;
    public static final int TDH = 0x3810;
    public static final int TDT = 0x3818;
    /** Transmit Interrupt Delay Value, 1.024 µs units, for descriptors with IDE. */
    public static final int TIDV = 0x3820;
    public static final int TXDCTL = 0x3828;
    /** Transmit Absolute Interrupt Delay Value, 1.024 µs units. */
    public static final int TADV = 0x382c;

    // ------------------------------------------------------------------ 13.7 statistics (read-to-clear)

    public static final int CRCERRS = 0x4000;
    public static final int ALGNERRC = 0x4004;
    public static final int SYMERRS = 0x4008;
    public static final int RXERRC = 0x400c;
    /** Missed Packets Count: frames lost for lack of receive FIFO space. */
    public static final int MPC = 0x4010;
    public static final int SCC = 0x4014;
    public static final int ECOL = 0x4018;
    public static final int MCC = 0x401c;
    public static final int LATECOL = 0x4020;
    public static final int COLC = 0x4028;
    public static final int DC = 0x4030;
    public static final int TNCRS = 0x4034;
    public static final int SEC = 0x4038;
    public static final int CEXTERR = 0x403c;
    public static final int RLEC = 0x4040;
    public static final int XONRXC = 0x4048;
    public static final int XONTXC = 0x404c;
    public static final int XOFFRXC = 0x4050;
    public static final int XOFFTXC = 0x4054;
    public static final int FCRUC = 0x4058;
    public static final int PRC64 = 0x405c;
    public static final int PRC127 = 0x4060;
    public static final int PRC255 = 0x4064;
    public static final int PRC511 = 0x4068;
    public static final int PRC1023 = 0x406c;
    public static final int PRC1522 = 0x4070;
    /** Good Packets Received Count. */
    public static final int GPRC = 0x4074;
    public static final int BPRC = 0x4078;
    public static final int MPRC = 0x407c;
    /** Good Packets Transmitted Count. */
    public static final int GPTC = 0x4080;
    /** Good Octets Received/Transmitted, 64 bits: reading the high half clears both. */
    public static final int GORCL = 0x4088;
    public static final int GORCH = 0x408c;
    public static final int GOTCL = 0x4090;
    public static final int GOTCH = 0x4094;
    /** Receive No Buffers Count: frames that found no free descriptor and waited for one. */
    public static final int RNBC = 0x40a0;
    public static final int RUC = 0x40a4;
    public static final int RFC = 0x40a8;
    /** Receive Oversize Count (13.7.36). */
    public static final int ROC = 0x40ac;
    public static final int RJC = 0x40b0;
    public static final int MGTPRC = 0x40b4;
    public static final int MGTPDC = 0x40b8;
    public static final int MGTPTC = 0x40bc;
    public static final int TORL = 0x40c0;
    public static final int TORH = 0x40c4;
    public static final int TOTL = 0x40c8;
    public static final int TOTH = 0x40cc;
    /** Total Packets Received/Transmitted. */
    public static final int TPR = 0x40d0;
    public static final int TPT = 0x40d4;
    public static final int PTC64 = 0x40d8;
    public static final int PTC127 = 0x40dc;
    public static final int PTC255 = 0x40e0;
    public static final int PTC511 = 0x40e4;
    public static final int PTC1023 = 0x40e8;
    public static final int PTC1522 = 0x40ec;
    public static final int MPTC = 0x40f0;
    public static final int BPTC = 0x40f4;
    /** TCP Segmentation Context Transmitted / Failed Count. */
    public static final int TSCTC = 0x40f8;
    public static final int TSCTFC = 0x40fc;
    public static final int STATISTICS_FIRST = CRCERRS;
    public static final int STATISTICS_LAST = TSCTFC;

    // ------------------------------------------------------------------ filters, wakeup, diagnostics

    /** Receive Checksum Control. */
    public static final int RXCSUM = 0x5000;
    /** Multicast Table Array: 128 registers, 4096 hash bits. */
    public static final int MTA = 0x5200;
    public static final int MTA_COUNT = 128;
    /** Receive Address Low/High pairs (RAL at RA + 8n, RAH at RA + 8n + 4). */
    public static final int RA = 0x5400;
    public static final int RA_COUNT = 16;
    /** VLAN Filter Table Array: one bit per VLAN ID. */
    public static final int VFTA = 0x5600;
    public static final int VFTA_COUNT = 128;
    public static final int WUC = 0x5800;
    public static final int WUFC = 0x5808;
    public static final int WUS = 0x5810;
    public static final int MANC = 0x5820;
    public static final int IPAV = 0x5838;
    public static final int IP4AT = 0x5840;
    public static final int IP6AT = 0x5880;
    public static final int WUPL = 0x5900;
    public static final int WUPM = 0x5a00;
    public static final int FFLT = 0x5f00;
    public static final int FFMT = 0x9000;
    public static final int FFVT = 0x9800;
    /** Packet Buffer Memory, diagnostic access to the 64 KiB FIFO. */
    public static final int PBM = 0x10000;

    // ------------------------------------------------------------------ register bits

    /** CTRL bits (13.4.1). */
    public static final int CTRL_FD = 1;
    public static final int CTRL_ASDE = 1 << 5;
    public static final int CTRL_SLU = 1 << 6;
    public static final int CTRL_SPD_1000 = 2 << 8;
    public static final int CTRL_FRCSPD = 1 << 11;
    public static final int CTRL_FRCDPX = 1 << 12;
    public static final int CTRL_SWDPIN0 = 1 << 18;
    public static final int CTRL_SWDPIN2 = 1 << 20;
    public static final int CTRL_RST = 1 << 26;
    public static final int CTRL_VME = 1 << 30;
    public static final int CTRL_PHY_RST = 1 << 31;

    /** STATUS bits (13.4.2). */
    public static final int STATUS_FD = 1;
    public static final int STATUS_LU = 1 << 1;
    public static final int STATUS_SPEED_1000 = 2 << 6;
    public static final int STATUS_ASDV_1000 = 2 << 8;

    /** EECD bits (13.4.3). */
    public static final int EECD_SK = 1;
    public static final int EECD_CS = 1 << 1;
    public static final int EECD_DI = 1 << 2;
    public static final int EECD_DO = 1 << 3;
    public static final int EECD_FWE = 3 << 4;
    public static final int EECD_REQ = 1 << 6;
    public static final int EECD_GNT = 1 << 7;
    public static final int EECD_PRES = 1 << 8;
    /** Clear: a 64-word (1 Kbit) Microwire part with 6 address bits. */
    public static final int EECD_SIZE = 1 << 9;

    /** EERD fields (13.4.4). */
    public static final int EERD_START = 1;
    public static final int EERD_DONE = 1 << 4;
    public static final int EERD_ADDR_SHIFT = 8;
    public static final int EERD_DATA_SHIFT = 16;

    /** MDIC fields (13.4.7). */
    public static final int MDIC_DATA_MASK = 0xffff;
    public static final int MDIC_REG_SHIFT = 16;
    public static final int MDIC_PHY_SHIFT = 21;
    public static final int MDIC_OP_WRITE = 1 << 26;
    public static final int MDIC_OP_READ = 2 << 26;
    public static final int MDIC_READY = 1 << 28;
    public static final int MDIC_INT_EN = 1 << 29;
    public static final int MDIC_ERROR = 1 << 30;

    /** Interrupt causes, the same bits in ICR, ICS, IMS and IMC (13.4.17). */
    public static final int ICR_TXDW = 1;
    public static final int ICR_TXQE = 1 << 1;
    public static final int ICR_LSC = 1 << 2;
    public static final int ICR_RXSEQ = 1 << 3;
    public static final int ICR_RXDMT0 = 1 << 4;
    public static final int ICR_RXO = 1 << 6;
    public static final int ICR_RXT0 = 1 << 7;
    public static final int ICR_MDAC = 1 << 9;
    public static final int ICR_RXCFG = 1 << 10;
    public static final int ICR_TXD_LOW = 1 << 15;
    public static final int ICR_SRPD = 1 << 16;
    /** The causes the 82540EM has: bits 5, 8, 11 and 17-31 are reserved (no INT_ASSERTED bit before the 82571). */
    public static final int ICR_VALID = 0x0001f6df;

    /** RCTL bits (13.4.22). */
    public static final int RCTL_EN = 1 << 1;
    public static final int RCTL_SBP = 1 << 2;
    public static final int RCTL_UPE = 1 << 3;
    public static final int RCTL_MPE = 1 << 4;
    public static final int RCTL_LPE = 1 << 5;
    public static final int RCTL_RDMTS_SHIFT = 8;
    public static final int RCTL_MO_SHIFT = 12;
    public static final int RCTL_BAM = 1 << 15;
    public static final int RCTL_BSIZE_SHIFT = 16;
    public static final int RCTL_VFE = 1 << 18;
    public static final int RCTL_CFIEN = 1 << 19;
    public static final int RCTL_CFI = 1 << 20;
    public static final int RCTL_BSEX = 1 << 25;
    public static final int RCTL_SECRC = 1 << 26;

    /** TCTL bits (13.4.33). */
    public static final int TCTL_EN = 1 << 1;
    public static final int TCTL_PSP = 1 << 3;
    public static final int TCTL_CT_SHIFT = 4;
    public static final int TCTL_COLD_SHIFT = 12;
    public static final int TCTL_RTLC = 1 << 24;

    /** RDTR bit 31: Flush Partial Descriptor Block, fire the pending receive delay now. */
    public static final int RDTR_FPD = 1 << 31;

    /** RXCSUM fields: packet checksum start, IP and TCP/UDP checksum offload. */
    public static final int RXCSUM_PCSS_MASK = 0xff;
    public static final int RXCSUM_IPOFL = 1 << 8;
    public static final int RXCSUM_TUOFL = 1 << 9;

    /** RAH bits: address valid, address select (00 = destination). */
    public static final int RAH_AV = 1 << 31;
    public static final int RAH_AS_MASK = 3 << 16;

    // ------------------------------------------------------------------ descriptors (chapter 3), 16 bytes each

    public static final int DESCRIPTOR_SIZE = 16;

    /** Receive descriptor status byte (3.2.3.1). */
    public static final int RXD_STAT_DD = 0x01;
    public static final int RXD_STAT_EOP = 0x02;
    public static final int RXD_STAT_IXSM = 0x04;
    public static final int RXD_STAT_VP = 0x08;
    public static final int RXD_STAT_TCPCS = 0x20;
    public static final int RXD_STAT_IPCS = 0x40;
    public static final int RXD_STAT_PIF = 0x80;
    /** Receive descriptor errors byte (3.2.3.2). */
    public static final int RXD_ERR_TCPE = 0x20;
    public static final int RXD_ERR_IPE = 0x40;
    public static final int RXD_ERR_RXE = 0x80;

    /**
     * Transmit descriptor command bits as they sit in the second dword (3.3.3.1 legacy CMD, 3.3.6.1 context
     * TUCMD, 3.3.7 data DCMD). Bit 24 is EOP in a data or legacy descriptor and TUCMD.TCP in a context one.
     */
    public static final int TXD_CMD_EOP = 1 << 24;
    public static final int TXD_CMD_IFCS = 1 << 25;
    public static final int TXD_CMD_TSE = 1 << 26;
    public static final int TXD_CMD_RS = 1 << 27;
    public static final int TXD_CMD_RPS = 1 << 28;
    public static final int TXD_CMD_DEXT = 1 << 29;
    public static final int TXD_CMD_VLE = 1 << 30;
    public static final int TXD_CMD_IDE = 1 << 31;
    public static final int TXD_CMD_TCP = 1 << 24;
    public static final int TXD_CMD_IP = 1 << 25;
    /** DTYP 0001b: a data descriptor; 0000b with DEXT: a context descriptor. */
    public static final int TXD_DTYP_DATA = 1 << 20;
    /** Status nibble of the third dword (3.3.3.2): descriptor done, and the errors the model never reports. */
    public static final int TXD_STAT_DD = 0x01;
    public static final int TXD_STAT_EC = 0x02;
    public static final int TXD_STAT_LC = 0x04;
    public static final int TXD_STAT_TU = 0x08;
    /** Data descriptor POPTS (3.3.7), bits 15:8 of the third dword: insert IP / TCP-UDP checksum. */
    public static final int TXD_POPTS_IXSM = 0x01;
    public static final int TXD_POPTS_TXSM = 0x02;
}
