package io.stubdm.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves that the hand-copied ABI constants ({@link IoreqAbi}, {@link IoRangeType}, {@link ShutdownReason},
 * {@link MemType}) match Xen's public headers as shipped in Debian's {@code libxen-dev}, by compiling a C program
 * that prints what the compiler computes from those headers.
 *
 * <p>Each Java constant is paired with a C expression; the C program prints {@code expression=value} for every
 * pair, so a Java constant whose C counterpart no longer exists fails at compile time with the compiler's message.
 * One dynamic test per pair means one run reports every mismatch.
 */
class AbiOffsetsTest {

    private static final Path IOREQ_HEADER = Path.of("/usr/include/xen/hvm/ioreq.h");
    private static final String INSTALL = "apt-get install -y libxen-dev gcc libc6-dev";
    private static final long TIMEOUT_SECONDS = 120;

    /** The C preamble: headers and helpers that locate bit-fields, which offsetof cannot do. */
    private static final String PRELUDE = """
            /* The tools view of the interface: latest __XEN_INTERFACE_VERSION__ (so HVMMEM_unused, not
             * HVMMEM_mmio_write_dm), XENMEM_acquire_resource and HVM_IOREQSRV_BUFIOREQ_*. */
            #define __XEN_TOOLS__ 1
            #include <stddef.h>
            #include <stdint.h>
            #include <stdio.h>
            #include <string.h>
            #include <xen/xen.h>
            #include <xen/sched.h>
            #include <xen/memory.h>
            #include <xen/hvm/hvm_op.h>
            #include <xen/hvm/dm_op.h>
            #include <xen/hvm/ioreq.h>
            #include <xen/hvm/hvm_info_table.h>

            enum ioreq_bits { IOREQ_STATE, IOREQ_DATA_IS_PTR, IOREQ_DIR, IOREQ_DF };
            enum buf_bits { BUF_TYPE, BUF_DIR, BUF_SIZE, BUF_ADDR };

            /* A zeroed ioreq_t with one bit-field set to all ones: the only nonzero bits are that field's. */
            static void ioreq_with(ioreq_t *r, enum ioreq_bits f)
            {
                memset(r, 0, sizeof *r);
                switch (f) {
                case IOREQ_STATE: r->state = 0xF; break;
                case IOREQ_DATA_IS_PTR: r->data_is_ptr = 1; break;
                case IOREQ_DIR: r->dir = 1; break;
                case IOREQ_DF: r->df = 1; break;
                }
            }

            /* The offset of the only nonzero byte, or -1 if the field is in no byte or straddles two. */
            static long long ioreq_bits_byte(enum ioreq_bits f)
            {
                ioreq_t r;
                const unsigned char *p = (const unsigned char *)&r;
                long long found = -1;
                ioreq_with(&r, f);
                for (size_t i = 0; i < sizeof r; i++) {
                    if (p[i] != 0) {
                        if (found != -1)
                            return -1;
                        found = (long long)i;
                    }
                }
                return found;
            }

            static long long ioreq_bits_mask(enum ioreq_bits f)
            {
                ioreq_t r;
                long long at = ioreq_bits_byte(f);
                ioreq_with(&r, f);
                return at < 0 ? -1 : ((const unsigned char *)&r)[at];
            }

            /* Which bits of the slot's first 32-bit word (read as the little-endian ring does) a field occupies. */
            static long long buf_word0_mask(enum buf_bits f)
            {
                buf_ioreq_t b;
                uint32_t word0;
                memset(&b, 0, sizeof b);
                switch (f) {
                case BUF_TYPE: b.type = 0xFF; break;
                case BUF_DIR: b.dir = 1; break;
                case BUF_SIZE: b.size = 3; break;
                case BUF_ADDR: b.addr = 0xFFFFF; break;
                }
                memcpy(&word0, &b, sizeof word0);
                return word0;
            }

            #define P(name, value) printf("%s=%lld\\n", name, (long long)(value))

            int main(void)
            {
            """;

    /**
     * Inputs to XEN_DMOP_PCI_SBDF: edge values of each field, and out-of-range ones that both sides must mask.
     */
    private static final int[][] SBDF_INPUTS = {
        {0, 0, 0, 0}, {0, 0, 3, 0}, {0, 0xff, 0x1f, 7}, {1, 2, 3, 4}, {0xffff, 0xff, 0x1f, 7}, {0x10000, 0x100, 0x20, 8},
    };

    /** Xen's constant (a C expression over the headers) next to the Java constant that copies it. */
    private record Check(String javaName, long javaValue, String cExpression, boolean optional) {
        static Check of(String javaName, long javaValue, String cExpression) {
            return new Check(javaName, javaValue, cExpression, false);
        }
    }

    @TempDir
    Path work;

    @TestFactory
    Stream<DynamicTest> javaConstantsMatchXenHeaders() throws IOException, InterruptedException {
        String missing = missingToolchain();
        if (!missing.isEmpty()) {
            // A skipped leaf test shows its reason in surefire's report; an aborted factory shows nothing at all.
            return Stream.of(DynamicTest.dynamicTest("libxen-dev and cc are installed", () -> noToolchain(missing)));
        }
        List<Check> checks = checks();
        Map<String, Long> xen = runCProgram(checks);
        return checks.stream().map(check -> DynamicTest.dynamicTest(
                check.javaName() + " == " + check.cExpression(), () -> verify(check, xen)));
    }

    private static void verify(Check check, Map<String, Long> xen) {
        Long actual = xen.get(check.cExpression());
        if (actual == null && check.optional()) {
            Assumptions.abort(check.cExpression() + " is not defined by these headers");
        }
        assertNotNull(actual, () -> "C program printed no value for " + check.cExpression());
        assertEquals(actual.longValue(), check.javaValue(), () -> String.format(
                "%s is %d (0x%x) but Xen's %s is %d (0x%x)",
                check.javaName(), check.javaValue(), check.javaValue(), check.cExpression(), actual, actual));
    }

    private static List<Check> checks() {
        List<Check> c = new ArrayList<>();
        c.add(Check.of("IoreqAbi.IOREQ_SIZE", IoreqAbi.IOREQ_SIZE, "sizeof(ioreq_t)"));
        c.add(Check.of("IoreqAbi.OFF_ADDR", IoreqAbi.OFF_ADDR, "offsetof(ioreq_t, addr)"));
        c.add(Check.of("IoreqAbi.OFF_DATA", IoreqAbi.OFF_DATA, "offsetof(ioreq_t, data)"));
        c.add(Check.of("IoreqAbi.OFF_COUNT", IoreqAbi.OFF_COUNT, "offsetof(ioreq_t, count)"));
        c.add(Check.of("IoreqAbi.OFF_SIZE", IoreqAbi.OFF_SIZE, "offsetof(ioreq_t, size)"));
        c.add(Check.of("IoreqAbi.OFF_VP_EPORT", IoreqAbi.OFF_VP_EPORT, "offsetof(ioreq_t, vp_eport)"));
        c.add(Check.of("IoreqAbi.OFF_PAD0", IoreqAbi.OFF_PAD0, "offsetof(ioreq_t, _pad0)"));
        c.add(Check.of("IoreqAbi.OFF_TYPE", IoreqAbi.OFF_TYPE, "offsetof(ioreq_t, type)"));

        // Every flag must live in the byte at OFF_FLAGS, at the bits the FLAG_* masks select.
        c.add(Check.of("IoreqAbi.OFF_FLAGS", IoreqAbi.OFF_FLAGS, "ioreq_bits_byte(IOREQ_STATE)"));
        c.add(Check.of("IoreqAbi.OFF_FLAGS", IoreqAbi.OFF_FLAGS, "ioreq_bits_byte(IOREQ_DATA_IS_PTR)"));
        c.add(Check.of("IoreqAbi.OFF_FLAGS", IoreqAbi.OFF_FLAGS, "ioreq_bits_byte(IOREQ_DIR)"));
        c.add(Check.of("IoreqAbi.OFF_FLAGS", IoreqAbi.OFF_FLAGS, "ioreq_bits_byte(IOREQ_DF)"));
        c.add(Check.of("IoreqAbi.FLAG_STATE_MASK", IoreqAbi.FLAG_STATE_MASK, "ioreq_bits_mask(IOREQ_STATE)"));
        c.add(Check.of("IoreqAbi.FLAG_DATA_IS_PTR", IoreqAbi.FLAG_DATA_IS_PTR, "ioreq_bits_mask(IOREQ_DATA_IS_PTR)"));
        c.add(Check.of("IoreqAbi.FLAG_DIR_READ", IoreqAbi.FLAG_DIR_READ, "ioreq_bits_mask(IOREQ_DIR)"));
        c.add(Check.of("IoreqAbi.FLAG_DF", IoreqAbi.FLAG_DF, "ioreq_bits_mask(IOREQ_DF)"));

        c.add(Check.of("IoreqAbi.STATE_IOREQ_NONE", IoreqAbi.STATE_IOREQ_NONE, "STATE_IOREQ_NONE"));
        c.add(Check.of("IoreqAbi.STATE_IOREQ_READY", IoreqAbi.STATE_IOREQ_READY, "STATE_IOREQ_READY"));
        c.add(Check.of("IoreqAbi.STATE_IOREQ_INPROCESS", IoreqAbi.STATE_IOREQ_INPROCESS, "STATE_IOREQ_INPROCESS"));
        c.add(Check.of("IoreqAbi.STATE_IORESP_READY", IoreqAbi.STATE_IORESP_READY, "STATE_IORESP_READY"));
        c.add(Check.of("IoreqAbi.IOREQ_TYPE_PIO", IoreqAbi.IOREQ_TYPE_PIO, "IOREQ_TYPE_PIO"));
        c.add(Check.of("IoreqAbi.IOREQ_TYPE_COPY", IoreqAbi.IOREQ_TYPE_COPY, "IOREQ_TYPE_COPY"));
        c.add(Check.of("IoreqAbi.IOREQ_TYPE_PCI_CONFIG", IoreqAbi.IOREQ_TYPE_PCI_CONFIG, "IOREQ_TYPE_PCI_CONFIG"));
        c.add(Check.of("IoreqAbi.IOREQ_TYPE_TIMEOFFSET", IoreqAbi.IOREQ_TYPE_TIMEOFFSET, "IOREQ_TYPE_TIMEOFFSET"));
        c.add(Check.of("IoreqAbi.IOREQ_TYPE_INVALIDATE", IoreqAbi.IOREQ_TYPE_INVALIDATE, "IOREQ_TYPE_INVALIDATE"));
        c.add(Check.of("IoreqAbi.IOREQ_WRITE", IoreqAbi.IOREQ_WRITE, "IOREQ_WRITE"));
        c.add(Check.of("IoreqAbi.IOREQ_READ", IoreqAbi.IOREQ_READ, "IOREQ_READ"));

        c.add(Check.of("IoreqAbi.BUF_OFF_SLOTS + BUF_SLOT_NUM * BUF_SLOT_SIZE",
                IoreqAbi.BUF_OFF_SLOTS + IoreqAbi.BUF_SLOT_NUM * IoreqAbi.BUF_SLOT_SIZE, "sizeof(buffered_iopage_t)"));
        c.add(Check.of("IoreqAbi.BUF_OFF_READ_POINTER", IoreqAbi.BUF_OFF_READ_POINTER,
                "offsetof(buffered_iopage_t, read_pointer)"));
        c.add(Check.of("IoreqAbi.BUF_OFF_WRITE_POINTER", IoreqAbi.BUF_OFF_WRITE_POINTER,
                "offsetof(buffered_iopage_t, write_pointer)"));
        c.add(Check.of("IoreqAbi.BUF_OFF_SLOTS", IoreqAbi.BUF_OFF_SLOTS, "offsetof(buffered_iopage_t, buf_ioreq)"));
        c.add(Check.of("IoreqAbi.BUF_SLOT_NUM", IoreqAbi.BUF_SLOT_NUM, "IOREQ_BUFFER_SLOT_NUM"));
        c.add(Check.of("IoreqAbi.BUF_SLOT_SIZE", IoreqAbi.BUF_SLOT_SIZE, "sizeof(buf_ioreq_t)"));

        // The Java side decodes a slot as word 0 (shifts and masks) then data, so data must follow word 0.
        c.add(Check.of("Integer.BYTES (data follows buf_ioreq_t word 0)", Integer.BYTES,
                "offsetof(buf_ioreq_t, data)"));
        c.add(Check.of("IoreqAbi.BUF_TYPE_MASK", IoreqAbi.BUF_TYPE_MASK, "buf_word0_mask(BUF_TYPE)"));
        c.add(Check.of("1 << IoreqAbi.BUF_DIR_SHIFT", 1L << IoreqAbi.BUF_DIR_SHIFT, "buf_word0_mask(BUF_DIR)"));
        c.add(Check.of("3 << IoreqAbi.BUF_SIZE_SHIFT", 3L << IoreqAbi.BUF_SIZE_SHIFT, "buf_word0_mask(BUF_SIZE)"));
        c.add(Check.of("(IoreqAbi.BUF_ADDR_LIMIT - 1) << IoreqAbi.BUF_ADDR_SHIFT",
                (IoreqAbi.BUF_ADDR_LIMIT - 1) << IoreqAbi.BUF_ADDR_SHIFT, "buf_word0_mask(BUF_ADDR)"));

        c.add(Check.of("IoreqAbi.HVM_IOREQSRV_BUFIOREQ_OFF", IoreqAbi.HVM_IOREQSRV_BUFIOREQ_OFF,
                "HVM_IOREQSRV_BUFIOREQ_OFF"));
        c.add(Check.of("IoreqAbi.HVM_IOREQSRV_BUFIOREQ_LEGACY", IoreqAbi.HVM_IOREQSRV_BUFIOREQ_LEGACY,
                "HVM_IOREQSRV_BUFIOREQ_LEGACY"));
        c.add(Check.of("IoreqAbi.HVM_IOREQSRV_BUFIOREQ_ATOMIC", IoreqAbi.HVM_IOREQSRV_BUFIOREQ_ATOMIC,
                "HVM_IOREQSRV_BUFIOREQ_ATOMIC"));

        c.add(Check.of("IoreqAbi.XENMEM_RESOURCE_IOREQ_SERVER", IoreqAbi.XENMEM_RESOURCE_IOREQ_SERVER,
                "XENMEM_resource_ioreq_server"));
        c.add(Check.of("IoreqAbi.XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ",
                IoreqAbi.XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ, "XENMEM_resource_ioreq_server_frame_bufioreq"));
        for (int n : new int[] {0, 1, IoreqAbi.MAX_VCPUS - 1}) {
            c.add(Check.of("IoreqAbi.resourceFrameIoreq(" + n + ")", IoreqAbi.resourceFrameIoreq(n),
                    "XENMEM_resource_ioreq_server_frame_ioreq(" + n + ")"));
        }

        for (int[] in : SBDF_INPUTS) {
            // Unsigned arguments: the macro shifts the segment left by 16, which overflows a signed int above 0x7fff.
            String args = String.format("0x%x, 0x%x, 0x%x, 0x%x", in[0], in[1], in[2], in[3]);
            String unsignedArgs = String.format("0x%xu, 0x%xu, 0x%xu, 0x%xu", in[0], in[1], in[2], in[3]);
            c.add(Check.of("IoreqAbi.pciSbdf(" + args + ")",
                    IoreqAbi.pciSbdf(in[0], in[1], in[2], in[3]), "XEN_DMOP_PCI_SBDF(" + unsignedArgs + ")"));
        }

        // Derived names so that a Java enum constant without a Xen counterpart fails to compile.
        for (IoRangeType t : IoRangeType.values()) {
            c.add(Check.of("IoRangeType." + t + ".code", t.code, "XEN_DMOP_IO_RANGE_" + t));
        }
        for (ShutdownReason r : ShutdownReason.values()) {
            c.add(Check.of("ShutdownReason." + r + ".code", r.code, "SHUTDOWN_" + r.name().toLowerCase(Locale.ROOT)));
        }
        for (MemType m : MemType.values()) {
            c.add(Check.of("MemType." + m + ".code", m.code, "HVMMEM_" + m.name().toLowerCase(Locale.ROOT)));
        }

        c.add(new Check("IoreqAbi.MAX_VCPUS", IoreqAbi.MAX_VCPUS, "HVM_MAX_VCPUS", true));
        return c;
    }

    /** Which of the headers and the compiler are absent, or "" when both are there. */
    private static String missingToolchain() {
        List<String> missing = new ArrayList<>();
        if (!Files.isRegularFile(IOREQ_HEADER)) {
            missing.add(IOREQ_HEADER + " (package libxen-dev)");
        }
        if (!findOnPath("cc")) {
            missing.add("cc (package gcc)");
        }
        return String.join(", ", missing);
    }

    /** Skips locally, but fails on CI, where a silently skipped ABI check would prove nothing. */
    private static void noToolchain(String missing) {
        if ("true".equals(System.getenv("CI"))) {
            fail("CI must install libxen-dev and gcc (" + INSTALL + "); missing: " + missing);
        }
        Assumptions.abort("Xen ABI check skipped, missing " + missing + "; install with: sudo " + INSTALL);
    }

    private static boolean findOnPath(String program) {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(File.pathSeparator))
                .filter(dir -> !dir.isEmpty())
                .anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }

    private Map<String, Long> runCProgram(List<Check> checks) throws IOException, InterruptedException {
        StringBuilder source = new StringBuilder(PRELUDE);
        for (Check check : checks) {
            String print = String.format("    P(\"%s\", %s);\n", check.cExpression(), check.cExpression());
            source.append(check.optional()
                    ? "#ifdef " + check.cExpression() + "\n" + print + "#endif\n"
                    : print);
        }
        source.append("    return 0;\n}\n");
        Path c = work.resolve("abi.c");
        Path exe = work.resolve("abi");
        Files.writeString(c, source);

        Result compile = run("cc", "-Wall", "-Wextra", "-o", exe.toString(), c.toString());
        if (compile.exitCode != 0) {
            fail("cc failed (exit " + compile.exitCode + ") on " + c + ":\n" + compile.stderr);
        }
        Result output = run(exe.toString());
        if (output.exitCode != 0) {
            fail("ABI probe exited " + output.exitCode + ":\n" + output.stderr);
        }

        Map<String, Long> values = new HashMap<>();
        for (String line : output.stdout.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1).trim()));
            }
        }
        return values;
    }

    private record Result(int exitCode, String stdout, String stderr) {}

    /** Output goes to files, not pipes, so a chatty compiler cannot block on a full pipe buffer. */
    private Result run(String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(work, "out", ".txt");
        Path err = Files.createTempFile(work, "err", ".txt");
        Process process = new ProcessBuilder(command)
                .directory(work.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
        }
        return new Result(process.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
