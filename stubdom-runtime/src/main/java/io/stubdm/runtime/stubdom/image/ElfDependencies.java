package io.stubdm.runtime.stubdom.image;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What the dynamic loader needs to run an ELF file: its program interpreter, the shared libraries it names, and the
 * name it is itself known by as a library. Read from the program headers only (ELF gABI, "Program Header" and
 * "Dynamic Section"), as the loader does, so a stripped file without section headers reads the same.
 *
 * @param soname      DT_SONAME, or null
 * @param needed      the DT_NEEDED entries in file order
 * @param interpreter the PT_INTERP path, or null for a static executable or a library
 */
public record ElfDependencies(String soname, List<String> needed, String interpreter) {

    // ELF gABI constants, "ELF Header", "Program Header" and "Dynamic Section".
    private static final int EI_CLASS = 4;
    private static final int EI_DATA = 5;
    private static final int ELFCLASS64 = 2;
    private static final int ELFDATA2LSB = 1;
    private static final int ELF64_HEADER_LENGTH = 64;
    private static final int E_PHOFF = 0x20;
    private static final int E_PHENTSIZE = 0x36;
    private static final int E_PHNUM = 0x38;
    private static final int PN_XNUM = 0xFFFF;
    private static final int ELF64_PHDR_LENGTH = 56;
    private static final int PT_LOAD = 1;
    private static final int PT_DYNAMIC = 2;
    private static final int PT_INTERP = 3;
    private static final int ELF64_DYN_LENGTH = 16;
    private static final long DT_NULL = 0;
    private static final long DT_NEEDED = 1;
    private static final long DT_STRTAB = 5;
    private static final long DT_STRSZ = 10;
    private static final long DT_SONAME = 14;

    public ElfDependencies {
        needed = List.copyOf(needed);
    }

    /**
     * @return empty if {@code file} does not start with the ELF magic
     * @throws IllegalArgumentException if it does but is not ELF64 little-endian (the only kind an x86-64 stub
     *                                  domain runs), or is truncated or inconsistent
     */
    public static Optional<ElfDependencies> read(byte[] file) {
        Objects.requireNonNull(file, "file");
        if (file.length < 4 || file[0] != 0x7F || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') {
            return Optional.empty();
        }
        return Optional.of(new Reader(file).read());
    }

    /** Every access is bounds-checked against the file first, so corrupt input ends in IllegalArgumentException. */
    private static final class Reader {
        private final byte[] file;
        private final List<Segment> loads = new ArrayList<>();
        private Segment dynamic;
        private Segment interp;

        private record Segment(long offset, long vaddr, long fileSize) {
        }

        Reader(byte[] file) {
            this.file = file;
        }

        ElfDependencies read() {
            if (file.length < ELF64_HEADER_LENGTH) {
                throw corrupt("truncated: " + file.length + " bytes, shorter than the 64-byte ELF64 header");
            }
            if (file[EI_CLASS] != ELFCLASS64 || file[EI_DATA] != ELFDATA2LSB) {
                throw new IllegalArgumentException("ELF file is not 64-bit little-endian (EI_CLASS " + file[EI_CLASS]
                        + ", EI_DATA " + file[EI_DATA] + "); only ELF64 LSB is supported");
            }
            readProgramHeaders();
            String interpreter = interp == null ? null : interpreter();
            if (dynamic == null) {
                return new ElfDependencies(null, List.of(), interpreter);
            }
            return readDynamic(interpreter);
        }

        private void readProgramHeaders() {
            long phoff = u64(E_PHOFF);
            int phentsize = u16(E_PHENTSIZE);
            int phnum = u16(E_PHNUM);
            if (phnum == PN_XNUM) {
                throw corrupt("more than 65534 program headers (PN_XNUM) is not supported");
            }
            if (phnum > 0 && phentsize < ELF64_PHDR_LENGTH) {
                throw corrupt("e_phentsize " + phentsize + " is smaller than an ELF64 program header ("
                        + ELF64_PHDR_LENGTH + ")");
            }
            checkRange("program header table", phoff, (long) phnum * phentsize);
            for (int i = 0; i < phnum; i++) {
                int header = (int) (phoff + (long) i * phentsize);
                long type = u32(header);
                if (type != PT_LOAD && type != PT_DYNAMIC && type != PT_INTERP) {
                    continue;
                }
                Segment segment = new Segment(u64(header + 8), u64(header + 16), u64(header + 32));
                checkRange("segment " + i, segment.offset(), segment.fileSize());
                if (type == PT_LOAD) {
                    loads.add(segment);
                } else if (type == PT_DYNAMIC) {
                    dynamic = unique("PT_DYNAMIC", dynamic, segment);
                } else {
                    interp = unique("PT_INTERP", interp, segment);
                }
            }
        }

        private String interpreter() {
            String interpreter = string("PT_INTERP", interp.offset(), interp.offset() + interp.fileSize());
            if (interpreter.isEmpty()) {
                throw corrupt("PT_INTERP is an empty string");
            }
            return interpreter;
        }

        /** The dynamic array ends at DT_NULL or with the segment, whichever comes first; either bounds the loop. */
        private ElfDependencies readDynamic(String interpreter) {
            List<Long> neededOffsets = new ArrayList<>();
            Long sonameOffset = null;
            Long strtabAddress = null;
            Long strtabSize = null;
            long count = dynamic.fileSize() / ELF64_DYN_LENGTH;
            for (long i = 0; i < count; i++) {
                int entry = (int) (dynamic.offset() + i * ELF64_DYN_LENGTH);
                long tag = u64(entry);
                long value = u64(entry + 8);
                if (tag == DT_NULL) {
                    break;
                } else if (tag == DT_NEEDED) {
                    neededOffsets.add(value);
                } else if (tag == DT_SONAME) {
                    sonameOffset = value;
                } else if (tag == DT_STRTAB) {
                    strtabAddress = value;
                } else if (tag == DT_STRSZ) {
                    strtabSize = value;
                }
            }
            if (neededOffsets.isEmpty() && sonameOffset == null) {
                return new ElfDependencies(null, List.of(), interpreter);
            }
            if (strtabAddress == null) {
                throw corrupt("DT_NEEDED or DT_SONAME without DT_STRTAB");
            }
            Segment load = loadContaining(strtabAddress);
            long strtabOffset = load.offset() + (strtabAddress - load.vaddr());
            long strtabEnd = load.offset() + load.fileSize();
            if (strtabSize != null) {
                if (Long.compareUnsigned(strtabSize, strtabEnd - strtabOffset) > 0) {
                    throw corrupt("DT_STRSZ " + Long.toUnsignedString(strtabSize)
                            + " runs past the end of the PT_LOAD segment holding the string table");
                }
                strtabEnd = strtabOffset + strtabSize;
            }
            List<String> needed = new ArrayList<>();
            for (long offset : neededOffsets) {
                needed.add(dynamicString("DT_NEEDED", strtabOffset, strtabEnd, offset));
            }
            String soname = sonameOffset == null ? null
                    : dynamicString("DT_SONAME", strtabOffset, strtabEnd, sonameOffset);
            return new ElfDependencies(soname, needed, interpreter);
        }

        /** DT_STRTAB is a virtual address (gABI: d_ptr); the PT_LOAD segment holding it tells where it is in the file. */
        private Segment loadContaining(long address) {
            for (Segment load : loads) {
                long delta = address - load.vaddr();
                if (Long.compareUnsigned(address, load.vaddr()) >= 0 && Long.compareUnsigned(delta, load.fileSize()) < 0) {
                    return load;
                }
            }
            throw corrupt("DT_STRTAB address 0x" + Long.toHexString(address) + " is in no PT_LOAD segment's file image");
        }

        private String dynamicString(String what, long strtabOffset, long strtabEnd, long offset) {
            if (Long.compareUnsigned(offset, strtabEnd - strtabOffset) >= 0) {
                throw corrupt(what + " string offset " + Long.toUnsignedString(offset)
                        + " lies beyond the string table");
            }
            return string(what, strtabOffset + offset, strtabEnd);
        }

        /** A NUL-terminated string starting at {@code start}, whose NUL must come before {@code end}. */
        private String string(String what, long start, long end) {
            for (long i = start; i < end; i++) {
                if (file[(int) i] == 0) {
                    return new String(file, (int) start, (int) (i - start), StandardCharsets.UTF_8);
                }
            }
            throw corrupt(what + " string at file offset " + start + " is not NUL-terminated");
        }

        private Segment unique(String type, Segment existing, Segment segment) {
            if (existing != null) {
                throw corrupt("more than one " + type + " program header");
            }
            return segment;
        }

        /** Offsets and lengths are unsigned 64-bit in the file; anything not inside the byte array is corrupt. */
        private void checkRange(String what, long offset, long length) {
            if (offset < 0 || length < 0 || offset > file.length || length > file.length - offset) {
                throw corrupt("truncated or corrupt: " + what + " (offset " + Long.toUnsignedString(offset)
                        + ", " + Long.toUnsignedString(length) + " bytes) extends past the end of the "
                        + file.length + "-byte file");
            }
        }

        private int u16(int offset) {
            checkRange("field", offset, 2);
            return (file[offset] & 0xFF) | (file[offset + 1] & 0xFF) << 8;
        }

        private long u32(int offset) {
            checkRange("field", offset, 4);
            return u16(offset) | (long) u16(offset + 2) << 16;
        }

        private long u64(int offset) {
            checkRange("field", offset, 8);
            return u32(offset) | u32(offset + 4) << 32;
        }

        private static IllegalArgumentException corrupt(String message) {
            return new IllegalArgumentException("corrupt ELF: " + message);
        }
    }
}
