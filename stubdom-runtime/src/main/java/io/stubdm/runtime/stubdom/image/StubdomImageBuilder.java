package io.stubdm.runtime.stubdom.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Builds the two files libxl boots a Linux stub domain from (xen-dm-protocol.md §4.1): {@code
 * qemu-stubdom-linux-kernel}, Debian's kernel as it is (it runs as a PV guest), and {@code
 * qemu-stubdom-linux-rootfs}, an initramfs holding what stubdm needs there and nothing else:
 * <ul>
 *   <li>busybox (the init's shell, mount, insmod, ip, brctl), from busybox-static;</li>
 *   <li>the kernel modules of the PV frontends and of the device model's devices (blkfront, netfront, evtchn,
 *       gntdev, gntalloc, privcmd, xenfs, tun, bridge), with their dependencies from the kernel's modules.dep;</li>
 *   <li>a Java runtime made by jlink from the building JDK's jmods, with only the modules stubdm uses;</li>
 *   <li>stubdm's jars and JNA's native part;</li>
 *   <li>Xen's vchan-socket-proxy, which carries QMP between the stub domain and libxl;</li>
 *   <li>the shared libraries all of these load, taken from Debian's packages by following every ELF file's
 *       DT_NEEDED entries, plus the ones JNA opens by name; a library no package provides fails the build.</li>
 * </ul>
 * Every file comes out of a .deb read directly (no dpkg, no root, no chroot), the archive is written in a fixed order
 * with fixed owners and times, and so the same inputs give the same bytes.
 */
public final class StubdomImageBuilder {
    public static final String KERNEL_FILE = "qemu-stubdom-linux-kernel";
    public static final String ROOTFS_FILE = "qemu-stubdom-linux-rootfs";
    public static final String MANIFEST_FILE = "qemu-stubdom-linux-rootfs.manifest";

    /** Debian packages whose shared libraries may go into the image (only those something needs do). */
    static final List<String> LIBRARY_PACKAGES = List.of("libc6", "libgcc-s1", "libstdc++6", "zlib1g",
            "libxencall1", "libxendevicemodel1", "libxenevtchn1", "libxenforeignmemory1", "libxengnttab1",
            "libxenhypfs1", "libxenstore4", "libxentoolcore1", "libxentoollog1", "libxenmisc4.17");
    static final String BUSYBOX_PACKAGE = "busybox-static";
    /** The busybox applets the init uses, and a few for looking around from the console. */
    static final List<String> BUSYBOX_APPLETS = List.of("sh", "mount", "umount", "mkdir", "insmod", "lsmod", "ip",
            "brctl", "stty", "sleep", "cat", "echo", "cut", "sed", "grep", "ls", "ps", "free", "dmesg", "uname", "sync",
            "poweroff", "kill");
    static final String XEN_UTILS_PACKAGE = "xen-utils-4.17";
    static final String VCHAN_PROXY = "usr/lib/xen-4.17/bin/vchan-socket-proxy";
    /** Libraries stubdm opens through JNA by name (hypervisor/xen/XenLibs): no DT_NEEDED points at them. */
    static final List<String> JNA_LIBRARIES = List.of("libxendevicemodel.so.1", "libxenforeignmemory.so.1",
            "libxenevtchn.so.1", "libxenstore.so.4", "libxenctrl.so.4.17", "libxengnttab.so.1", "libc.so.6");
    /** Kernel modules the stub domain loads, by name; dependencies are added from modules.dep. */
    static final List<String> MODULES = List.of("xen-evtchn", "xen-gntdev", "xen-gntalloc", "xen-privcmd", "xenfs",
            "tun", "xen-blkfront", "xen-netfront", "bridge");
    /**
     * The modules stubdm needs before its JVM starts (the Xen device files it opens first). The init loads these,
     * starts stubdm, and loads the rest while the JVM starts up: libxl gives a stub domain 30 seconds from unpause to
     * {@code running}.
     */
    /**
     * Module parameters. Since XSA-482, Linux's privcmd in a domU restricts every handle to the domain named by its
     * xenstore {@code target} node, and refuses all hypercalls when it finds none; in the lab the stub domain's
     * first dm_op on its own target failed with EPERM. {@code unrestricted=1} (honoured when the kernel is not
     * locked down, as a PV stub domain's is not) lifts that, as Qubes does for its stub domains; stubdm then
     * restricts its own Xen handles to the guest once the device model is up (XenHypervisor.restrictTo).
     */
    static final Map<String, String> MODULE_PARAMETERS = Map.of("xen-privcmd", "unrestricted=1");
    static final List<String> EARLY_MODULES = List.of("xen-evtchn", "xen-gntdev", "xen-gntalloc", "xen-privcmd",
            "xenfs");
    /**
     * The JDK modules stubdm needs (jdeps --print-module-deps of its jars, less java.desktop: only the PNG screendump
     * uses it, and in a stub domain 20 MiB of memory buy more than one picture format). java.management is for the
     * JVM's own metrics (heap, GC, threads).
     */
    static final List<String> JAVA_MODULES = List.of("java.base", "java.logging", "java.management", "jdk.unsupported");
    /**
     * Jars that only the image builder's archive code reaches (commons-compress's own dependencies): stubdm's
     * self-test, a whole device-model start, runs without them. commons-compress and xz stay, for compressed disk
     * images.
     */
    static final List<String> STUB_EXCLUDED_JARS = List.of("commons-io-", "commons-lang3-", "commons-codec-",
            "guest-tests-");
    static final String JAVA_HOME_IN_IMAGE = "usr/lib/stubdm/java";
    static final String JARS_IN_IMAGE = "usr/lib/stubdm/lib";
    static final String JNA_IN_IMAGE = "usr/lib/stubdm/jna";
    /**
     * The device model's JVM in a stub domain: the same small-footprint settings as in Dom0 (bin/stubdm), a smaller
     * heap, no perf-data file, and JNA's native part from the image rather than unpacked into /tmp.
     */
    static final String JAVA_OPTS = "-XX:+UseSerialGC -Xms8m -Xmx48m -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 "
            + "-XX:ReservedCodeCacheSize=16m -XX:MaxMetaspaceSize=48m -Xss512k -XX:-UsePerfData -Xshare:auto "
            // The image's jars are stubdm's own, read-only: verifying their bytecode at each start costs a quarter of
            // the start-up, which counts against libxl's 30 seconds.
            + "-XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote "
            + "-Djna.nosys=true -Djna.nounpack=true -Djna.boot.library.path=/" + JNA_IN_IMAGE;

    /** What to build from. */
    public record Inputs(Path debDirectory, Path jarDirectory, Path jdkHome, Optional<String> kernelPackage,
            long mtimeSeconds) {
    }

    /** What was built. */
    public record Result(Path kernel, Path rootfs, Path manifest, long rootfsBytes, long rootfsUnpackedBytes,
            int entries, String rootfsSha256) {
    }

    private final Inputs inputs;
    private final ReproducibleInitramfs image;
    private final Map<String, String> packageVersions = new TreeMap<>();
    private final List<String> notes = new ArrayList<>();

    private StubdomImageBuilder(Inputs inputs) {
        this.inputs = inputs;
        this.image = new ReproducibleInitramfs(inputs.mtimeSeconds());
    }

    /** Builds both files into {@code outputDirectory} (created if missing), each written whole, then moved in. */
    public static Result build(Inputs inputs, Path outputDirectory) throws IOException {
        return new StubdomImageBuilder(inputs).run(outputDirectory);
    }

    private Result run(Path out) throws IOException {
        Files.createDirectories(out);
        DebPackage kernelDeb = DebPackage.open(PackageDirectory.find(inputs.debDirectory(), kernelPackageName()));
        record(kernelDeb);
        String kver = kernelDeb.name().substring("linux-image-".length());
        String vmlinuz = "boot/vmlinuz-" + kver;
        byte[] kernel = kernelDeb.read(List.of(vmlinuz)).get(vmlinuz);

        skeleton();
        modules(kernelDeb, kver);
        DebPackage busybox = open(BUSYBOX_PACKAGE);
        image.file("usr/bin/busybox", 0755, busybox.read(List.of("bin/busybox")).get("bin/busybox"));
        for (String applet : BUSYBOX_APPLETS) {
            image.symlink("usr/bin/" + applet, "busybox");
        }
        DebPackage xenUtils = open(XEN_UTILS_PACKAGE);
        Map<String, byte[]> elves = new TreeMap<>();
        byte[] proxy = xenUtils.read(List.of(VCHAN_PROXY)).get(VCHAN_PROXY);
        image.file(VCHAN_PROXY, 0755, proxy);
        elves.put(VCHAN_PROXY, proxy);
        elves.putAll(javaRuntime());
        elves.putAll(stubdmJars());
        libraries(elves);
        configuration(kver);

        Path kernelOut = out.resolve(KERNEL_FILE);
        writeAtomically(kernelOut, o -> o.write(kernel));
        Path rootfsOut = out.resolve(ROOTFS_FILE);
        writeAtomically(rootfsOut, image::writeTo);
        String sha = sha256(rootfsOut);
        Path manifestOut = out.resolve(MANIFEST_FILE);
        String manifest = manifest(sha, Files.size(rootfsOut));
        writeAtomically(manifestOut, o -> o.write(manifest.getBytes(StandardCharsets.UTF_8)));
        return new Result(kernelOut, rootfsOut, manifestOut, Files.size(rootfsOut), image.uncompressedSize(),
                image.size(), sha);
    }

    private String kernelPackageName() throws IOException {
        if (inputs.kernelPackage().isPresent()) {
            return inputs.kernelPackage().get();
        }
        // The newest linux-image-<version>-amd64 in the directory (not the linux-image-amd64 metapackage, which
        // holds no kernel, nor -dbg or -unsigned builds).
        return PackageDirectory.newestMatching(inputs.debDirectory(), "linux-image-[0-9].*-amd64")
                .orElseThrow(() -> new IOException("no linux-image-<version>-amd64 .deb in " + inputs.debDirectory()
                        + " (stubdm stubdom-image --fetch downloads it)"));
    }

    private DebPackage open(String name) throws IOException {
        DebPackage deb = DebPackage.open(PackageDirectory.find(inputs.debDirectory(), name));
        record(deb);
        return deb;
    }

    private void record(DebPackage deb) {
        packageVersions.put(deb.name(), deb.version());
    }

    /** Directories and links every Linux userland expects, merged-/usr as in Debian bookworm. */
    private void skeleton() {
        for (String dir : List.of("dev", "proc", "sys", "run", "tmp", "root", "etc", "usr/bin", "usr/sbin",
                "usr/lib", "usr/lib64", "var/log")) {
            image.directory(dir, dir.equals("tmp") ? 01777 : 0755);
        }
        image.symlink("bin", "usr/bin");
        image.symlink("sbin", "usr/sbin");
        image.symlink("lib", "usr/lib");
        image.symlink("lib64", "usr/lib64");
        // The kernel opens /dev/console for init's stdio before anything can mount devtmpfs.
        image.charDevice("dev/console", 0600, 5, 1);
        image.file("init", 0755, resource("init"));
    }

    /**
     * The wanted modules and their dependencies, dependencies first, as modprobe would load them. The kernel .deb is
     * large (70 MB of xz, seconds per pass), so modules are read a dependency level at a time.
     */
    private void modules(DebPackage kernelDeb, String kver) throws IOException {
        String base = "lib/modules/" + kver + "/";
        List<String> all = new ArrayList<>();
        for (DebEntry entry : kernelDeb.entries().values()) {
            if (entry.path().startsWith(base) && entry.type() == DebEntry.Type.FILE) {
                if (entry.path().endsWith(".ko.xz") || entry.path().endsWith(".ko.zst") || entry.path().endsWith(".ko.gz")) {
                    throw new IOException(kernelDeb.name() + " has compressed modules (" + entry.path()
                            + "): busybox's insmod in the stub domain loads plain .ko files only");
                }
                if (entry.path().endsWith(".ko")) {
                    all.add(entry.path());
                }
            }
        }
        ModuleGraph graph = new ModuleGraph(all);
        Map<String, byte[]> files = new TreeMap<>();
        Set<String> toRead = new TreeSet<>();
        for (String name : MODULES) {
            toRead.add(graph.path(name));
        }
        while (!toRead.isEmpty()) {
            Map<String, byte[]> read = kernelDeb.read(toRead);
            files.putAll(read);
            toRead = new TreeSet<>();
            for (Map.Entry<String, byte[]> e : read.entrySet()) {
                for (String dep : graph.add(e.getKey(), e.getValue())) {
                    if (!files.containsKey(dep)) {
                        toRead.add(dep);
                    }
                }
            }
        }
        List<String> early = new ArrayList<>();
        for (String path : graph.loadOrder(EARLY_MODULES)) {
            early.add(withParameters(path.substring(base.length())));
        }
        List<String> late = new ArrayList<>();
        for (String path : graph.loadOrder(MODULES)) {
            image.file("usr/" + path, 0644, files.get(path));
            String line = withParameters(path.substring(base.length()));
            if (!early.contains(line)) {
                late.add(line);
            }
        }
        image.file("etc/stubdm/modules.early", 0644, (String.join("\n", early) + "\n").getBytes(StandardCharsets.UTF_8));
        image.file("etc/stubdm/modules.late", 0644, (String.join("\n", late) + "\n").getBytes(StandardCharsets.UTF_8));
        notes.add("kernel modules (load order): " + String.join(" ", early) + " | " + String.join(" ", late));
    }

    /** A line of the init's module list: the module's path, then its parameters if it has any. */
    private static String withParameters(String relativePath) {
        String file = relativePath.substring(relativePath.lastIndexOf('/') + 1);
        String name = file.endsWith(".ko") ? file.substring(0, file.length() - 3) : file;
        String parameters = MODULE_PARAMETERS.get(name);
        return parameters == null ? relativePath : relativePath + " " + parameters;
    }

    /** jlink's runtime from the JDK's jmods; returns its ELF files by image path, for the library search. */
    private Map<String, byte[]> javaRuntime() throws IOException {
        Path jdk = inputs.jdkHome();
        Path jlink = jdk.resolve("bin/jlink");
        Path jmods = jdk.resolve("jmods");
        if (!Files.isExecutable(jlink) || !Files.isDirectory(jmods)) {
            throw new IOException(jdk + " is not a JDK with jmods (bin/jlink and jmods/ are needed; on Debian: "
                    + "apt-get install openjdk-17-jdk-headless openjdk-17-jmods), give another with --jdk");
        }
        Path work = Files.createTempDirectory("stubdm-jlink");
        Path runtime = work.resolve("java");
        try {
            List<String> command = List.of(jlink.toString(), "--module-path", jmods.toString(), "--add-modules",
                    String.join(",", JAVA_MODULES), "--strip-debug", "--no-header-files", "--no-man-pages",
                    "--compress=2", "--output", runtime.toString());
            run(command);
            // Debian's libjvm.so keeps its symbol table (4 MiB of 24), and in a stub domain every file is memory:
            // objcopy --strip-unneeded keeps only what dynamic linking uses (and gives the same bytes each time).
            boolean strip = onPath("objcopy");
            if (!strip) {
                notes.add("no objcopy (binutils) on the building machine: the runtime's native symbols are kept");
            }
            Map<String, byte[]> elves = new TreeMap<>();
            List<Path> files;
            try (Stream<Path> walk = Files.walk(runtime)) {
                files = walk.sorted().toList();
            }
            for (Path file : files) {
                String rel = runtime.relativize(file).toString();
                if (rel.isEmpty()) {
                    continue;
                }
                String inImage = JAVA_HOME_IN_IMAGE + "/" + rel;
                if (Files.isSymbolicLink(file)) {
                    image.symlink(inImage, Files.readSymbolicLink(file).toString());
                } else if (Files.isDirectory(file)) {
                    image.directory(inImage, 0755);
                } else {
                    byte[] bytes = Files.readAllBytes(file);
                    if (ElfDependencies.read(bytes).isPresent()) {
                        if (strip) {
                            Path stripped = work.resolve("stripped");
                            run(List.of("objcopy", "--strip-unneeded", file.toString(), stripped.toString()));
                            bytes = Files.readAllBytes(stripped);
                            Files.delete(stripped);
                        }
                        elves.put(inImage, bytes);
                    }
                    image.file(inImage, Files.isExecutable(file) ? 0755 : 0644, bytes);
                }
            }
            notes.add("java runtime: jlink of " + String.join(",", JAVA_MODULES) + " from " + jdk + " ("
                    + javaVersion(runtime) + ")");
            return elves;
        } finally {
            deleteTree(work);
        }
    }

    /** stubdm's jars, and JNA's native dispatcher taken out of its jar (JNA would unpack it into /tmp at each start). */
    private Map<String, byte[]> stubdmJars() throws IOException {
        Map<String, byte[]> elves = new TreeMap<>();
        List<Path> jars;
        try (Stream<Path> list = Files.list(inputs.jarDirectory())) {
            jars = list.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList();
        }
        if (jars.stream().noneMatch(p -> p.getFileName().toString().startsWith("stubdom-runtime-"))) {
            throw new IOException(inputs.jarDirectory() + " holds no stubdom-runtime jar: give stubdm's lib directory "
                    + "with --jars");
        }
        boolean jna = false;
        for (Path jar : jars) {
            String name = jar.getFileName().toString();
            if (STUB_EXCLUDED_JARS.stream().anyMatch(name::startsWith)) {
                continue;
            }
            image.file(JARS_IN_IMAGE + "/" + jar.getFileName(), 0644, Files.readAllBytes(jar));
            if (jar.getFileName().toString().startsWith("jna-")) {
                try (ZipFile zip = new ZipFile(jar.toFile())) {
                    ZipEntry entry = zip.getEntry("com/sun/jna/linux-x86-64/libjnidispatch.so");
                    if (entry == null) {
                        throw new IOException(jar + " has no com/sun/jna/linux-x86-64/libjnidispatch.so");
                    }
                    byte[] bytes;
                    try (InputStream in = zip.getInputStream(entry)) {
                        bytes = in.readAllBytes();
                    }
                    image.file(JNA_IN_IMAGE + "/libjnidispatch.so", 0755, bytes);
                    elves.put(JNA_IN_IMAGE + "/libjnidispatch.so", bytes);
                    jna = true;
                }
            }
        }
        if (!jna) {
            throw new IOException(inputs.jarDirectory() + " holds no jna-*.jar");
        }
        return elves;
    }

    /**
     * Adds every shared library the given ELF files need, transitively, plus the ones JNA opens by name, from the
     * library packages. The Java runtime's own libraries (found through its $ORIGIN run path) count as provided.
     */
    private void libraries(Map<String, byte[]> roots) throws IOException {
        // soname (or file name) -> where it is in its package, and which package
        Map<String, LibraryFile> pool = new HashMap<>();
        Map<String, LibraryFile> byPath = new HashMap<>();
        Map<String, DebPackage> debs = new LinkedHashMap<>();
        for (String name : LIBRARY_PACKAGES) {
            DebPackage deb = open(name);
            debs.put(name, deb);
            for (DebEntry entry : deb.entries().values()) {
                String path = entry.path();
                String file = path.substring(path.lastIndexOf('/') + 1);
                boolean libDir = path.startsWith("lib/x86_64-linux-gnu/") && path.indexOf('/', 21) < 0
                        || path.startsWith("usr/lib/x86_64-linux-gnu/") && path.indexOf('/', 25) < 0
                        || path.startsWith("lib64/") && path.indexOf('/', 6) < 0;
                if (libDir && (file.contains(".so") || file.startsWith("ld-linux"))
                        && entry.type() != DebEntry.Type.DIRECTORY) {
                    // The multiarch directory first: lib64/ holds only a link to the loader there.
                    LibraryFile found = new LibraryFile(name, entry);
                    byPath.put(path, found);
                    if (!path.startsWith("lib64/")) {
                        pool.putIfAbsent(file, found);
                    }
                }
            }
        }
        Set<String> provided = new TreeSet<>();
        for (String path : roots.keySet()) {
            provided.add(path.substring(path.lastIndexOf('/') + 1));
        }
        Map<String, List<String>> neededBy = new TreeMap<>();
        Deque<Map.Entry<String, byte[]>> todo = new ArrayDeque<>(roots.entrySet());
        Set<String> chosen = new TreeSet<>();
        Set<String> interpreters = new TreeSet<>();
        for (String lib : JNA_LIBRARIES) {
            neededBy.computeIfAbsent(lib, k -> new ArrayList<>()).add("JNA (stubdm's hypervisor module)");
        }
        List<String> wanted = new ArrayList<>(JNA_LIBRARIES);
        while (true) {
            while (!todo.isEmpty()) {
                Map.Entry<String, byte[]> next = todo.pop();
                ElfDependencies deps = ElfDependencies.read(next.getValue()).orElseThrow();
                if (deps.interpreter() != null) {
                    interpreters.add(deps.interpreter());
                }
                for (String needed : deps.needed()) {
                    neededBy.computeIfAbsent(needed, k -> new ArrayList<>()).add(next.getKey());
                    wanted.add(needed);
                }
            }
            if (wanted.isEmpty()) {
                break;
            }
            Map<String, LibraryFile> batch = new TreeMap<>();
            for (String lib : wanted) {
                if (provided.contains(lib) || chosen.contains(lib)) {
                    continue;
                }
                LibraryFile found = pool.get(lib);
                if (found == null) {
                    throw new IOException(lib + ", needed by " + neededBy.get(lib) + ", is in none of the packages "
                            + LIBRARY_PACKAGES);
                }
                chosen.add(lib);
                batch.put(lib, found);
            }
            wanted.clear();
            // Read each package once per round; a soname is usually a symlink to the versioned file.
            Map<String, Map<String, String>> filesByPackage = new TreeMap<>();
            for (Map.Entry<String, LibraryFile> e : batch.entrySet()) {
                DebEntry entry = e.getValue().entry();
                String dir = entry.path().substring(0, entry.path().lastIndexOf('/') + 1);
                String target = entry.path();
                if (entry.type() == DebEntry.Type.SYMLINK) {
                    image.symlink(inUsr(entry.path()), entry.linkTarget());
                    target = entry.linkTarget().startsWith("/") ? entry.linkTarget().substring(1)
                            : dir + entry.linkTarget();
                }
                filesByPackage.computeIfAbsent(e.getValue().packageName(), k -> new TreeMap<>()).put(target, e.getKey());
            }
            for (Map.Entry<String, Map<String, String>> e : filesByPackage.entrySet()) {
                Map<String, byte[]> contents = debs.get(e.getKey()).read(e.getValue().keySet());
                for (Map.Entry<String, byte[]> file : contents.entrySet()) {
                    String inImage = inUsr(file.getKey());
                    image.file(inImage, 0755, file.getValue());
                    if (ElfDependencies.read(file.getValue()).isPresent()) {
                        todo.push(Map.entry(inImage, file.getValue()));
                    }
                }
            }
            if (todo.isEmpty()) {
                break;
            }
        }
        // The program interpreter is opened by its path (PT_INTERP), not found by soname: /lib64/ld-linux-x86-64.so.2
        // is libc6's link to the loader in /lib/x86_64-linux-gnu, and both must be there.
        for (String interpreter : interpreters) {
            String rel = interpreter.startsWith("/") ? interpreter.substring(1) : interpreter;
            LibraryFile link = byPath.get(rel);
            if (link == null) {
                throw new IOException("the program interpreter " + interpreter + " is in none of the packages "
                        + LIBRARY_PACKAGES);
            }
            if (link.entry().type() == DebEntry.Type.SYMLINK) {
                image.symlink(inUsr(rel), link.entry().linkTarget());
                String target = link.entry().linkTarget();
                target = target.startsWith("/") ? target.substring(1)
                        : rel.substring(0, rel.lastIndexOf('/') + 1) + target;
                if (!image.listing().containsKey(inUsr(target))) {
                    throw new IOException("the program interpreter " + interpreter + " points at " + target
                            + ", which no needed library brought in");
                }
            } else if (!image.listing().containsKey(inUsr(rel))) {
                image.file(inUsr(rel), 0755, debs.get(link.packageName()).read(List.of(rel)).get(rel));
            }
        }
        notes.add("shared libraries: " + String.join(" ", chosen));
    }

    /** bookworm's packages still ship /lib and /lib64 paths; the image is merged-/usr like an installed system. */
    private static String inUsr(String path) {
        for (String top : List.of("lib/", "lib64/", "bin/", "sbin/")) {
            if (path.startsWith(top)) {
                return "usr/" + path;
            }
        }
        return path;
    }

    private void configuration(String kver) {
        String env = "STUBDM_JAVA=/" + JAVA_HOME_IN_IMAGE + "/bin/java\n"
                + "STUBDM_JAVA_OPTS='" + JAVA_OPTS + "'\n"
                + "STUBDM_CLASSPATH='/" + JARS_IN_IMAGE + "/*'\n";
        image.file("etc/stubdm/java.env", 0644, env.getBytes(StandardCharsets.UTF_8));
        StringBuilder versions = new StringBuilder();
        packageVersions.forEach((name, version) -> versions.append(name).append(' ').append(version).append('\n'));
        versions.append("kernel ").append(kver).append('\n');
        image.file("etc/stubdm/packages", 0644, versions.toString().getBytes(StandardCharsets.UTF_8));
    }

    private String manifest(String sha, long bytes) {
        StringBuilder m = new StringBuilder();
        m.append("# stubdm stub-domain rootfs: ").append(ROOTFS_FILE).append('\n');
        m.append("sha256 ").append(sha).append('\n');
        m.append("bytes ").append(bytes).append(" (gzip), ").append(image.uncompressedSize()).append(" unpacked, ")
                .append(image.size()).append(" entries\n");
        packageVersions.forEach((name, version) -> m.append("package ").append(name).append(' ').append(version).append('\n'));
        notes.forEach(n -> m.append("# ").append(n).append('\n'));
        image.listing().forEach((path, what) -> m.append(path).append("  ").append(what).append('\n'));
        return m.toString();
    }

    private static String javaVersion(Path runtime) throws IOException {
        Path release = runtime.resolve("release");
        if (!Files.exists(release)) {
            return "no release file";
        }
        for (String line : Files.readAllLines(release)) {
            if (line.startsWith("JAVA_VERSION=")) {
                return "Java " + line.substring("JAVA_VERSION=".length()).replace("\"", "");
            }
        }
        return "unknown version";
    }

    private static byte[] resource(String name) {
        try (InputStream in = StubdomImageBuilder.class.getResourceAsStream("/io/stubdm/runtime/stubdom/" + name)) {
            if (in == null) {
                throw new IllegalStateException("the stubdm jar lacks io/stubdm/runtime/stubdom/" + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    static void run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(output);
        }
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " failed: " + output.toString(StandardCharsets.UTF_8).trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command));
        }
    }

    interface Writer {
        void write(OutputStream out) throws IOException;
    }

    private static void writeAtomically(Path target, Writer writer) throws IOException {
        Path temporary = target.resolveSibling("." + target.getFileName() + ".part");
        try (OutputStream out = Files.newOutputStream(temporary)) {
            writer.write(out);
        }
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String sha256(Path file) throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buffer = new byte[1 << 16];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    digest.update(buffer, 0, n);
                }
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private record LibraryFile(String packageName, DebEntry entry) {
    }
}
