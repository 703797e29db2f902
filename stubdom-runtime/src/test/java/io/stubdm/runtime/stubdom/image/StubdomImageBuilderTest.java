package io.stubdm.runtime.stubdom.image;

import static io.stubdm.runtime.stubdom.image.StubdomFixture.KVER;
import static io.stubdm.runtime.stubdom.image.StubdomFixture.LOADER;
import static io.stubdm.runtime.stubdom.image.StubdomFixture.USR_MULTIARCH;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.ZipFile;

import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.stubdm.runtime.stubdom.image.StubdomFixture.Rootfs;

/**
 * Most tests inspect the one {@link StubdomFixture#standardImage() standard image}; a build costs a jlink (seconds),
 * so only the reproducibility and the missing-library tests build again. (StubdomImageCommandTest checks that another
 * --mtime gives other bytes.)
 */
class StubdomImageBuilderTest {
    private static final long MTIME = StubdomFixture.MTIME;
    private static final String MULTIARCH_IN_IMAGE = USR_MULTIARCH;

    @TempDir
    static Path dir;
    static StubdomFixture fixture;
    static StubdomImageBuilder.Result result;
    static Rootfs rootfs;

    @BeforeAll
    static void buildOnce() throws IOException {
        StubdomFixture.Built built = StubdomFixture.standardImage();
        fixture = built.fixture();
        result = built.result();
        rootfs = built.rootfs();
    }

    @Test
    void theKernelIsDebiansVmlinuzUnchanged() throws IOException {
        assertEquals(StubdomImageBuilder.KERNEL_FILE, result.kernel().getFileName().toString());
        assertArrayEquals(StubdomFixture.VMLINUZ, Files.readAllBytes(result.kernel()));
    }

    @Test
    void theResultDescribesTheRootfsWritten() throws IOException {
        assertEquals(Files.size(result.rootfs()), result.rootfsBytes());
        assertEquals(rootfs.entries().size(), result.entries());
        assertEquals(StubdomImageBuilder.sha256(result.rootfs()), result.rootfsSha256());
        try (var list = Files.list(result.rootfs().getParent())) {
            // Each file is written beside its target and renamed: no ".part" may be left behind.
            assertEquals(Set.of(StubdomImageBuilder.KERNEL_FILE, StubdomImageBuilder.ROOTFS_FILE,
                    StubdomImageBuilder.MANIFEST_FILE), Set.copyOf(list.map(p -> p.getFileName().toString()).toList()));
        }
    }

    @Test
    void initIsTheBuildersScriptAndExecutable() throws IOException {
        assertEquals(0100755, rootfs.entries().get("init").getMode());
        try (InputStream in = getClass().getResourceAsStream("/io/stubdm/runtime/stubdom/init")) {
            assertArrayEquals(in.readAllBytes(), rootfs.contents().get("init"));
        }
    }

    @Test
    void busyboxComesWithItsAppletLinks() {
        assertEquals(0100755, rootfs.entries().get("usr/bin/busybox").getMode());
        assertArrayEquals(TestElf.staticExecutable(), rootfs.contents().get("usr/bin/busybox"));
        for (String applet : StubdomImageBuilder.BUSYBOX_APPLETS) {
            CpioArchiveEntry link = rootfs.entries().get("usr/bin/" + applet);
            assertTrue(link != null && link.isSymbolicLink(), applet);
            assertEquals("busybox", rootfs.text("usr/bin/" + applet), applet);
        }
    }

    @Test
    void modulesAreListedDependenciesFirstTheXenDevicesBeforeTheJvmStarts() {
        // The init loads modules.early, starts stubdm, then loads modules.late while the JVM starts up.
        assertEquals(List.of("kernel/drivers/xen/xen-evtchn.ko", "kernel/drivers/xen/xen-gntdev.ko",
                "kernel/drivers/xen/xen-gntalloc.ko", "kernel/drivers/xen/xen-privcmd.ko unrestricted=1",
                "kernel/drivers/xen/xenfs/xenfs.ko"),
                List.of(rootfs.text("etc/stubdm/modules.early").split("\n")));
        assertEquals(List.of("kernel/drivers/net/tun.ko", "kernel/drivers/block/xen-blkfront.ko",
                "kernel/drivers/net/xen-netfront.ko", "kernel/net/llc/llc.ko", "kernel/net/802/stp.ko",
                "kernel/net/bridge/bridge.ko"),
                List.of(rootfs.text("etc/stubdm/modules.late").split("\n")));
    }

    /** Every module the init loads, without parameters. */
    private static Set<String> listedModules() {
        Set<String> listed = new TreeSet<>();
        for (String list : List.of("etc/stubdm/modules.early", "etc/stubdm/modules.late")) {
            for (String line : rootfs.text(list).split("\n")) {
                listed.add(line.split(" ")[0]);
            }
        }
        return listed;
    }

    @Test
    void exactlyTheListedModulesAreInTheImage() {
        String base = "usr/lib/modules/" + KVER + "/";
        Set<String> files = new TreeSet<>();
        for (Map.Entry<String, CpioArchiveEntry> e : rootfs.entries().entrySet()) {
            if (e.getKey().startsWith(base) && e.getValue().isRegularFile()) {
                files.add(e.getKey().substring(base.length()));
            }
        }

        // ext4 and its dependencies, and modules.builtin, are in the package but not wanted.
        assertEquals(listedModules(), files);
        assertEquals(List.of("stp", "llc"),
                ModuleGraph.dependsOf(rootfs.contents().get(base + "kernel/net/bridge/bridge.ko"), "bridge"));
    }

    @Test
    void theJavaRuntimeIsJlinkedWithTheStubsModulesOnly() {
        String java = StubdomImageBuilder.JAVA_HOME_IN_IMAGE;
        assertEquals(0100755, rootfs.entries().get(java + "/bin/java").getMode());
        assertTrue(rootfs.text(java + "/release").contains("MODULES=\"java.base java.logging java.management jdk.unsupported\""),
                rootfs.text(java + "/release"));
        assertTrue(rootfs.text("etc/stubdm/java.env").startsWith("STUBDM_JAVA=/" + java + "/bin/java\n"));
    }

    @Test
    void stubdmsJarsAreInButTheBuildersOwnDependenciesAreNot() throws IOException {
        Set<String> jars = new TreeSet<>();
        rootfs.entries().keySet().stream().filter(p -> p.startsWith(StubdomImageBuilder.JARS_IN_IMAGE + "/"))
                .forEach(p -> jars.add(p.substring(StubdomImageBuilder.JARS_IN_IMAGE.length() + 1)));

        assertEquals(Set.of("jna-5.17.0.jar", "stubdom-runtime-0.1.0.jar"), jars);
        assertArrayEquals(Files.readAllBytes(fixture.jars.resolve("jna-5.17.0.jar")),
                rootfs.contents().get(StubdomImageBuilder.JARS_IN_IMAGE + "/jna-5.17.0.jar"));
    }

    @Test
    void jnasNativePartIsTakenOutOfItsJar() throws IOException {
        byte[] expected;
        try (ZipFile jna = new ZipFile(fixture.jars.resolve("jna-5.17.0.jar").toFile());
                InputStream in = jna.getInputStream(jna.getEntry("com/sun/jna/linux-x86-64/libjnidispatch.so"))) {
            expected = in.readAllBytes();
        }

        assertArrayEquals(expected, rootfs.contents().get(StubdomImageBuilder.JNA_IN_IMAGE + "/libjnidispatch.so"));
    }

    @Test
    void vchanSocketProxyIsInAndExecutable() {
        assertEquals(0100755, rootfs.entries().get(StubdomImageBuilder.VCHAN_PROXY).getMode());
        assertEquals(StubdomFixture.VCHAN_PROXY_NEEDS,
                ElfDependencies.read(rootfs.contents().get(StubdomImageBuilder.VCHAN_PROXY)).orElseThrow().needed());
    }

    @Test
    void everyLibraryAnyFileNeedsIsInTheImage() {
        Set<String> names = libraryNames();
        List<String> unresolved = new ArrayList<>();
        for (Map.Entry<String, byte[]> file : elfFiles().entrySet()) {
            for (String needed : ElfDependencies.read(file.getValue()).orElseThrow().needed()) {
                if (!names.contains(needed)) {
                    unresolved.add(file.getKey() + " needs " + needed);
                }
            }
        }

        assertEquals(List.of(), unresolved);
        for (String jna : StubdomImageBuilder.JNA_LIBRARIES) {
            assertTrue(names.contains(jna), jna + ", which JNA opens by name");
        }
    }

    @Test
    void theSonameLinksComeWithTheirFiles() {
        for (String soname : List.of("libxenctrl.so.4.17", "libxenvchan.so.4.17", "libxentoollog.so.1", "libz.so.1")) {
            CpioArchiveEntry link = rootfs.entries().get(MULTIARCH_IN_IMAGE + soname);
            assertTrue(link != null && link.isSymbolicLink(), soname);
            String target = rootfs.text(MULTIARCH_IN_IMAGE + soname);
            assertTrue(rootfs.entries().get(MULTIARCH_IN_IMAGE + target).isRegularFile(), soname + " -> " + target);
        }
        // libc6 puts the C library in /lib: merged-/usr, it is in /usr/lib.
        assertTrue(rootfs.entries().get(MULTIARCH_IN_IMAGE + "libc.so.6").isRegularFile());
    }

    @Test
    void nothingThatNothingNeedsIsInTheImage() {
        Set<String> wanted = new TreeSet<>(StubdomImageBuilder.JNA_LIBRARIES);
        for (byte[] elf : elfFiles().values()) {
            wanted.addAll(ElfDependencies.read(elf).orElseThrow().needed());
        }
        List<String> unwanted = new ArrayList<>();
        for (Map.Entry<String, CpioArchiveEntry> e : rootfs.entries().entrySet()) {
            String path = e.getKey();
            if (!path.startsWith(MULTIARCH_IN_IMAGE) || e.getValue().isDirectory()) {
                continue;
            }
            String name = path.substring(MULTIARCH_IN_IMAGE.length());
            // A versioned file is wanted through the soname link that points at it.
            boolean linkedTo = wanted.stream().anyMatch(soname -> rootfs.entries().containsKey(MULTIARCH_IN_IMAGE + soname)
                    && rootfs.entries().get(MULTIARCH_IN_IMAGE + soname).isSymbolicLink()
                    && rootfs.text(MULTIARCH_IN_IMAGE + soname).equals(name));
            if (!wanted.contains(name) && !linkedTo) {
                unwanted.add(path);
            }
        }

        assertEquals(List.of(), unwanted);
        for (String absent : List.of(StubdomFixture.UNNEEDED_LIBC_LIBRARY, "libxenhypfs.so.1", "libxenhypfs.so.1.0",
                "libxenlight.so.4.17", "libxenlight.so.4.17.0")) {
            assertFalse(rootfs.entries().containsKey(MULTIARCH_IN_IMAGE + absent), absent);
        }
        assertFalse(rootfs.entries().containsKey("usr/share/doc/libc6/copyright"));
    }

    @Test
    void theProgramInterpreterIsWhereItsPathSays() {
        CpioArchiveEntry link = rootfs.entries().get("usr/lib64/" + LOADER);

        assertTrue(link != null && link.isSymbolicLink());
        assertEquals("/lib/x86_64-linux-gnu/" + LOADER, rootfs.text("usr/lib64/" + LOADER));
        assertTrue(rootfs.entries().get(MULTIARCH_IN_IMAGE + LOADER).isRegularFile());
    }

    @Test
    void theSkeletonIsMergedUsrWithAConsole() {
        for (String top : List.of("bin", "sbin", "lib", "lib64")) {
            assertTrue(rootfs.entries().get(top).isSymbolicLink(), top);
            assertEquals("usr/" + top, rootfs.text(top));
        }
        CpioArchiveEntry console = rootfs.entries().get("dev/console");
        assertEquals(0020600, console.getMode());
        assertEquals(5, console.getRemoteDeviceMaj());
        assertEquals(1, console.getRemoteDeviceMin());
        assertEquals(0041777, rootfs.entries().get("tmp").getMode());
    }

    @Test
    void everyEntryIsRootsWithTheGivenTime() {
        for (CpioArchiveEntry entry : rootfs.entries().values()) {
            assertEquals(0, entry.getUID(), entry.getName());
            assertEquals(0, entry.getGID(), entry.getName());
            assertEquals(MTIME, entry.getTime(), entry.getName());
        }
    }

    @Test
    void theManifestAndTheImageNameThePackageVersions() throws IOException {
        String manifest = Files.readString(result.manifest());
        String packages = rootfs.text("etc/stubdm/packages");

        for (String line : List.of("libc6 " + StubdomFixture.LIBC_VERSION, "zlib1g " + StubdomFixture.ZLIB_VERSION,
                "libxentoollog1 " + StubdomFixture.XEN_VERSION, "busybox-static " + StubdomFixture.BUSYBOX_VERSION,
                "xen-utils-4.17 " + StubdomFixture.XEN_VERSION,
                StubdomFixture.KERNEL_PACKAGE + " " + StubdomFixture.KERNEL_VERSION)) {
            assertTrue(manifest.contains("\npackage " + line + "\n"), line + " in\n" + manifest);
            assertTrue(packages.contains(line + "\n"), line + " in\n" + packages);
        }
        assertTrue(manifest.contains("\nsha256 " + result.rootfsSha256() + "\n"), manifest);
        assertTrue(packages.endsWith("kernel " + KVER + "\n"), packages);
    }

    // --- the property the image exists for: same inputs, same bytes ---

    @Test
    void theSameInputsGiveTheSameBytes() throws IOException {
        StubdomImageBuilder.Result again = StubdomImageBuilder.build(fixture.inputs(MTIME), dir.resolve("again"));

        assertArrayEquals(Files.readAllBytes(result.rootfs()), Files.readAllBytes(again.rootfs()));
        assertArrayEquals(Files.readAllBytes(result.kernel()), Files.readAllBytes(again.kernel()));
        assertEquals(Files.readString(result.manifest()), Files.readString(again.manifest()));
    }

    // --- errors ---

    @Test
    void aMissingPackageIsAnIOExceptionNamingIt() throws IOException {
        StubdomFixture incomplete = new StubdomFixture(dir.resolve("no-busybox")).without("busybox-static").write();

        IOException e = assertThrows(IOException.class,
                () -> StubdomImageBuilder.build(incomplete.inputs(MTIME), dir.resolve("no-busybox-out")));

        assertTrue(e.getMessage().contains("busybox-static"), e.getMessage());
    }

    @Test
    void aLibraryNoPackageProvidesIsAnIOExceptionNamingItAndWhoNeedsIt() throws IOException {
        StubdomFixture broken = new StubdomFixture(dir.resolve("nope")).withNeeded("libxentoollog.so.1", "libnope.so.1")
                .write();

        IOException e = assertThrows(IOException.class,
                () -> StubdomImageBuilder.build(broken.inputs(MTIME), dir.resolve("nope-out")));

        assertTrue(e.getMessage().contains("libnope.so.1"), e.getMessage());
        assertTrue(e.getMessage().contains(MULTIARCH_IN_IMAGE + "libxentoollog.so.1.0"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("nope-out").resolve(StubdomImageBuilder.ROOTFS_FILE)));
    }

    /** Every library name the loader can find in the image: in the multiarch directory, or the JDK's own. */
    private static Set<String> libraryNames() {
        Set<String> names = new TreeSet<>();
        for (String path : rootfs.entries().keySet()) {
            if (path.startsWith(MULTIARCH_IN_IMAGE) || path.startsWith(StubdomImageBuilder.JAVA_HOME_IN_IMAGE + "/")) {
                names.add(path.substring(path.lastIndexOf('/') + 1));
            }
        }
        return names;
    }

    private static Map<String, byte[]> elfFiles() {
        Map<String, byte[]> elves = new TreeMap<>();
        rootfs.entries().forEach((path, entry) -> {
            byte[] bytes = rootfs.contents().get(path);
            if (entry.isRegularFile() && ElfDependencies.read(bytes).isPresent()) {
                elves.put(path, bytes);
            }
        });
        return elves;
    }
}
