package io.stubdm.hypervisor.xen;

import com.sun.jna.Pointer;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.EventChannels;
import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.Hypervisor;
import io.stubdm.hypervisor.XenStore;
import java.util.ArrayList;
import java.util.List;

/**
 * The real Xen, through Debian's libxen* libraries: what stubdm uses in Dom0 and in a stub domain. Opening it
 * outside Xen fails with a XenException that says why (no libraries, or no /dev/xen/privcmd).
 */
public final class XenHypervisor implements Hypervisor {
    private final Pointer deviceModelHandle;
    private final List<XenForeignMemory> foreignHandles = new ArrayList<>();
    private final List<XenDeviceModel> deviceModels = new ArrayList<>();

    private XenHypervisor(Pointer deviceModelHandle) {
        this.deviceModelHandle = deviceModelHandle;
    }

    public static XenHypervisor open() {
        XenLibs.require();
        Pointer dm = XenLibs.DeviceModel.xendevicemodel_open(null, 0);
        if (dm == null) {
            throw XenLibs.fail("xendevicemodel_open", "/dev/xen/privcmd: is this a Xen Dom0 or stub domain?");
        }
        return new XenHypervisor(dm);
    }

    /** Whether the libraries loaded; tests use it to tell "not on Xen" from "libraries missing". */
    public static String librariesUnavailable() {
        return XenLibs.UNAVAILABLE;
    }

    @Override
    public synchronized DeviceModelOps deviceModel(int domid) {
        XenDeviceModel d = new XenDeviceModel(deviceModelHandle, domid);
        deviceModels.add(d);
        return d;
    }

    @Override
    public synchronized ForeignMemory foreignMemory(int domid) {
        Pointer h = XenLibs.ForeignMemory.xenforeignmemory_open(null, 0);
        if (h == null) {
            throw XenLibs.fail("xenforeignmemory_open", "/dev/xen/privcmd");
        }
        XenForeignMemory f = new XenForeignMemory(h, domid);
        foreignHandles.add(f);
        return f;
    }

    @Override
    public EventChannels openEventChannels() {
        return new XenEventChannels();
    }

    @Override
    public XenStore openXenStore() {
        return new LibXenStore();
    }

    @Override
    public GrantTables openGrantTables() {
        return XenGrantTables.open();
    }

    /**
     * Once set-up is done: the device model's privcmd handles may act on {@code domid} only (qemu-xen's
     * xen_restrict), so a compromised device model cannot reach other domains.
     */
    public synchronized void restrictTo(int domid) {
        for (XenDeviceModel d : deviceModels) {
            if (d.domid() == domid) {
                d.restrict();
                break;
            }
        }
        for (XenForeignMemory f : foreignHandles) {
            f.restrict();
        }
    }

    @Override
    public synchronized void close() {
        foreignHandles.forEach(XenForeignMemory::close);
        XenLibs.DeviceModel.xendevicemodel_close(deviceModelHandle);
    }
}
