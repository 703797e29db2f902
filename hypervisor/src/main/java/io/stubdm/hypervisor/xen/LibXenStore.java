package io.stubdm.hypervisor.xen;

import static io.stubdm.hypervisor.xen.XenLibs.Libc.*;
import static io.stubdm.hypervisor.xen.XenLibs.Store.*;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.XenStorePermission;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * xenstore through libxenstore (xenstored's socket in Dom0, /dev/xen/xenbus in a stub domain). Watch events are
 * read on one thread of this connection: it polls the library's watch pipe together with an eventfd, so that
 * {@link #close()} can stop it without leaving a thread blocked inside the library.
 */
final class LibXenStore implements XenStore {
    private static final System.Logger LOG = System.getLogger(LibXenStore.class.getName());
    private static final int XS_PERM_READ = 1;
    private static final int XS_PERM_WRITE = 2;

    private final Pointer handle;
    private final int ownDomid;
    private final Map<String, Consumer<String>> watchesByToken = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private Thread watchThread;
    private int wakeFd = -1;
    private volatile boolean closed;

    LibXenStore() {
        XenLibs.require();
        handle = xs_open(0);
        if (handle == null) {
            throw XenLibs.fail("xs_open", "is xenstored running (Dom0) or /dev/xen/xenbus present (stub domain)?");
        }
        ownDomid = read("domid").map(String::trim).map(Integer::parseInt).orElse(0);
    }

    @Override
    public int ownDomid() {
        return ownDomid;
    }

    @Override
    public Optional<String> read(String path) {
        IntByReference length = new IntByReference();
        Pointer p = xs_read(handle, XenLibs.XBT_NULL, path, length);
        if (p == null) {
            XenException e = XenLibs.fail("xs_read", path);
            if (e.errno() == XenException.ENOENT) {
                return Optional.empty();
            }
            throw e;
        }
        try {
            return Optional.of(new String(p.getByteArray(0, length.getValue()), StandardCharsets.UTF_8));
        } finally {
            free(p);
        }
    }

    @Override
    public void write(String path, String value) {
        byte[] data = value.getBytes(StandardCharsets.UTF_8);
        if (!xs_write(handle, XenLibs.XBT_NULL, path, data, data.length)) {
            throw XenLibs.fail("xs_write", path);
        }
    }

    @Override
    public void mkdir(String path) {
        if (!xs_mkdir(handle, XenLibs.XBT_NULL, path)) {
            throw XenLibs.fail("xs_mkdir", path);
        }
    }

    @Override
    public void rm(String path) {
        if (!xs_rm(handle, XenLibs.XBT_NULL, path)) {
            XenException e = XenLibs.fail("xs_rm", path);
            if (e.errno() != XenException.ENOENT) {
                throw e;
            }
        }
    }

    @Override
    public List<String> directory(String path) {
        IntByReference count = new IntByReference();
        Pointer p = xs_directory(handle, XenLibs.XBT_NULL, path, count);
        if (p == null) {
            throw XenLibs.fail("xs_directory", path);
        }
        try {
            List<String> names = new ArrayList<>();
            for (Pointer s : p.getPointerArray(0, count.getValue())) {
                names.add(s.getString(0, "UTF-8"));
            }
            return names;
        } finally {
            free(p); // one allocation holds the array and the strings
        }
    }

    @Override
    public List<XenStorePermission> getPermissions(String path) {
        IntByReference count = new IntByReference();
        Pointer p = xs_get_permissions(handle, XenLibs.XBT_NULL, path, count);
        if (p == null) {
            throw XenLibs.fail("xs_get_permissions", path);
        }
        try {
            List<XenStorePermission> perms = new ArrayList<>();
            for (int i = 0; i < count.getValue(); i++) {
                int id = p.getInt(8L * i);
                int bits = p.getInt(8L * i + 4) & (XS_PERM_READ | XS_PERM_WRITE);
                XenStorePermission.Access a = bits == 3 ? XenStorePermission.Access.BOTH
                        : bits == XS_PERM_WRITE ? XenStorePermission.Access.WRITE
                        : bits == XS_PERM_READ ? XenStorePermission.Access.READ : XenStorePermission.Access.NONE;
                perms.add(new XenStorePermission(id, a));
            }
            return perms;
        } finally {
            free(p);
        }
    }

    @Override
    public void setPermissions(String path, List<XenStorePermission> permissions) {
        int[] raw = new int[2 * permissions.size()];
        for (int i = 0; i < permissions.size(); i++) {
            XenStorePermission.Access a = permissions.get(i).access();
            raw[2 * i] = permissions.get(i).domid();
            raw[2 * i + 1] = (a.canRead() ? XS_PERM_READ : 0) | (a.canWrite() ? XS_PERM_WRITE : 0);
        }
        if (!xs_set_permissions(handle, XenLibs.XBT_NULL, path, raw, permissions.size())) {
            throw XenLibs.fail("xs_set_permissions", path);
        }
    }

    @Override
    public Watch watch(String path, String token, Consumer<String> onChange) {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("xenstore connection is closed");
            }
            if (watchesByToken.putIfAbsent(token, onChange) != null) {
                throw new XenException("xs_watch", XenException.EEXIST, "token " + token + " is in use");
            }
            if (!xs_watch(handle, path, token)) {
                watchesByToken.remove(token);
                throw XenLibs.fail("xs_watch", path);
            }
            startWatchThread();
        }
        return () -> {
            watchesByToken.remove(token);
            if (!closed) {
                xs_unwatch(handle, path, token);
            }
        };
    }

    private void startWatchThread() {
        if (watchThread != null) {
            return;
        }
        wakeFd = eventfd(0, XenLibs.EFD_CLOEXEC | XenLibs.EFD_NONBLOCK);
        int pipe = xs_fileno(handle);
        if (wakeFd < 0 || pipe < 0) {
            throw XenLibs.fail("xs_fileno/eventfd", "xenstore watch pipe");
        }
        watchThread = new Thread(() -> readWatches(pipe), "xenstore-watches");
        watchThread.setDaemon(true);
        watchThread.start();
    }

    private void readWatches(int pipe) {
        int[] fds = new int[4];
        IntByReference count = new IntByReference();
        while (!closed) {
            fds[0] = pipe;
            fds[1] = XenLibs.POLLIN;
            fds[2] = wakeFd;
            fds[3] = XenLibs.POLLIN;
            if (poll(fds, 2, -1) < 0 || closed || (fds[1] >>> 16) == 0) {
                continue;
            }
            Pointer event = xs_read_watch(handle, count);
            if (event == null) {
                continue;
            }
            try {
                Pointer[] parts = event.getPointerArray(0, count.getValue());
                String changed = parts[XenLibs.XS_WATCH_PATH].getString(0, "UTF-8");
                String token = parts[1].getString(0, "UTF-8");
                Consumer<String> callback = watchesByToken.get(token);
                if (callback != null) {
                    callback.accept(changed);
                }
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "xenstore watch callback failed", e);
            } finally {
                free(event);
            }
        }
    }

    @Override
    public void close() {
        Thread t;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            t = watchThread;
        }
        if (t != null) {
            XenLibs.Libc.write(wakeFd, new long[] {1}, 8);
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            XenLibs.Libc.close(wakeFd);
        }
        xs_close(handle);
    }
}
