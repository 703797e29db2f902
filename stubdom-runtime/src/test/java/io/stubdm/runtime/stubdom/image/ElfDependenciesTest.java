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
        ElfDependencies read = ElfDependencies.read(new TestElf().build()).orElseThrow();

        assertEquals(new ElfDependencies("libtiny.so.1", List.of("libz.so.1", "libc.so.6"), "/lib/ld-tiny.so"), read);
    }

    @Test
    void aFileWithoutDynamicSegmentDependsOnNothing() {
        TestElf elf = new TestElf();
        elf.withDynamic = false;
        elf.interpreter = null;

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
            byte[] elf = new TestElf().build();
            elf[4] = (byte) classAndData[0];
            elf[5] = (byte) classAndData[1];

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ElfDependencies.read(elf));

            assertTrue(e.getMessage().contains("not 64-bit little-endian"), e.getMessage());
        }
    }

    @Test
    void refusesInconsistentDynamicSections() {
        TestElf strtabOutsideLoads = new TestElf();
        strtabOutsideLoads.strtabAddress = 0x10L;
        TestElf neededPastStrsz = new TestElf();
        neededPastStrsz.strsz = 5L;
        TestElf interpWithoutNul = new TestElf();
        interpWithoutNul.interpLength = 4;
        TestElf twoDynamics = new TestElf();
        twoDynamics.duplicateDynamic = true;

        for (TestElf elf : List.of(strtabOutsideLoads, neededPastStrsz, interpWithoutNul, twoDynamics)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ElfDependencies.read(elf.build()));
            assertTrue(e.getMessage().startsWith("corrupt ELF: "), e.getMessage());
        }
    }

    // --- hostile input ---

    @Test
    void truncatedFilesAreRefusedWithIllegalArgumentException() throws IOException {
        for (byte[] whole : new byte[][] {new TestElf().build(), realLs()}) {
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
        for (byte[] file : new byte[][] {new TestElf().build(), realLs()}) {
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
        for (byte[] file : new byte[][] {new TestElf().build(), realLs()}) {
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
        return new TestElf().build();
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
}
