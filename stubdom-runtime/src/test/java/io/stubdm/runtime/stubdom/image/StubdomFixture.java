package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import io.stubdm.runtime.stubdom.image.TestDebs.Member;

/**
 * Everything {@link StubdomImageBuilder} reads, made up in a directory: a .deb for every package it takes, a jar
 * directory, and this JDK. The C and C++ runtime libraries are this machine's real ones (the jlinked Java runtime
 * loads them, so the DT_NEEDED closure is the real one); Xen's libraries, vchan-socket-proxy, busybox and the kernel
 * modules are built here with known dependencies. Shared by the builder's and the command's tests.
 */
final class StubdomFixture {
    static final String KVER = "6.1.0-99-amd64";
    static final String KERNEL_PACKAGE = "linux-image-" + KVER;
    static final String KERNEL_VERSION = "6.1.999-1";
    static final String LIBC_VERSION = "2.36-9+deb12u14";
    static final String ZLIB_VERSION = "1:1.2.13.dfsg-1+deb12u1";
    static final String XEN_VERSION = "4.17.7+13-g2445b30a44-0+deb12u1";
    static final String OLD_XEN_VERSION = "4.17.3+10-g091466ba55-1~deb12u1";
    static final String BUSYBOX_VERSION = "1:1.35.0-4+deb12u1+b1";
    static final String MULTIARCH = "lib/x86_64-linux-gnu/";
    static final String USR_MULTIARCH = "usr/lib/x86_64-linux-gnu/";
    static final String LOADER = "ld-linux-x86-64.so.2";
    /** In libc6, and needed by nothing: the image must leave it out. */
    static final String UNNEEDED_LIBC_LIBRARY = "libanl.so.1";
    static final Path SYSTEM_LIBRARIES = Path.of("/lib/x86_64-linux-gnu");
    static final List<String> SYSTEM_SONAMES = List.of("libc.so.6", "libm.so.6", LOADER, "libgcc_s.so.1",
            "libstdc++.so.6", "libz.so.1");
    static final Path JDK = Path.of(System.getProperty("java.home"));
    static final byte[] VMLINUZ = "MZ not really a kernel, but its bytes must come out unchanged\n"
            .repeat(100).getBytes(StandardCharsets.US_ASCII);

    /** Module path below lib/modules/KVER/ -> its depends= value. */
    static final Map<String, String> MODULES = new LinkedHashMap<>();

    static {
        MODULES.put("kernel/drivers/block/xen-blkfront.ko", "");
        MODULES.put("kernel/drivers/net/xen-netfront.ko", "");
        MODULES.put("kernel/drivers/xen/xen-evtchn.ko", "");
        MODULES.put("kernel/drivers/xen/xen-gntdev.ko", "");
        MODULES.put("kernel/drivers/xen/xen-gntalloc.ko", "");
        MODULES.put("kernel/drivers/xen/xen-privcmd.ko", "");
        MODULES.put("kernel/drivers/xen/xenfs/xenfs.ko", "xen_privcmd");
        MODULES.put("kernel/drivers/net/tun.ko", "");
        MODULES.put("kernel/net/bridge/bridge.ko", "stp,llc");
        MODULES.put("kernel/net/802/stp.ko", "llc");
        MODULES.put("kernel/net/llc/llc.ko", "");
        // Not wanted by anything: must stay out of the image.
        MODULES.put("kernel/fs/ext4/ext4.ko", "mbcache,jbd2");
        MODULES.put("kernel/fs/mbcache.ko", "");
        MODULES.put("kernel/fs/jbd2/jbd2.ko", "");
    }

    /** Xen's libraries as Debian packages them: package -> soname -> DT_NEEDED (besides libc.so.6). */
    static final Map<String, Map<String, List<String>>> XEN_LIBRARIES = Map.ofEntries(
            Map.entry("libxentoollog1", Map.of("libxentoollog.so.1", List.of())),
            Map.entry("libxentoolcore1", Map.of("libxentoolcore.so.1", List.of())),
            Map.entry("libxencall1", Map.of("libxencall.so.1", List.of("libxentoollog.so.1", "libxentoolcore.so.1"))),
            Map.entry("libxenevtchn1", Map.of("libxenevtchn.so.1", List.of("libxentoollog.so.1", "libxentoolcore.so.1"))),
            Map.entry("libxengnttab1", Map.of("libxengnttab.so.1", List.of("libxentoollog.so.1", "libxentoolcore.so.1"))),
            Map.entry("libxenforeignmemory1",
                    Map.of("libxenforeignmemory.so.1", List.of("libxentoollog.so.1", "libxentoolcore.so.1"))),
            Map.entry("libxendevicemodel1", Map.of("libxendevicemodel.so.1",
                    List.of("libxentoollog.so.1", "libxentoolcore.so.1", "libxencall.so.1"))),
            Map.entry("libxenstore4", Map.of("libxenstore.so.4", List.of("libxentoolcore.so.1"))),
            // Needed by nothing the stub runs (nor is libxenlight below): must stay out.
            Map.entry("libxenhypfs1", Map.of("libxenhypfs.so.1", List.of("libxencall.so.1", "libz.so.1"))),
            Map.entry("libxenmisc4.17", Map.of(
                    "libxenctrl.so.4.17", List.of("libxentoollog.so.1", "libxenevtchn.so.1", "libxengnttab.so.1",
                            "libxencall.so.1", "libxenforeignmemory.so.1", "libxendevicemodel.so.1"),
                    "libxenvchan.so.4.17", List.of("libxentoollog.so.1", "libxenstore.so.4", "libxengnttab.so.1",
                            "libxenevtchn.so.1"),
                    "libxenlight.so.4.17", List.of("libxenctrl.so.4.17", "libxenstore.so.4"))));
    /**
     * Fewer than the real proxy needs, on purpose: libxenctrl, libxendevicemodel and libxenforeignmemory then come
     * into the image only as libraries JNA opens by name, which the test can thus tell apart.
     */
    static final List<String> VCHAN_PROXY_NEEDS = List.of("libxenvchan.so.4.17", "libc.so.6");

    /** The time every entry of the {@link #standardImage()} carries. */
    static final long MTIME = 1_700_000_000L;

    final Path debs;
    final Path jars;
    private final Set<String> omitted = new HashSet<>();
    private final Map<String, String> extraNeeded = new LinkedHashMap<>();

    StubdomFixture(Path directory) {
        this.debs = directory.resolve("debs");
        this.jars = directory.resolve("jars");
    }

    /** Skips the calling test where this machine lacks what the fixture copies: the libraries, a JDK with jmods. */
    static void assumeMachineFits() {
        for (String soname : SYSTEM_SONAMES) {
            assumeTrue(Files.isRegularFile(SYSTEM_LIBRARIES.resolve(soname)), "no " + SYSTEM_LIBRARIES + "/" + soname);
        }
        assumeTrue(Files.isDirectory(JDK.resolve("jmods")), JDK + " has no jmods/ (openjdk-17-jmods)");
        assumeTrue(Files.isExecutable(JDK.resolve("bin/jlink")), JDK + " has no bin/jlink");
    }

    /** The fixture written and built once per test JVM with {@link #MTIME}, and the image read back. */
    record Built(StubdomFixture fixture, StubdomImageBuilder.Result result, Rootfs rootfs) {
    }

    private static Built standard;

    /**
     * The fixture and its image, made on first use and shared by the builder's and the command's tests: a build
     * costs a jlink (seconds), and most checks only read the one image. Deleted when the JVM exits.
     */
    static synchronized Built standardImage() throws IOException {
        assumeMachineFits();
        if (standard == null) {
            Path dir = Files.createTempDirectory("stubdm-image-test");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            StubdomFixture fixture = new StubdomFixture(dir.resolve("fixture")).write();
            StubdomImageBuilder.Result result = StubdomImageBuilder.build(fixture.inputs(MTIME), dir.resolve("out"));
            standard = new Built(fixture, result, Rootfs.read(result.rootfs()));
        }
        return standard;
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a temporary directory left behind is no reason to fail the build
        }
    }

    /** Leaves the package out of the directory. */
    StubdomFixture without(String packageName) {
        omitted.add(packageName);
        return this;
    }

    /** Adds a DT_NEEDED entry to one of the Xen libraries. */
    StubdomFixture withNeeded(String soname, String needed) {
        extraNeeded.put(soname, needed);
        return this;
    }

    StubdomImageBuilder.Inputs inputs(long mtime) {
        return new StubdomImageBuilder.Inputs(debs, jars, JDK, Optional.empty(), mtime);
    }

    StubdomFixture write() throws IOException {
        Files.createDirectories(debs);
        Files.createDirectories(jars);
        systemLibraries();
        xenLibraries();
        write("busybox-static", BUSYBOX_VERSION, List.of(
                Member.file("./bin/busybox", 0755, TestElf.staticExecutable())));
        write(StubdomImageBuilder.XEN_UTILS_PACKAGE, XEN_VERSION, List.of(
                Member.file("./" + StubdomImageBuilder.VCHAN_PROXY, 0755,
                        TestElf.executable("/lib64/" + LOADER, VCHAN_PROXY_NEEDS))));
        kernel();
        jars();
        return this;
    }

    /** Laid out as bookworm's packages do: libc6 in /lib with a /lib64 link to the loader, libstdc++ in /usr/lib. */
    private void systemLibraries() throws IOException {
        write("libc6", LIBC_VERSION, List.of(
                Member.directory("./lib/"), Member.directory("./" + MULTIARCH),
                system(MULTIARCH, "libc.so.6"), system(MULTIARCH, "libm.so.6"), system(MULTIARCH, LOADER),
                Member.file("./" + MULTIARCH + UNNEEDED_LIBC_LIBRARY, 0644,
                        TestElf.sharedObject(UNNEEDED_LIBC_LIBRARY, List.of("libc.so.6"))),
                Member.directory("./lib64/"),
                Member.symlink("./lib64/" + LOADER, "/" + MULTIARCH + LOADER),
                Member.file("./usr/share/doc/libc6/copyright", 0644, "not a library\n")));
        write("libgcc-s1", "12.2.0-14+deb12u1", List.of(system(MULTIARCH, "libgcc_s.so.1")));
        write("libstdc++6", "12.2.0-14+deb12u1", versioned(USR_MULTIARCH, "libstdc++.so.6"));
        write("zlib1g", ZLIB_VERSION, versioned(MULTIARCH, "libz.so.1"));
    }

    /** The soname as a link to the versioned file, as on this machine (and in the .deb). */
    private static List<Member> versioned(String dir, String soname) throws IOException {
        Path real = SYSTEM_LIBRARIES.resolve(soname).toRealPath();
        String file = real.getFileName().toString();
        if (file.equals(soname)) {
            return List.of(system(dir, soname));
        }
        return List.of(Member.symlink("./" + dir + soname, file),
                Member.file("./" + dir + file, 0644, Files.readAllBytes(real)));
    }

    private static Member system(String dir, String name) throws IOException {
        return Member.file("./" + dir + name, 0644, Files.readAllBytes(SYSTEM_LIBRARIES.resolve(name)));
    }

    private void xenLibraries() throws IOException {
        for (Map.Entry<String, Map<String, List<String>>> pkg : new TreeMap<>(XEN_LIBRARIES).entrySet()) {
            List<Member> members = new ArrayList<>();
            for (Map.Entry<String, List<String>> lib : new TreeMap<>(pkg.getValue()).entrySet()) {
                String soname = lib.getKey();
                List<String> needed = new ArrayList<>(lib.getValue());
                if (extraNeeded.containsKey(soname)) {
                    needed.add(extraNeeded.get(soname));
                }
                needed.add("libc.so.6");
                members.add(Member.symlink("./" + USR_MULTIARCH + soname, soname + ".0"));
                members.add(Member.file("./" + USR_MULTIARCH + soname + ".0", 0644,
                        TestElf.sharedObject(soname, needed)));
            }
            write(pkg.getKey(), XEN_VERSION, members);
        }
        // An older download beside the newer one: the newer must win.
        write("libxentoollog1", OLD_XEN_VERSION, List.of(Member.symlink("./" + USR_MULTIARCH + "libxentoollog.so.1",
                "nowhere")));
    }

    private void kernel() throws IOException {
        List<Member> members = new ArrayList<>();
        members.add(Member.file("./boot/vmlinuz-" + KVER, 0644, VMLINUZ));
        for (Map.Entry<String, String> module : MODULES.entrySet()) {
            members.add(Member.file("./lib/modules/" + KVER + "/" + module.getKey(), 0644, TestElf.kernelModule(
                    "license=GPL\0depends=" + module.getValue() + "\0vermagic=" + KVER + " SMP mod_unload\0")));
        }
        members.add(Member.file("./lib/modules/" + KVER + "/modules.builtin", 0644, "kernel/fs/ext2/ext2.ko\n"));
        write(KERNEL_PACKAGE, KERNEL_VERSION, members);
        // Neither the metapackage nor an unsigned build is the kernel to take.
        write("linux-image-amd64", "6.1.999-9", List.of(Member.directory("./usr/")));
        write("linux-image-" + KVER + "-unsigned", "6.1.999-9", List.of(Member.directory("./usr/")));
    }

    /** stubdm's jar (any bytes: it is only copied), the real JNA jar, and jars the stub must not carry. */
    private void jars() throws IOException {
        Files.writeString(jars.resolve("stubdom-runtime-0.1.0.jar"), "not really a jar");
        Files.copy(jnaJar(), jars.resolve("jna-5.17.0.jar"));
        for (String excluded : List.of("commons-io-2.16.1.jar", "commons-lang3-3.14.0.jar", "commons-codec-1.17.0.jar")) {
            Files.writeString(jars.resolve(excluded), "excluded");
        }
        Files.writeString(jars.resolve("README"), "not a jar at all");
    }

    private static Path jnaJar() throws IOException {
        try {
            Path jar = Path.of(Class.forName("com.sun.jna.Native").getProtectionDomain().getCodeSource().getLocation()
                    .toURI());
            assumeTrue(Files.isRegularFile(jar), "JNA is not on the test class path as a jar");
            return jar;
        } catch (ClassNotFoundException | URISyntaxException e) {
            throw new IOException("no JNA on the test class path", e);
        }
    }

    private void write(String name, String version, List<Member> data) throws IOException {
        if (!omitted.contains(name)) {
            TestDebs.writePackage(debs, name, version, data);
        }
    }

    /** An initramfs read back: entries and contents by path, in archive order. */
    record Rootfs(Map<String, CpioArchiveEntry> entries, Map<String, byte[]> contents) {

        static Rootfs read(Path rootfs) throws IOException {
            Map<String, CpioArchiveEntry> entries = new LinkedHashMap<>();
            Map<String, byte[]> contents = new LinkedHashMap<>();
            try (InputStream file = Files.newInputStream(rootfs);
                    CpioArchiveInputStream cpio = new CpioArchiveInputStream(new GzipCompressorInputStream(file))) {
                for (CpioArchiveEntry entry; (entry = cpio.getNextEntry()) != null; ) {
                    entries.put(entry.getName(), entry);
                    contents.put(entry.getName(), cpio.readAllBytes());
                }
            }
            return new Rootfs(entries, contents);
        }

        String text(String path) {
            byte[] bytes = contents.get(path);
            if (bytes == null) {
                throw new AssertionError("no " + path + " in the rootfs");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
