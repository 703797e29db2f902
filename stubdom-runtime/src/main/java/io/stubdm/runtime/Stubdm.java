package io.stubdm.runtime;

import io.stubdm.firmware.OptionRomFinder;
import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.xen.XenHypervisor;
import io.stubdm.runtime.cli.DeviceModelArgs;
import io.stubdm.runtime.cli.QemuCommandLine;
import io.stubdm.runtime.metrics.ExporterCommand;
import io.stubdm.runtime.qmp.QmpCommands;
import io.stubdm.runtime.qmp.QmpServer;
import io.stubdm.runtime.stubdom.StubDomain;
import io.stubdm.runtime.stubdom.StubdomArgv;
import io.stubdm.runtime.stubdom.image.StubdomImageCommand;
import io.stubdm.runtime.xenpv.PvBackendProcess;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The {@code stubdm} command. Given qemu-xen's argument vector (as libxl execs it through
 * {@code device_model_override}) it runs the guest's device model until libxl ends it with SIGHUP.
 */
public final class Stubdm {
    /** One line per record, time first, for /var/log/xen/qemu-dm-<name>.log. */
    static final String LOG_FORMAT = "%1$tF %1$tT.%1$tL %4$s %5$s%6$s%n";

    private Stubdm() {
    }

    public static void main(String[] argv) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", LOG_FORMAT);
        }
        System.exit(run(Arrays.asList(argv), System.out, System.err));
    }

    /**
     * {@code stubdm boot-test}: the boot-test harness lives in guest-tests, whose build adds its jar to this
     * distribution's lib/ (stubdm itself does not depend on it).
     */
    private static int bootTest(List<String> argv, PrintStream out, PrintStream err) {
        try {
            Class<?> command = Class.forName("io.stubdm.boottest.BootTestCommand");
            return (int) command.getMethod("run", List.class, PrintStream.class, PrintStream.class)
                    .invoke(null, argv, out, err);
        } catch (ClassNotFoundException e) {
            err.println("stubdm boot-test: the boot-test harness is not installed (its jar, guest-tests-*-boottest.jar, "
                    + "is built with the whole project: mvn package)");
            return 2;
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            err.println("stubdm boot-test: " + cause);
            return 1;
        }
    }

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        if (argv.isEmpty() || argv.get(0).equals("--help") || argv.get(0).equals("-h")) {
            out.println("usage: stubdm <qemu-xen options>   (what libxl passes to device_model_override)");
            out.println("       stubdm self-test      (a whole device-model start-up against a simulated Xen)");
            out.println("       stubdm --prepare      (self-test, and archive the classes it loaded: faster starts)");
            out.println("       stubdm check-xen DOMID (can this domain map a running guest's frames and grants?)");
            out.println("       stubdm stubdom-image  (build the stub domain's kernel and rootfs from Debian's packages)");
            out.println("       stubdm stubdom-install (put them where libxl looks: /usr/lib/xen-4.17/boot)");
            out.println("       stubdm stubdom        (inside a stub domain: the guest's arguments come from xenstore)");
            out.println("       stubdm boot-test IMAGE (boot an image with xl and check its console against a profile)");
            out.println("       stubdm exporter [--listen HOST:PORT] [--timeout SECONDS] [--qmp-dir DIR]  (in Dom0: the guests' device-model metrics, for Prometheus)");
            out.println("       stubdm --version");
            out.println("stubdm is a device model for Xen HVM guests: put device_model_override=\"<path>/stubdm\" in the xl config.");
            return argv.isEmpty() ? 2 : 0;
        }
        if (argv.get(0).equals("self-test")) {
            return SelfTest.run(out, err);
        }
        if (argv.get(0).equals("check-xen")) {
            return checkXen(argv, out, err);
        }
        if (argv.get(0).equals("--version") || argv.get(0).equals("-version")) {
            out.println("stubdm " + Version.get() + " (QMP speaks as QEMU 7.2.0)");
            return 0;
        }
        if (argv.get(0).equals("stubdom-image")) {
            return StubdomImageCommand.image(argv, out, err);
        }
        if (argv.get(0).equals("stubdom-install")) {
            return StubdomImageCommand.install(argv, out, err);
        }
        if (argv.get(0).equals("boot-test")) {
            return bootTest(argv, out, err);
        }
        if (argv.get(0).equals("stubdom")) {
            return stubdom(err);
        }
        if (argv.get(0).equals("exporter")) {
            return ExporterCommand.run(argv, out, err);
        }
        DeviceModelArgs args;
        try {
            args = QemuCommandLine.parse(argv);
        } catch (IllegalArgumentException e) {
            err.println("stubdm: " + e.getMessage());
            return 2;
        }
        XenHypervisor xen = openXen(err, "");
        if (xen == null) {
            return 1;
        }
        return serve(args, argv, xen, () -> { }, process -> { }, failure -> { }, () -> { }, err);
    }

    /** The real Xen, or null after saying on {@code err} why it cannot be reached. */
    private static XenHypervisor openXen(PrintStream err, String where) {
        try {
            return XenHypervisor.open();
        } catch (XenException | UnsatisfiedLinkError e) {
            err.println("stubdm: cannot reach Xen" + where + ": " + e.getMessage());
            return null;
        }
    }

    /**
     * Inside a Linux stub domain (the image's init runs {@code stubdm stubdom}): the arguments come from xenstore,
     * where libxl put them for the stub domain's target, and QMP goes out through Xen's vchan proxy.
     */
    private static int stubdom(PrintStream err) {
        XenHypervisor xen = openXen(err, " from the stub domain");
        if (xen == null) {
            return 1;
        }
        StubdomArgv stub;
        DeviceModelArgs args;
        System.Logger log = System.getLogger(Stubdm.class.getName());
        CompletableFuture<QmpCommands> commands = new CompletableFuture<>();
        QmpServer qmp;
        StubDomain around;
        try (XenStore xenstore = xen.openXenStore()) {
            stub = StubdomArgv.read(xenstore);
            args = QemuCommandLine.parse(stub.deviceModelArguments());
            log.log(Level.INFO, "stub domain " + stub.stubDomid() + " for domain " + stub.guestDomid()
                    + "; libxl's arguments: " + String.join(" ", stub.libxlArguments()));
            // libxl gives a stub domain 30 seconds from its unpause to "running", and a JVM under nested emulation
            // needs most of that just to start. The guest stays paused until libxl's QMP cont has been answered
            // (libxl unpauses it only then), so QMP listens and "running" is written now, and every command,
            // cont first, waits for the machine built below: the guest never meets a half-built device model.
            java.nio.file.Files.createDirectories(java.nio.file.Path.of(StubdomArgv.QMP_SOCKET).getParent());
            qmp = new QmpServer(java.nio.file.Path.of(StubdomArgv.QMP_SOCKET),
                    QmpCommands.deferred(commands, STUBDOM_QMP_WAIT_MILLIS), "stubdm " + Version.get());
            around = StubDomain.forImage(stub);
            around.startProxy();
            LibxlHandshake.announceRunning(xenstore, stub.guestDomid());
        } catch (IllegalStateException | IllegalArgumentException | XenException | java.io.IOException e) {
            err.println("stubdm: stub domain: " + e.getMessage());
            xen.close();
            return 2;
        }
        List<String> missing = around.awaitDevices(20_000);
        if (!missing.isEmpty()) {
            // Opening them fails with a message naming each; the wait was only for frontends still connecting.
            log.log(Level.WARNING, "still missing after 20 s: " + missing);
        }
        return serve(args, stub.deviceModelArguments(), xen, around::bridgeTaps,
                process -> commands.complete(((DeviceModelProcess) process).commands()),
                failure -> commands.completeExceptionally(failure),
                () -> {
                    qmp.close();
                    around.close();
                }, err);
    }

    /** How long a QMP command sent to a stub domain may wait for the device model to be built. */
    static final long STUBDOM_QMP_WAIT_MILLIS = 120_000;

    private static int serve(DeviceModelArgs args, List<String> argv, XenHypervisor xen, Runnable beforeRunning,
            Consumer<StubdmProcess> onStarted, Consumer<Exception> onFailure, Runnable onEnd, PrintStream err) {
        Thread warmUp = new Thread(QmpServer::warmUp, "json-warm-up");
        warmUp.setDaemon(true);
        warmUp.start();
        System.Logger log = System.getLogger(Stubdm.class.getName());
        // A thread that dies of an Error (the device loop among them) would leave the guest waiting forever for
        // its next ioreq. Better a device model that ends, loudly, so that the domain's failure shows.
        // Another thread's bug (a backend's reader, say) costs that backend, not the guest: it is logged.
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            if (e instanceof Error || thread.getName().startsWith(DeviceModel.LOOP_THREAD_PREFIX)) {
                log.log(Level.ERROR, "thread '" + thread.getName() + "' died; stubdm cannot go on serving the guest", e);
                Runtime.getRuntime().halt(70);
            }
            log.log(Level.ERROR, "thread '" + thread.getName() + "' died", e);
        });
        log.log(Level.INFO, "stubdm " + Version.get() + " for domain " + args.domid() + " (" + args.name() + "), pid "
                + ProcessHandle.current().pid() + ": " + String.join(" ", argv));
        StubdmProcess process;
        try {
            if (args.mode() == DeviceModelArgs.Mode.XENPV) {
                // libxl's Dom0 process for a stub domain (-xen-domid is the stub's): its PV consoles' backend.
                process = PvBackendProcess.start(args, xen);
            } else {
                process = DeviceModelProcess.start(args, xen,
                        OptionRomFinder.debian(args.romDirectory().map(java.nio.file.Path::of)), beforeRunning);
            }
        } catch (IllegalArgumentException | UncheckedIOException | java.io.IOException | XenException e) {
            err.println("stubdm: domain " + args.domid() + ": " + e.getMessage());
            onFailure.accept(e);
            onEnd.run();
            xen.close();
            return 1;
        }
        // Both kinds map only the served domain's memory (an HVM guest's RAM; a stub domain's console frame), so
        // the privcmd handles can be restricted to it; the grant and event-channel handles are not affected.
        onStarted.accept(process);
        try {
            xen.restrictTo(args.domid());
        } catch (XenException e) {
            log.log(Level.WARNING, "could not restrict the Xen handles to domain " + args.domid() + ": " + e.getMessage());
        }
        // libxl ends a device model with SIGHUP; the JVM then runs this hook and exits.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.log(Level.INFO, "ending: closing the " + (args.mode() == DeviceModelArgs.Mode.XENPV
                    ? "console backend of stub domain " : "device model of domain ") + args.domid());
            onEnd.run();
            process.close();
            xen.close();
        }, "stubdm-shutdown"));
        try {
            process.awaitQuit();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static int checkXen(List<String> argv, PrintStream out, PrintStream err) {
        int domid;
        try {
            domid = Integer.parseInt(argv.size() == 2 ? argv.get(1) : "");
        } catch (NumberFormatException e) {
            err.println("usage: stubdm check-xen DOMID");
            return 2;
        }
        try (XenHypervisor xen = XenHypervisor.open()) {
            return XenCheck.run(xen, domid, out);
        } catch (XenException | UnsatisfiedLinkError e) {
            err.println("stubdm: cannot reach Xen: " + e.getMessage());
            return 1;
        }
    }
}
