package io.stubdm.runtime.stubdom.image;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Minimal ELF64 x86-64 files built byte by byte, so the readers are tested against files whose every value is known
 * and the image builder can be fed libraries with any DT_NEEDED closure wanted.
 */
final class TestElf {
    static final long BASE = 0x400000;

    // Shared objects and executables: what ElfDependencies reads (program headers, PT_INTERP, PT_DYNAMIC).
    String soname = "libtiny.so.1";
    List<String> needed = List.of("libz.so.1", "libc.so.6");
    String interpreter = "/lib/ld-tiny.so";
    boolean withDynamic = true;
    // Corruptions for the reader's error paths.
    boolean duplicateDynamic;
    Long strtabAddress;
    Long strsz;
    Integer interpLength;

    /** A shared object known as {@code soname} that needs {@code needed}, without an interpreter. */
    static byte[] sharedObject(String soname, List<String> needed) {
        return dynamic(soname, needed, null);
    }

    /** A dynamically linked executable run by {@code interpreter}. */
    static byte[] executable(String interpreter, List<String> needed) {
        return dynamic(null, needed, interpreter);
    }

    private static byte[] dynamic(String soname, List<String> needed, String interpreter) {
        TestElf elf = new TestElf();
        elf.soname = soname;
        elf.needed = needed;
        elf.interpreter = interpreter;
        return elf.build();
    }

    /** A static executable: no PT_INTERP, no PT_DYNAMIC (what busybox-static is). */
    static byte[] staticExecutable() {
        TestElf elf = new TestElf();
        elf.withDynamic = false;
        elf.interpreter = null;
        return elf.build();
    }

    /**
     * Header, program headers (PT_LOAD of the whole file at BASE, PT_DYNAMIC, PT_INTERP), the interpreter string, a
     * string table and a dynamic array whose DT_STRTAB is a virtual address.
     */
    byte[] build() {
        boolean withInterp = interpreter != null;
        byte[] interp = withInterp ? (interpreter + "\0").getBytes(StandardCharsets.US_ASCII) : new byte[0];
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        strings.write(0);
        List<long[]> dynamic = new ArrayList<>();
        for (String name : needed) {
            dynamic.add(new long[] {1, strings.size()}); // DT_NEEDED
            strings.writeBytes((name + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        if (soname != null) {
            dynamic.add(new long[] {14, strings.size()}); // DT_SONAME
            strings.writeBytes((soname + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        byte[] strtab = strings.toByteArray();
        int phnum = 1 + (withDynamic ? (duplicateDynamic ? 2 : 1) : 0) + (withInterp ? 1 : 0);
        int interpOffset = 64 + phnum * 56;
        int strtabOffset = interpOffset + interp.length;
        int dynamicOffset = (strtabOffset + strtab.length + 7) & ~7;
        dynamic.add(new long[] {5, strtabAddress != null ? strtabAddress : BASE + strtabOffset}); // DT_STRTAB
        dynamic.add(new long[] {10, strsz != null ? strsz : strtab.length}); // DT_STRSZ
        dynamic.add(new long[] {0, 0}); // DT_NULL
        int dynamicLength = dynamic.size() * 16;
        int length = dynamicOffset + dynamicLength;

        ByteBuffer elf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        elf.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
        elf.putShort(16, (short) 3).putShort(18, (short) 62).putInt(20, 1); // ET_DYN, EM_X86_64, EV_CURRENT
        elf.putLong(0x20, 64).putShort(0x34, (short) 64).putShort(0x36, (short) 56).putShort(0x38, (short) phnum);
        int header = 64;
        header = programHeader(elf, header, 1, 0, BASE, length);
        if (withDynamic) {
            header = programHeader(elf, header, 2, dynamicOffset, BASE + dynamicOffset, dynamicLength);
            if (duplicateDynamic) {
                header = programHeader(elf, header, 2, dynamicOffset, BASE + dynamicOffset, dynamicLength);
            }
        }
        if (withInterp) {
            programHeader(elf, header, 3, interpOffset, BASE + interpOffset,
                    interpLength != null ? interpLength : interp.length);
        }
        elf.put(interpOffset, interp).put(strtabOffset, strtab);
        for (int i = 0; i < dynamic.size(); i++) {
            elf.putLong(dynamicOffset + i * 16, dynamic.get(i)[0]).putLong(dynamicOffset + i * 16 + 8, dynamic.get(i)[1]);
        }
        return elf.array();
    }

    private static int programHeader(ByteBuffer elf, int at, int type, long offset, long vaddr, long size) {
        elf.putInt(at, type).putLong(at + 8, offset).putLong(at + 16, vaddr).putLong(at + 24, vaddr)
                .putLong(at + 32, size).putLong(at + 40, size).putLong(at + 48, 8);
        return at + 56;
    }

    /**
     * A relocatable ELF64 file shaped like a kernel module as far as depmod looks: section headers (null, .text,
     * .modinfo, .shstrtab) with e_shstrndx naming the section-name table, and {@code modinfo} (NUL-separated
     * key=value strings) as the .modinfo section's contents.
     */
    static byte[] kernelModule(String modinfo) {
        byte[] text = {(byte) 0xC3}; // ret: something before .modinfo, so the reader has to look by name
        byte[] info = modinfo.getBytes(StandardCharsets.ISO_8859_1);
        byte[] names = "\0.text\0.modinfo\0.shstrtab\0".getBytes(StandardCharsets.US_ASCII);
        int textOffset = 64;
        int infoOffset = textOffset + text.length;
        int namesOffset = infoOffset + info.length;
        int shoff = (namesOffset + names.length + 7) & ~7;
        int shnum = 4;
        ByteBuffer elf = ByteBuffer.allocate(shoff + shnum * 64).order(ByteOrder.LITTLE_ENDIAN);
        elf.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});
        elf.putShort(16, (short) 1).putShort(18, (short) 62).putInt(20, 1); // ET_REL, EM_X86_64, EV_CURRENT
        elf.putLong(0x28, shoff).putShort(0x34, (short) 64).putShort(0x3A, (short) 64).putShort(0x3C, (short) shnum)
                .putShort(0x3E, (short) 3);
        elf.put(textOffset, text).put(infoOffset, info).put(namesOffset, names);
        sectionHeader(elf, shoff + 64, 1, 1, textOffset, text.length); // .text, SHT_PROGBITS
        sectionHeader(elf, shoff + 128, 7, 1, infoOffset, info.length); // .modinfo, SHT_PROGBITS
        sectionHeader(elf, shoff + 192, 16, 3, namesOffset, names.length); // .shstrtab, SHT_STRTAB
        return elf.array();
    }

    private static void sectionHeader(ByteBuffer elf, int at, int name, int type, long offset, long size) {
        elf.putInt(at, name).putInt(at + 4, type).putLong(at + 0x18, offset).putLong(at + 0x20, size)
                .putLong(at + 0x30, 1);
    }
}
