package org.elasticsearch.plugins;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.elasticsearch.Version;
import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.jdk.ModuleQualifiedExportsService;

/**
 * PluginsService that, besides the (empty) modules/ and plugins/ directories, loads
 * plugin classes that are already on the classpath. Package org.elasticsearch.plugins
 * because LoadedPlugin and loadPlugin are package-private.
 */
public class ShelfRunnerPluginsService extends PluginsService {

    private final List<LoadedPlugin> allPlugins;
    private final PluginsAndModules allInfo;

    public ShelfRunnerPluginsService(Settings settings, Environment env, Collection<Class<? extends Plugin>> classpathPlugins) {
        super(settings, env.configFile(), env.modulesFile(), env.pluginsFile());
        List<LoadedPlugin> loaded = new ArrayList<>();
        List<PluginRuntimeInfo> infos = new ArrayList<>(super.info().getPluginInfos());
        for (Class<? extends Plugin> cls : classpathPlugins) {
            Plugin instance = loadPlugin(cls, settings, env.configFile());
            PluginDescriptor descriptor = new PluginDescriptor(
                cls.getName(), "classpath plugin (scripts/servers/es-runner)", "NA",
                Version.CURRENT.toString(), Integer.toString(Runtime.version().feature()),
                cls.getName(), null, List.of(), false, false, false, false);
            loaded.add(new LoadedPlugin(descriptor, instance));
            infos.add(new PluginRuntimeInfo(descriptor));
        }
        loaded.addAll(super.plugins());
        this.allPlugins = List.copyOf(loaded);
        this.allInfo = new PluginsAndModules(infos, super.info().getModuleInfos());
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return allPlugins;
    }

    @Override
    public PluginsAndModules info() {
        return allInfo;
    }

    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> qualifiedExports) {
        // The server runs from the classpath (unnamed module): there is no module layer to export to.
    }
}
