package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

class ModuleGraphTest {

    private static final String BASE = "lib/modules/6.1.0-99-amd64/kernel/";
    private static final String LLC = BASE + "net/llc/llc.ko";
    private static final String STP = BASE + "net/802/stp.ko";
    private static final String BRIDGE = BASE + "net/bridge/bridge.ko";
    private static final String BLKFRONT = BASE + "drivers/block/xen-blkfront.ko";
    private static final String VERMAGIC = "vermagic=6.1.0-99-amd64 SMP preempt mod_unload modversions ";

    // --- .modinfo ---

    @Test
    void dependsOfReadsTheCommaSeparatedDependsEntry() {
        byte[] ko = TestElf.kernelModule("license=GPL\0depends=stp,llc\0" + VERMAGIC + "\0");

        assertEquals(List.of("stp", "llc"), ModuleGraph.dependsOf(ko, "bridge.ko"));
    }

    @Test
    void anEmptyDependsEntryAndAMissingOneBothMeanNoDependencies() {
        assertEquals(List.of(), ModuleGraph.dependsOf(TestElf.kernelModule("license=GPL\0depends=\0intree=Y\0"), "llc"));
        assertEquals(List.of(), ModuleGraph.dependsOf(TestElf.kernelModule("license=GPL\0" + VERMAGIC + "\0"), "llc"));
    }

    @Test
    void aKeyThatMerelyEndsInDependsIsNotTheDependsEntry() {
        // "softdepends=" is not "depends=": only an entry starting with the key counts.
        byte[] ko = TestElf.kernelModule("softdepends=pre: crc32c\0depends=llc\0");

        assertEquals(List.of("llc"), ModuleGraph.dependsOf(ko, "stp"));
    }

    @Test
    void aFileWithoutModinfoOrNotElfIsRefusedByName() {
        byte[] noModinfo = TestElf.kernelModule("depends=llc\0");
        // Renames the section: ".modinfo" in the name table becomes ".modinfX".
        int at = indexOf(noModinfo, ".modinfo\0".getBytes());
        noModinfo[at + 7] = 'X';

        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> ModuleGraph.dependsOf(noModinfo, "odd.ko"));
        IllegalArgumentException notElf = assertThrows(IllegalArgumentException.class,
                () -> ModuleGraph.dependsOf("#!/bin/sh\n".repeat(10).getBytes(), "script.ko"));

        assertTrue(missing.getMessage().contains("odd.ko has no .modinfo"), missing.getMessage());
        assertTrue(notElf.getMessage().contains("script.ko"), notElf.getMessage());
    }

    // --- load order ---

    @Test
    void loadOrderPutsEveryModuleAfterThoseItNeeds() {
        ModuleGraph graph = bridgeGraph();

        assertEquals(List.of(LLC, STP, BRIDGE), graph.loadOrder(List.of("bridge")));
        assertEquals(List.of(BLKFRONT, LLC, STP, BRIDGE), graph.loadOrder(List.of("xen-blkfront", "bridge")));
        // Asking for a dependency before its user changes nothing: each module comes once.
        assertEquals(List.of(LLC, STP, BRIDGE), graph.loadOrder(List.of("llc", "bridge", "stp")));
    }

    @Test
    void addReturnsTheDependenciesPaths() {
        ModuleGraph graph = new ModuleGraph(List.of(LLC, STP, BRIDGE));

        assertEquals(List.of(STP, LLC), graph.add(BRIDGE, TestElf.kernelModule("depends=stp,llc\0")));
        assertTrue(graph.known(BRIDGE));
        assertTrue(!graph.known(STP), "stp has not been added yet");
    }

    @Test
    void dashAndUnderscoreNameTheSameModule() {
        // Module files use '-' (xen-blkfront.ko), depends= and modprobe use '_' (xen_blkfront).
        String netback = BASE + "drivers/net/xen-netback/xen-netback.ko";
        ModuleGraph graph = new ModuleGraph(List.of(BLKFRONT, netback));

        assertEquals(BLKFRONT, graph.path("xen_blkfront"));
        assertEquals(BLKFRONT, graph.path("xen-blkfront"));
        assertEquals(List.of(BLKFRONT), graph.add(netback, TestElf.kernelModule("depends=xen_blkfront\0")));
        graph.add(BLKFRONT, TestElf.kernelModule("depends=\0"));
        assertEquals(List.of(BLKFRONT, netback), graph.loadOrder(List.of("xen_netback")));
    }

    @Test
    void aCycleIsRefused() {
        ModuleGraph graph = new ModuleGraph(List.of(LLC, STP));
        graph.add(LLC, TestElf.kernelModule("depends=stp\0"));
        graph.add(STP, TestElf.kernelModule("depends=llc\0"));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> graph.loadOrder(List.of("stp")));

        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
    }

    @Test
    void aMissingModuleIsRefusedByName() {
        ModuleGraph graph = new ModuleGraph(List.of(BRIDGE, STP));

        IllegalArgumentException wanted = assertThrows(IllegalArgumentException.class, () -> graph.path("xen-scsifront"));
        IllegalArgumentException dependency = assertThrows(IllegalArgumentException.class,
                () -> graph.add(BRIDGE, TestElf.kernelModule("depends=stp,llc\0")));

        assertTrue(wanted.getMessage().contains("xen-scsifront"), wanted.getMessage());
        assertTrue(dependency.getMessage().contains("llc"), dependency.getMessage());
    }

    // --- hostile input: whatever the bytes, IllegalArgumentException and nothing else ---

    @Test
    void truncatedModulesAreRefusedWithIllegalArgumentException() {
        byte[] whole = TestElf.kernelModule("license=GPL\0depends=stp,llc\0" + VERMAGIC + "\0");
        for (int length = 0; length < whole.length; length++) {
            byte[] cut = Arrays.copyOf(whole, length);
            assertThrows(IllegalArgumentException.class, () -> ModuleGraph.dependsOf(cut, "cut"), "cut at " + length);
        }
    }

    @Test
    void sectionHeadersOutOfRangeAreRefused() {
        byte[] ko = TestElf.kernelModule("depends=llc\0");
        ByteBuffer le = ByteBuffer.wrap(ko).order(ByteOrder.LITTLE_ENDIAN);
        long shoff = le.getLong(0x28);
        long nameTableHeader = shoff + 3 * 64;
        List<Runnable> corruptions = List.of(
                () -> le.putLong(0x28, ko.length), // e_shoff at the end of the file
                () -> le.putLong(0x28, -64), // e_shoff "negative" (huge unsigned)
                () -> le.putLong(0x28, Long.MAX_VALUE),
                () -> le.putShort(0x3A, (short) 32), // e_shentsize smaller than a section header
                () -> le.putShort(0x3C, (short) 0xFFFF), // e_shnum past the file
                () -> le.putShort(0x3E, (short) 4), // e_shstrndx == e_shnum
                () -> le.putLong((int) nameTableHeader + 0x18, ko.length + 100), // names past the file
                () -> le.putLong((int) nameTableHeader + 0x18, -1),
                () -> le.putLong((int) shoff + 2 * 64 + 0x20, 1L << 40), // .modinfo size past the file
                () -> le.putLong((int) shoff + 2 * 64 + 0x18, Long.MAX_VALUE)); // offset + size overflows
        byte[] pristine = ko.clone();
        for (int i = 0; i < corruptions.size(); i++) {
            System.arraycopy(pristine, 0, ko, 0, ko.length);
            corruptions.get(i).run();
            assertThrows(IllegalArgumentException.class, () -> ModuleGraph.dependsOf(ko, "corrupt"), "corruption " + i);
        }
    }

    @Test
    void randomByteFlipsEndInAResultOrIllegalArgumentException() {
        byte[] pristine = TestElf.kernelModule("license=GPL\0depends=stp,llc\0" + VERMAGIC + "\0");
        byte[] ko = pristine.clone();
        Random random = new Random(20261202);
        for (int round = 0; round < 20000; round++) {
            System.arraycopy(pristine, 0, ko, 0, ko.length);
            for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                ko[random.nextInt(ko.length)] = (byte) random.nextInt(256);
            }
            try {
                ModuleGraph.dependsOf(ko, "round " + round);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage().contains("round " + round), expected.getMessage());
            } catch (RuntimeException | Error e) {
                fail("round " + round + ": " + e, e);
            }
        }
    }

    // --- a real Debian kernel ---

    @Test
    void debiansBridgeModuleDependsOnStpAndLlc() throws IOException {
        Path kernel = TestDebs.labDeb("linux-image-[0-9]*.deb");
        assumeTrue(kernel != null, "no linux-image-*.deb in /work/lab-cache/debs");
        DebPackage deb = DebPackage.open(kernel);
        String kver = deb.name().substring("linux-image-".length());
        String bridge = "lib/modules/" + kver + "/kernel/net/bridge/bridge.ko";

        byte[] ko = deb.read(List.of(bridge)).get(bridge);

        // The order within depends= is the build's (Debian writes "llc,stp"); only the set matters for loading.
        assertEquals(Set.of("stp", "llc"), Set.copyOf(ModuleGraph.dependsOf(ko, bridge)));
    }

    private static ModuleGraph bridgeGraph() {
        ModuleGraph graph = new ModuleGraph(List.of(BLKFRONT, LLC, STP, BRIDGE));
        graph.add(BRIDGE, TestElf.kernelModule("license=GPL\0depends=stp,llc\0" + VERMAGIC + "\0"));
        graph.add(STP, TestElf.kernelModule("license=GPL\0depends=llc\0"));
        graph.add(LLC, TestElf.kernelModule("license=GPL\0depends=\0"));
        graph.add(BLKFRONT, TestElf.kernelModule("license=GPL\0depends=\0"));
        return graph;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }
}
