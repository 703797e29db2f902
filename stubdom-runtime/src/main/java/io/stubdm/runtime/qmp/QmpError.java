package io.stubdm.runtime.qmp;

/** A command failed; {@code errorClass} is one of QMP's classes libxl maps by name. */
public class QmpError extends Exception {
    public static final String GENERIC_ERROR = "GenericError";
    public static final String COMMAND_NOT_FOUND = "CommandNotFound";
    public static final String DEVICE_NOT_ACTIVE = "DeviceNotActive";
    public static final String DEVICE_NOT_FOUND = "DeviceNotFound";

    private final String errorClass;

    public QmpError(String errorClass, String description) {
        super(description);
        this.errorClass = errorClass;
    }

    public static QmpError generic(String description) {
        return new QmpError(GENERIC_ERROR, description);
    }

    public String errorClass() {
        return errorClass;
    }
}
