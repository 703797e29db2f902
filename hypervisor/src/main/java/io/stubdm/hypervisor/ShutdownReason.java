package io.stubdm.hypervisor;

/** {@code SHUTDOWN_*} from {@code xen/include/public/sched.h}, as {@code XEN_DMOP_remote_shutdown} takes them. */
public enum ShutdownReason {
    POWEROFF(0), REBOOT(1), SUSPEND(2), CRASH(3), WATCHDOG(4), SOFT_RESET(5);

    public final int code;

    ShutdownReason(int code) {
        this.code = code;
    }
}
