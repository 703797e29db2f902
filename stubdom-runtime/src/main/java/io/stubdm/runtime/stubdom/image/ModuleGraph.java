package io.stubdm.runtime.stubdom.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which kernel modules to load, in which order. A kernel package carries no modules.dep (depmod writes it when the
 * package is installed), so the dependencies come from where depmod reads them: each module's {@code .modinfo}
 * section, whose {@code depends=} string names the modules it needs (comma-separated, '-' written '_').
 */
final class ModuleGraph {
    private final Map<String, String> pathByName;
    private final Map<String, List<String>> dependencies = new TreeMap<>();

    /** {@code modulePaths}: every module file of the kernel (paths ending in .ko). */
    ModuleGraph(Iterable<String> modulePaths) {
        Map<String, String> byName = new TreeMap<>();
        for (String path : modulePaths) {
            byName.put(name(path), path);
        }
        this.pathByName = byName;
    }

    String path(String module) {
        String path = pathByName.get(normalise(module));
        if (path == null) {
            throw new IllegalArgumentException("the kernel has no module " + module + " (built in, or not built)");
        }
        return path;
    }

    /** Records what the module at {@code path} needs; returns the paths of those modules. */
    List<String> add(String path, byte[] ko) {
        List<String> deps = new ArrayList<>();
        for (String dep : dependsOf(ko, path)) {
            deps.add(path(dep));
        }
        dependencies.put(path, deps);
        return deps;
    }

    boolean known(String path) {
        return dependencies.containsKey(path);
    }

    /** Every module {@link #add added}, each after those it needs. */
    List<String> loadOrder(List<String> wanted) {
        Set<String> order = new LinkedHashSet<>();
        for (String name : wanted) {
            visit(path(name), order, new LinkedHashSet<>());
        }
        return new ArrayList<>(order);
    }

    private void visit(String path, Set<String> order, Set<String> onPath) {
        if (order.contains(path)) {
            return;
        }
        if (!onPath.add(path)) {
            throw new IllegalArgumentException("the modules' depends= form a cycle through " + path);
        }
        List<String> deps = dependencies.get(path);
        if (deps == null) {
            throw new IllegalStateException(path + " was not read");
        }
        for (String dep : deps) {
            visit(dep, order, onPath);
        }
        onPath.remove(path);
        order.add(path);
    }

    /**
     * The {@code depends=} entry of an ELF64 module's {@code .modinfo} section (NUL-separated key=value strings), found
     * through the section headers (ELF gABI: e_shoff, e_shentsize, e_shnum, e_shstrndx).
     */
    static List<String> dependsOf(byte[] ko, String what) {
        try {
            ByteBuffer b = ByteBuffer.wrap(ko).order(ByteOrder.LITTLE_ENDIAN);
            if (ko.length < 64 || b.getInt(0) != 0x464c457f || ko[4] != 2 || ko[5] != 1) {
                throw new IllegalArgumentException(what + " is not an ELF64 little-endian module");
            }
            long shoff = b.getLong(0x28);
            int shentsize = Short.toUnsignedInt(b.getShort(0x3A));
            int shnum = Short.toUnsignedInt(b.getShort(0x3C));
            int shstrndx = Short.toUnsignedInt(b.getShort(0x3E));
            if (shentsize < 64 || shstrndx >= shnum || shoff < 0 || shoff + (long) shnum * shentsize > ko.length) {
                throw new IllegalArgumentException(what + ": section headers out of the file");
            }
            int names = (int) b.getLong((int) shoff + shstrndx * shentsize + 0x18);
            for (int i = 0; i < shnum; i++) {
                int sh = (int) shoff + i * shentsize;
                int nameOffset = names + b.getInt(sh);
                if (!".modinfo".equals(cString(ko, nameOffset))) {
                    continue;
                }
                long offset = b.getLong(sh + 0x18);
                long size = b.getLong(sh + 0x20);
                if (offset < 0 || size < 0 || offset + size > ko.length) {
                    throw new IllegalArgumentException(what + ": .modinfo out of the file");
                }
                String modinfo = new String(ko, (int) offset, (int) size, StandardCharsets.ISO_8859_1);
                for (String entry : modinfo.split("\0")) {
                    if (entry.startsWith("depends=")) {
                        List<String> deps = new ArrayList<>();
                        for (String dep : entry.substring("depends=".length()).split(",")) {
                            if (!dep.isBlank()) {
                                deps.add(dep.trim());
                            }
                        }
                        return deps;
                    }
                }
                return List.of();
            }
            throw new IllegalArgumentException(what + " has no .modinfo section");
        } catch (IndexOutOfBoundsException e) {
            throw new IllegalArgumentException(what + ": truncated or corrupt ELF");
        }
    }

    private static String cString(byte[] bytes, int offset) {
        if (offset < 0 || offset >= bytes.length) {
            throw new IndexOutOfBoundsException(offset);
        }
        int end = offset;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, offset, end - offset, StandardCharsets.ISO_8859_1);
    }

    private static String name(String path) {
        String file = path.substring(path.lastIndexOf('/') + 1);
        int ko = file.indexOf(".ko");
        return normalise(ko < 0 ? file : file.substring(0, ko));
    }

    private static String normalise(String name) {
        return name.replace('-', '_');
    }
}
