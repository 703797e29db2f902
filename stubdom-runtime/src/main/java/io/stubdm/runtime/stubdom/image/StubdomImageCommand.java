package io.stubdm.runtime.stubdom.image;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code stubdm stubdom-image} and {@code stubdm stubdom-install}: build the stub domain's kernel and rootfs, and put
 * them where libxl looks when an xl config says {@code device_model_stubdomain_override=1} without naming files.
 */
public final class StubdomImageCommand {
    /** Debian's XENFIRMWAREDIR, libxl's default directory for stubdomain_kernel and stubdomain_ramdisk. */
    public static final Path XEN_BOOT = Path.of("/usr/lib/xen-4.17/boot");

    private StubdomImageCommand() {
    }

    public static void usage(PrintStream out) {
        out.println("usage: stubdm stubdom-image [--debs DIR] [--fetch] [--out DIR] [--jdk JAVA_HOME] [--jars DIR]");
        out.println("                            [--kernel-package NAME] [--mtime SECONDS]");
        out.println("         builds " + StubdomImageBuilder.KERNEL_FILE + " and " + StubdomImageBuilder.ROOTFS_FILE
                + " (default --out .) from Debian's .deb files in --debs (default ./stubdom-debs);");
        out.println("         --fetch first runs apt-get download for the packages missing there. Same inputs, same bytes:");
        out.println("         every file gets --mtime (default $SOURCE_DATE_EPOCH, else 0) and owner root.");
        out.println("       stubdm stubdom-install [--from DIR] [--to DIR]");
        out.println("         copies both files from --from (default .) to --to (default " + XEN_BOOT + "), where libxl");
        out.println("         looks for them by default.");
    }

    public static int image(List<String> args, PrintStream out, PrintStream err) {
        Path debs = Path.of("stubdom-debs");
        Path outDir = Path.of(".");
        Path jdk = Path.of(System.getProperty("java.home"));
        Path jars = null;
        Optional<String> kernel = Optional.empty();
        boolean fetch = false;
        String epoch = System.getenv("SOURCE_DATE_EPOCH");
        long mtime;
        try {
            mtime = epoch == null || epoch.isBlank() ? 0 : seconds(epoch, "SOURCE_DATE_EPOCH");
            for (int i = 1; i < args.size(); i++) {
                String a = args.get(i);
                switch (a) {
                    case "--fetch" -> fetch = true;
                    case "--debs" -> debs = Path.of(value(args, ++i, a));
                    case "--out" -> outDir = Path.of(value(args, ++i, a));
                    case "--jdk" -> jdk = Path.of(value(args, ++i, a));
                    case "--jars" -> jars = Path.of(value(args, ++i, a));
                    case "--kernel-package" -> kernel = Optional.of(value(args, ++i, a));
                    case "--mtime" -> mtime = seconds(value(args, ++i, a), a);
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (mtime < 0) {
                throw new IllegalArgumentException("--mtime must not be negative");
            }
        } catch (IllegalArgumentException e) {
            err.println("stubdm stubdom-image: " + e.getMessage());
            usage(err);
            return 2;
        }
        try {
            if (jars == null) {
                jars = ownJarDirectory();
            }
            if (fetch) {
                kernel = Optional.of(fetch(debs, kernel, out));
            }
            long t0 = System.nanoTime();
            StubdomImageBuilder.Result r = StubdomImageBuilder.build(
                    new StubdomImageBuilder.Inputs(debs, jars, jdk, kernel, mtime), outDir);
            out.printf("stubdm stubdom-image: %s (%d bytes)%n", r.kernel(), Files.size(r.kernel()));
            out.printf("stubdm stubdom-image: %s (%d bytes gzip, %d unpacked, %d entries, sha256 %s)%n", r.rootfs(),
                    r.rootfsBytes(), r.rootfsUnpackedBytes(), r.entries(), r.rootfsSha256());
            out.printf("stubdm stubdom-image: %s; built in %.1f s%n", r.manifest(), (System.nanoTime() - t0) / 1e9);
            return 0;
        } catch (IOException | IllegalArgumentException | IllegalStateException e) {
            err.println("stubdm stubdom-image: " + e.getMessage());
            return 1;
        }
    }

    public static int install(List<String> args, PrintStream out, PrintStream err) {
        Path from = Path.of(".");
        Path to = XEN_BOOT;
        try {
            for (int i = 1; i < args.size(); i++) {
                String a = args.get(i);
                switch (a) {
                    case "--from" -> from = Path.of(value(args, ++i, a));
                    case "--to" -> to = Path.of(value(args, ++i, a));
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("stubdm stubdom-install: " + e.getMessage());
            usage(err);
            return 2;
        }
        try {
            Files.createDirectories(to);
            for (String name : List.of(StubdomImageBuilder.KERNEL_FILE, StubdomImageBuilder.ROOTFS_FILE,
                    StubdomImageBuilder.MANIFEST_FILE)) {
                Path source = from.resolve(name);
                if (!Files.isRegularFile(source)) {
                    if (name.equals(StubdomImageBuilder.MANIFEST_FILE)) {
                        continue;
                    }
                    throw new IOException("no " + source + ": run stubdm stubdom-image first");
                }
                // Copied beside the target and renamed: a guest starting meanwhile reads the old file or the new.
                Path part = to.resolve("." + name + ".part");
                Files.copy(source, part, StandardCopyOption.REPLACE_EXISTING);
                Files.move(part, to.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                out.println("stubdm stubdom-install: " + to.resolve(name));
            }
            return 0;
        } catch (IOException e) {
            err.println("stubdm stubdom-install: " + e.getMessage());
            return 1;
        }
    }

    /** apt-get download of every package the image takes, into {@code debs}; returns the kernel package's name. */
    private static String fetch(Path debs, Optional<String> kernel, PrintStream out) throws IOException {
        Files.createDirectories(debs);
        String kernelPackage = kernel.isPresent() ? kernel.get() : kernelOfMetapackage();
        List<String> packages = new ArrayList<>(StubdomImageBuilder.LIBRARY_PACKAGES);
        packages.add(StubdomImageBuilder.BUSYBOX_PACKAGE);
        packages.add(StubdomImageBuilder.XEN_UTILS_PACKAGE);
        packages.add(kernelPackage);
        List<String> command = new ArrayList<>(List.of("apt-get", "download"));
        command.addAll(packages);
        out.println("stubdm stubdom-image: " + String.join(" ", command) + " (in " + debs + ")");
        Process p = new ProcessBuilder(command).directory(debs.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IOException("apt-get download failed (run apt-get update?): " + output.trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while downloading packages");
        }
        return kernelPackage;
    }

    /** The versioned kernel package that linux-image-amd64 depends on, as the host's apt sees it. */
    private static String kernelOfMetapackage() throws IOException {
        Process p = new ProcessBuilder("apt-cache", "depends", "linux-image-amd64").redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("Depends: (linux-image-[0-9][^\\s]*-amd64)\\b").matcher(output);
        if (!m.find()) {
            throw new IOException("apt-cache depends linux-image-amd64 names no kernel (apt-get update?): " + output.trim());
        }
        return m.group(1);
    }

    /** Where stubdm's own jars are: the directory of the jar this class was loaded from. */
    private static Path ownJarDirectory() throws IOException {
        try {
            Path self = Path.of(StubdomImageCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(self)) {
                return self.getParent();
            }
        } catch (URISyntaxException | SecurityException e) {
            // fall through to the message below
        }
        throw new IOException("stubdm does not run from its jars here: give its lib directory with --jars");
    }

    /** Long.parseLong's own message ("For input string: ...") would not say which value is wrong. */
    private static long seconds(String value, String what) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be seconds since 1970, not '" + value + "'");
        }
    }

    private static String value(List<String> args, int i, String option) {
        if (i >= args.size()) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args.get(i);
    }
}
