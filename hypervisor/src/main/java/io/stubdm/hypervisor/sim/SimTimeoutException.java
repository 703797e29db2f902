package io.stubdm.hypervisor.sim;

/** The device model did not answer a simulated vCPU in time: in a real guest, a hung vCPU. */
public class SimTimeoutException extends RuntimeException {
    public SimTimeoutException(String message) {
        super(message);
    }
}
