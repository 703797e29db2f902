package io.stubdm.hypervisor;

/** {@code HVMMEM_*} from {@code xen/include/public/hvm/hvm_op.h}, for {@code XEN_DMOP_set_mem_type}. */
public enum MemType {
    RAM_RW(0), RAM_RO(1), MMIO_DM(2), UNUSED(3), IOREQ_SERVER(4);

    public final int code;

    MemType(int code) {
        this.code = code;
    }
}
