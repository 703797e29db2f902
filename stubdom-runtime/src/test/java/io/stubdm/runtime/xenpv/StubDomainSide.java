package io.stubdm.runtime.xenpv;

import static io.stubdm.runtime.xenpv.XenConsoleRing.*;

import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.XenStorePermission;
import io.stubdm.hypervisor.XenStorePermission.Access;
import io.stubdm.hypervisor.sim.SimDomain;
import io.stubdm.hypervisor.sim.SimGuestPort;
import io.stubdm.hypervisor.sim.SimXen;
import java.util.List;
import java.util.Optional;

/**
 * A stub domain in the simulated Xen and everything outside stubdm that touches its consoles: libxl writing
 * both halves of each console ({@code libxl__device_console_add}, Xen 4.17), the domain builder's console 0 ring,
 * and Linux's hvc_xen frontend in the stub domain connecting consoles 1.. and reading and writing the rings.
 */
final class StubDomainSide {
    static final int STUB = 7;
    static final long WAIT_MILLIS = 5000;

    final SimXen xen;
    final SimDomain domain;
    final XenStore dom0;
    /** The stub domain's own xenstore connection, with its permissions. */
    final XenStore self;
    final GuestMemory memory;

    StubDomainSide(SimXen xen) {
        this.xen = xen;
        this.domain = xen.createDomain(STUB, 32L << 20, 1);
        this.dom0 = xen.openXenStore();
        this.self = xen.xenStoreDaemon().connect(STUB);
        this.memory = domain.guestMemory();
        // What libxl gives every domain: its home, which it may write.
        dom0.mkdir(home());
        dom0.setPermissions(home(), List.of(new XenStorePermission(STUB, Access.NONE)));
    }

    static String home() {
        return "/local/domain/" + STUB;
    }

    static String backend(int devid) {
        return "/local/domain/0/backend/console/" + STUB + "/" + devid;
    }

    static String frontend(int devid) {
        return devid == 0 ? home() + "/console" : home() + "/device/console/" + devid;
    }

    /** One console as the stub domain sees it: its ring page and port, once it has them. */
    final class Console {
        final int devid;
        final long gfn;
        SimGuestPort port;

        Console(int devid) {
            this.devid = devid;
            this.gfn = 0x100 + devid;
        }

        long ringAddress() {
            return gfn << 12;
        }

        int index(int offset) {
            return (int) memory.readValue(ringAddress() + offset, 4);
        }

        void setIndex(int offset, int value) {
            memory.writeValue(ringAddress() + offset, 4, value & 0xffffffffL);
        }

        /**
         * hvc_xen's __write_console: as much of {@code bytes} from {@code off} as fits before out_cons, then
         * out_prod, then notify. Returns how many it wrote.
         */
        int write(byte[] bytes, int off, int len) {
            int cons = index(OFFSET_OUT_CONS);
            int prod = index(OFFSET_OUT_PROD);
            int n = Math.min(len, OUT_SIZE - (prod - cons));
            for (int i = 0; i < n; i++) {
                memory.writeValue(ringAddress() + OFFSET_OUT + ((prod + i) & (OUT_SIZE - 1)), 1, bytes[off + i]);
            }
            setIndex(OFFSET_OUT_PROD, prod + n);
            port.send();
            return n;
        }

        /** Writes all of {@code bytes}, waiting for the backend's notifications while the ring is full. */
        void writeAll(byte[] bytes) throws InterruptedException {
            int done = 0;
            long deadline = System.currentTimeMillis() + WAIT_MILLIS;
            while (done < bytes.length) {
                long seen = port.notifications();
                int n = write(bytes, done, bytes.length - done);
                done += n;
                if (n == 0) {
                    port.awaitNotificationAfter(seen, 100);
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError("the backend took only " + done + " of " + bytes.length + " bytes");
                }
            }
        }

        /** hvc_xen's domU_read_console: everything between in_cons and in_prod, then in_cons and notify. */
        byte[] read() {
            int cons = index(OFFSET_IN_CONS);
            int prod = index(OFFSET_IN_PROD);
            byte[] got = new byte[prod - cons];
            for (int i = 0; i < got.length; i++) {
                got[i] = (byte) memory.readValue(ringAddress() + OFFSET_IN + ((cons + i) & (IN_SIZE - 1)), 1);
            }
            setIndex(OFFSET_IN_CONS, prod);
            port.send();
            return got;
        }

        /** Reads until {@code n} bytes came, waiting for the backend's notifications. */
        byte[] readAtLeast(int n) throws InterruptedException {
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            long deadline = System.currentTimeMillis() + WAIT_MILLIS;
            while (got.size() < n) {
                long seen = port.notifications();
                byte[] chunk = read();
                got.write(chunk, 0, chunk.length);
                if (chunk.length == 0) {
                    port.awaitNotificationAfter(seen, 100);
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError("the domain read " + got.size() + " of " + n + " bytes");
                }
            }
            return got.toByteArray();
        }

        /**
         * hvc_xen's xencons_connect_backend: grant the page to domain 0, allocate a port, publish ring-ref and
         * port, then go Initialised.
         */
        void connectFrontend(int grantRef) {
            for (int offset : new int[] {OFFSET_IN_CONS, OFFSET_IN_PROD, OFFSET_OUT_CONS, OFFSET_OUT_PROD}) {
                setIndex(offset, 0); // a fresh page: hvc_xen allocates it zeroed
            }
            domain.grantAccess(grantRef, gfn, 0, false);
            port = domain.allocUnboundPort(0);
            self.write(frontend(devid) + "/ring-ref", Integer.toString(grantRef));
            self.write(frontend(devid) + "/port", Integer.toString(port.port()));
            self.write(frontend(devid) + "/state", Integer.toString(XenbusState.INITIALISED));
        }

        void setFrontendState(int state) {
            self.write(frontend(devid) + "/state", Integer.toString(state));
        }
    }

    /**
     * libxl__device_console_add for console {@code devid}: the frontend's keys (owned by the stub domain, readable
     * by the backend), then the backend's (Dom0's, readable by the stub domain). Console 0 also gets the domain
     * builder's ring frame and port, unbound for domain 0.
     */
    Console libxlAddsConsole(int devid, String type, String output) {
        Console c = new Console(devid);
        String fe = frontend(devid);
        String be = backend(devid);
        dom0.mkdir(fe);
        dom0.setPermissions(fe, List.of(new XenStorePermission(STUB, Access.NONE), new XenStorePermission(0, Access.READ)));
        dom0.write(fe + "/backend", be);
        dom0.write(fe + "/backend-id", "0");
        dom0.write(fe + "/limit", "1048576");
        dom0.write(fe + "/type", type);
        dom0.write(fe + "/output", output);
        dom0.write(fe + "/tty", "");
        if (devid == 0) {
            c.port = domain.allocUnboundPort(0);
            dom0.write(fe + "/ring-ref", Long.toString(c.gfn));
            dom0.write(fe + "/port", Integer.toString(c.port.port()));
        } else {
            dom0.write(fe + "/state", Integer.toString(XenbusState.INITIALISING));
        }
        dom0.mkdir(be);
        dom0.setPermissions(be, List.of(new XenStorePermission(0, Access.NONE), new XenStorePermission(STUB, Access.READ)));
        dom0.write(be + "/frontend-id", Integer.toString(STUB));
        dom0.write(be + "/online", "1");
        dom0.write(be + "/state", Integer.toString(XenbusState.INITIALISING));
        dom0.write(be + "/protocol", "vt100");
        dom0.write(be + "/frontend", fe); // last: the backend starts from this key (libxl writes all at once)
        return c;
    }

    Optional<String> read(String path) {
        return dom0.read(path);
    }

    /** Waits until {@code path} reads {@code value}. */
    void awaitValue(String path, String value) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (!value.equals(dom0.read(path).orElse(null))) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError(path + " is " + dom0.read(path).orElse("(absent)") + ", not " + value);
            }
            Thread.sleep(5);
        }
    }

    void awaitBackendState(int devid, int state) throws InterruptedException {
        awaitValue(backend(devid) + "/state", Integer.toString(state));
    }

    void close() {
        self.close();
        dom0.close();
    }
}
