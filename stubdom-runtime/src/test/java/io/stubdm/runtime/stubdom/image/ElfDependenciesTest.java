package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import org.junit.jupiter.api.Test;

class ElfDependenciesTest {

    private static final Path LS = Path.of("/bin/ls");
    private static final Path LIBC = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
    private static final long BASE = 0x400000;

    // --- real binaries of this machine ---

    @Test
    void lsNeedsLibcThroughTheStandardInterpreter() throws IOException {
        assumeTrue(Files.isRegularFile(LS) && isX86_64Elf64(Files.readAllBytes(LS)), "no x86-64 /bin/ls");

        ElfDependencies ls = ElfDependencies.read(Files.readAllBytes(LS)).orElseThrow();

        assertEquals("/lib64/ld-linux-x86-64.so.2", ls.interpreter());
        assertTrue(ls.needed().contains("libc.so.6"), ls.needed().toString());
        assertNull(ls.soname());
    }

    @Test
    void libcIsKnownAsLibcSo6() throws IOException {
        assumeTrue(Files.isRegularFile(LIBC), "no " + LIBC);

        ElfDependencies libc = ElfDependencies.read(Files.readAllBytes(LIBC)).orElseThrow();

        assertEquals("libc.so.6", libc.soname());
        assertTrue(libc.needed().stream().anyMatch(name -> name.startsWith("ld-linux-x86-64")), libc.needed().toString());
    }

    @Test
    void staticBusyboxNeedsNothing() throws IOException {
        Path deb = TestDebs.labBusyboxDeb();
        assumeTrue(deb != null, "no busybox-static .deb in /work/lab-cache/debs");

        byte[] busybox = DebPackage.open(deb).read(List.of("bin/busybox")).get("bin/busybox");
        ElfDependencies dependencies = ElfDependencies.read(busybox).orElseThrow();

        assertNull(dependencies.interpreter());
        assertEquals(List.of(), dependencies.needed());
        assertNull(dependencies.soname());
    }

    // --- files built here, where every value is known ---

    @Test
    void readsInterpreterNeededInOrderAndSonameThroughTheLoadMapping() {
        ElfDependencies read = ElfDependencies.read(new TinyElf().build()).orElseThrow();

        assertEquals(new ElfDependencies("libtiny.so.1", List.of("libz.so.1", "libc.so.6"), "/lib/ld-tiny.so"), read);
    }

    @Test
    void aFileWithoutDynamicSegmentDependsOnNothing() {
        TinyElf elf = new TinyElf();
        elf.withDynamic = false;
        elf.withInterp = false;

        assertEquals(new ElfDependencies(null, List.of(), null), ElfDependencies.read(elf.build()).orElseThrow());
    }

    @Test
    void nonElfInputIsEmpty() {
        for (byte[] input : new byte[][] {
            new byte[0], {0x7F, 'E', 'L'}, "#!/bin/sh\n".getBytes(StandardCharsets.US_ASCII), new byte[4096]}) {
            assertEquals(Optional.empty(), ElfDependencies.read(input));
        }
    }

    @Test
    void refuses32BitAndBigEndianElf() {
        for (int[] classAndData : new int[][] {{1, 1}, {2, 2}, {1, 2}}) {
            byte[] elf = new TinyElf().build();
            elf[4] = (byte) classAndData[0];
            elf[5] = (byte) classAndData[1];

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ElfDependencies.read(elf));

            assertTrue(e.getMessage().contains("not 64-bit little-endian"), e.getMessage());
        }
    }

    @Test
    void refusesInconsistentDynamicSections() {
        TinyElf strtabOutsideLoads = new TinyElf();
        strtabOutsideLoads.strtabAddress = 0x10L;
        TinyElf neededPastStrsz = new TinyElf();
        neededPastStrsz.strsz = 5L;
        TinyElf interpWithoutNul = new TinyElf();
        interpWithoutNul.interpLength = 4;
        TinyElf twoDynamics = new TinyElf();
        twoDynamics.duplicateDynamic = true;

        for (TinyElf elf : List.of(strtabOutsideLoads, neededPastStrsz, interpWithoutNul, twoDynamics)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ElfDependencies.read(elf.build()));
            assertTrue(e.getMessage().startsWith("corrupt ELF: "), e.getMessage());
        }
    }

    // --- hostile input ---

    @Test
    void truncatedFilesAreRefusedWithIllegalArgumentException() throws IOException {
        for (byte[] whole : new byte[][] {new TinyElf().build(), realLs()}) {
            for (int length : new int[] {4, 5, 20, 63, 64, 65, 100, 120, 200, 300, whole.length / 2}) {
                if (length < whole.length) {
                    byte[] cut = java.util.Arrays.copyOf(whole, length);
                    assertThrows(IllegalArgumentException.class, () -> ElfDependencies.read(cut), "cut at " + length);
                }
            }
            for (int length = 0; length < whole.length; length += 97) {
                readOrRefuse(java.util.Arrays.copyOf(whole, length), "cut at " + length);
            }
        }
    }

    @Test
    void everyHeaderByteFlipEndsInAResultOrIllegalArgumentException() throws IOException {
        for (byte[] file : new byte[][] {new TinyElf().build(), realLs()}) {
            ByteBuffer le = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
            int headersEnd = (int) le.getLong(0x20) + le.getShort(0x36) * le.getShort(0x38);
            for (int offset = 0; offset < headersEnd; offset++) {
                byte original = file[offset];
                for (int value : new int[] {0x00, 0xFF, 0x80, 0x7F, original ^ 0x01, original ^ 0x40}) {
                    file[offset] = (byte) value;
                    readOrRefuse(file, "byte " + offset + " = " + value);
                }
                file[offset] = original;
            }
        }
    }

    @Test
    void randomCorruptionOfTheDynamicArrayAndStringsEndsInAResultOrIllegalArgumentException() throws IOException {
        Random random = new Random(20261202);
        for (byte[] file : new byte[][] {new TinyElf().build(), realLs()}) {
            byte[] pristine = file.clone();
            int[] dynamic = dynamicSegment(file);
            for (int round = 0; round < 3000; round++) {
                System.arraycopy(pristine, 0, file, 0, file.length);
                for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                    int offset = random.nextBoolean() ? dynamic[0] + random.nextInt(dynamic[1])
                            : random.nextInt(Math.min(file.length, 4096));
                    file[offset] = (byte) random.nextInt(256);
                }
                readOrRefuse(file, "round " + round);
            }
        }
    }

    private static void readOrRefuse(byte[] file, String what) {
        try {
            ElfDependencies.read(file);
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(), what);
        } catch (RuntimeException | Error e) {
            fail(what + ": " + e, e);
        }
    }

    /** /bin/ls when this is an x86-64 machine with one, else a second copy of the built file. */
    private static byte[] realLs() throws IOException {
        if (Files.isRegularFile(LS)) {
            byte[] ls = Files.readAllBytes(LS);
            if (isX86_64Elf64(ls)) {
                return ls;
            }
        }
        return new TinyElf().build();
    }

    private static boolean isX86_64Elf64(byte[] file) {
        return file.length > 64 && file[4] == 2 && file[5] == 1 && file[18] == 62 && file[19] == 0;
    }

    /** File offset and length of PT_DYNAMIC, found the plain way, so the fuzzer aims at it. */
    private static int[] dynamicSegment(byte[] file) {
        ByteBuffer le = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = le.getLong(0x20);
        for (int i = 0; i < le.getShort(0x38); i++) {
            int header = (int) (phoff + (long) i * le.getShort(0x36));
            if (le.getInt(header) == 2) {
                return new int[] {(int) le.getLong(header + 8), (int) le.getLong(header + 32)};
            }
        }
        throw new AssertionError("no PT_DYNAMIC");
    }

    /**
     * A minimal ELF64 x86-64 shared object: header, program headers (PT_LOAD of the whole file at BASE, PT_DYNAMIC,
     * PT_INTERP), the interpreter string, a string table and a dynamic array whose DT_STRTAB is a virtual address.
     */
    private static final class TinyElf {
        boolean withDynamic = true;
        boolean withInterp = true;
        boolean duplicateDynamic;
        Long strtabAddress;
        Long strsz;
        Integer interpLength;

        byte[] build() {
            byte[] interp = "/lib/ld-tiny.so\0".getBytes(StandardCharsets.US_ASCII);
            byte[] strtab = "\0libz.so.1\0libc.so.6\0libtiny.so.1\0".getBytes(StandardCharsets.US_ASCII);
            int phnum = 1 + (withDynamic ? (duplicateDynamic ? 2 : 1) : 0) + (withInterp ? 1 : 0);
            int interpOffset = 64 + phnum * 56;
            int strtabOffset = interpOffset + interp.length;
            int dynamicOffset = (strtabOffset + strtab.length + 7) & ~7;
            long[][] dynamic = {{1, 1}, {1, 11}, {14, 21}, {5, strtabAddress != null ? strtabAddress : BASE + strtabOffset},
                {10, strsz != null ? strsz : strtab.length}, {0, 0}};
            int length = dynamicOffset + dynamic.length * 16;

            ByteBuffer elf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            elf.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
            elf.putShort(16, (short) 3).putShort(18, (short) 62).putInt(20, 1); // ET_DYN, EM_X86_64, EV_CURRENT
            elf.putLong(0x20, 64).putShort(0x34, (short) 64).putShort(0x36, (short) 56).putShort(0x38, (short) phnum);
            int header = 64;
            header = programHeader(elf, header, 1, 0, BASE, length);
            if (withDynamic) {
                header = programHeader(elf, header, 2, dynamicOffset, BASE + dynamicOffset, dynamic.length * 16);
                if (duplicateDynamic) {
                    header = programHeader(elf, header, 2, dynamicOffset, BASE + dynamicOffset, dynamic.length * 16);
                }
            }
            if (withInterp) {
                programHeader(elf, header, 3, interpOffset, BASE + interpOffset,
                        interpLength != null ? interpLength : interp.length);
            }
            elf.put(interpOffset, interp).put(strtabOffset, strtab);
            for (int i = 0; i < dynamic.length; i++) {
                elf.putLong(dynamicOffset + i * 16, dynamic[i][0]).putLong(dynamicOffset + i * 16 + 8, dynamic[i][1]);
            }
            return elf.array();
        }

        private static int programHeader(ByteBuffer elf, int at, int type, long offset, long vaddr, long size) {
            elf.putInt(at, type).putLong(at + 8, offset).putLong(at + 16, vaddr).putLong(at + 24, vaddr)
                    .putLong(at + 32, size).putLong(at + 40, size).putLong(at + 48, 8);
            return at + 56;
        }
    }
}
