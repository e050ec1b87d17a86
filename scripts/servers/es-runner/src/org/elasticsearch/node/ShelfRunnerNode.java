package org.elasticsearch.node;

import java.util.Collection;

import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsService;
import org.elasticsearch.plugins.ShelfRunnerPluginsService;

/**
 * A real Elasticsearch {@link Node} whose plugins come from the classpath instead of
 * ES_HOME/modules. It lives in org.elasticsearch.node because the hook for the
 * plugins service ({@link NodeServiceProvider#newPluginService}) is package-private.
 */
public class ShelfRunnerNode extends Node {

    public ShelfRunnerNode(Environment environment, Collection<Class<? extends Plugin>> classpathPlugins) {
        super(NodeConstruction.prepareConstruction(environment, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, org.elasticsearch.common.settings.Settings settings) {
                return new ShelfRunnerPluginsService(settings, env, classpathPlugins);
            }
        }, true));
    }

    @Override
    protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
        // The distribution uses this only to put node/cluster ids into log lines.
    }
}
