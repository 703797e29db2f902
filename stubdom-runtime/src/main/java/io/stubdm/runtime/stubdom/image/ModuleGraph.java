package io.stubdm.runtime.stubdom.image;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A kernel's modules.dep (depmod(8), modules.dep(5)): each line {@code path.ko: dep1.ko dep2.ko ...}, paths
 * relative to /lib/modules/&lt;version&gt;. Gives the order in which insmod must load a set of modules, each after
 * the modules it needs, which is what modprobe would do.
 */
final class ModuleGraph {
    private final Map<String, List<String>> dependencies;
    private final Map<String, String> pathByName;

    private ModuleGraph(Map<String, List<String>> dependencies, Map<String, String> pathByName) {
        this.dependencies = dependencies;
        this.pathByName = pathByName;
    }

    static ModuleGraph parse(String modulesDep) {
        Map<String, List<String>> deps = new HashMap<>();
        Map<String, String> byName = new HashMap<>();
        int lineNumber = 0;
        for (String line : modulesDep.split("\n")) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("modules.dep line " + lineNumber + " has no 'module:': " + line);
            }
            String path = line.substring(0, colon).trim();
            List<String> list = new ArrayList<>();
            for (String dep : line.substring(colon + 1).trim().split("\\s+")) {
                if (!dep.isEmpty()) {
                    list.add(dep);
                }
            }
            deps.put(path, list);
            byName.put(name(path), path);
        }
        return new ModuleGraph(deps, byName);
    }

    /**
     * The module files to load for {@code wanted} (names as modprobe takes them; '-' and '_' are the same), each
     * after its dependencies, every file once.
     *
     * @throws IllegalArgumentException for a module the kernel does not have (or has built in: then it is in no
     *     modules.dep line and needs no loading, but the caller asked for it, so it should know)
     */
    List<String> loadOrder(List<String> wanted) {
        Set<String> order = new LinkedHashSet<>();
        for (String name : wanted) {
            String path = pathByName.get(normalise(name));
            if (path == null) {
                throw new IllegalArgumentException("the kernel has no module " + name + " (built in, or not built)");
            }
            visit(path, order, new LinkedHashSet<>());
        }
        return new ArrayList<>(order);
    }

    private void visit(String path, Set<String> order, Set<String> onPath) {
        if (order.contains(path)) {
            return;
        }
        if (!onPath.add(path)) {
            throw new IllegalArgumentException("modules.dep has a dependency cycle through " + path);
        }
        List<String> deps = dependencies.get(path);
        if (deps == null) {
            throw new IllegalArgumentException("modules.dep names " + path + " as a dependency but has no line for it");
        }
        // depmod lists the deepest dependencies last; loading from the end keeps each after what it needs, and the
        // recursion makes that hold even where the listed order would not.
        for (int i = deps.size() - 1; i >= 0; i--) {
            visit(deps.get(i), order, onPath);
        }
        onPath.remove(path);
        order.add(path);
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
