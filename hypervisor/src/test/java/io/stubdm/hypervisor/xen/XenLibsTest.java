package io.stubdm.hypervisor.xen;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.NativeLibrary;
import io.stubdm.hypervisor.XenException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bindings against Debian's real libraries: every function stubdm declares exists under that name in the
 * library it is bound to, and opening Xen where there is none fails with a message that says so. What the
 * calls do is proven in the nested lab.
 */
class XenLibsTest {

    private static void librariesPresentOrSkip() {
        String why = XenHypervisor.librariesUnavailable();
        if (why != null) {
            assertNotEquals("true", System.getenv("CI"), "CI must install libxen-dev (which pulls the libraries): " + why);
            assumeTrue(false, why);
        }
    }

    @Test
    void everyDeclaredFunctionExistsInItsLibrary() {
        librariesPresentOrSkip();
        List<String> missing = new ArrayList<>();
        check(XenLibs.DeviceModel.class, "libxendevicemodel.so.1", missing);
        check(XenLibs.ForeignMemory.class, "libxenforeignmemory.so.1", missing);
        check(XenLibs.EventChannel.class, "libxenevtchn.so.1", missing);
        check(XenLibs.Store.class, "libxenstore.so.4", missing);
        check(XenLibs.Libc.class, "c", missing);
        assertEquals(List.of(), missing);
    }

    private static void check(Class<?> bindings, String library, List<String> missing) {
        NativeLibrary lib = NativeLibrary.getInstance(library);
        for (Method m : bindings.getDeclaredMethods()) {
            if (Modifier.isNative(m.getModifiers())) {
                try {
                    lib.getFunction(m.getName());
                } catch (UnsatisfiedLinkError e) {
                    missing.add(library + ": " + m.getName());
                }
            }
        }
    }

    @Test
    void openingXenWhereThereIsNoneSaysSo() {
        librariesPresentOrSkip();
        assumeTrue(!Files.exists(Path.of("/dev/xen/privcmd")), "this machine runs on Xen");
        XenException e = assertThrows(XenException.class, XenHypervisor::open);
        assertEquals("xendevicemodel_open", e.operation());
        assertTrue(e.getMessage().contains("/dev/xen/privcmd"), e.getMessage());
        assertNotEquals(0, e.errno(), "errno is carried: " + e.getMessage());
        assertThrows(XenException.class, XenEventChannels::new);
    }
}
