package shelf.esrunner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.node.ShelfRunnerNode;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * Starts one real Elasticsearch 8 node in this JVM (single-node discovery, HTTP via the
 * transport-netty4 module, no security: x-pack is not on the classpath) and keeps it
 * running until the process is signalled. Used by scripts/servers/elasticsearch.sh.
 *
 * Usage: EsRunner BASE_DIR [setting=value ...]
 *   BASE_DIR gets home/{config,modules,plugins}, data/ and logs/.
 *   Every further argument is an Elasticsearch setting, e.g. http.port=9200.
 */
public final class EsRunner {

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: EsRunner BASE_DIR [setting=value ...]");
            System.exit(2);
        }
        Path base = Path.of(args[0]).toAbsolutePath();
        Path home = base.resolve("home");
        for (String d : List.of("config", "modules", "plugins")) {
            Files.createDirectories(home.resolve(d));
        }
        Files.createDirectories(base.resolve("data"));
        Files.createDirectories(base.resolve("logs"));

        Settings.Builder b = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", base.resolve("data").toString())
            .put("path.logs", base.resolve("logs").toString())
            .put("cluster.name", "shelf-test")
            .put("node.name", "shelf-es-1")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", "9200")
            .put("transport.port", "9300")
            // CI disks can be fuller than the default watermarks allow; never go read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.destructive_requires_name", false);
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected setting=value, got [" + args[i] + "]");
            }
            b.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        Settings settings = b.build();

        // Logging as the distribution does it (log4j2.properties in the config dir), but
        // to the console only: elasticsearch.sh sends stdout to .cache/servers/elasticsearch/server.log.
        Files.writeString(home.resolve("config/log4j2.properties"), String.join("\n",
            "status = error",
            "appender.console.type = Console",
            "appender.console.name = console",
            "appender.console.layout.type = PatternLayout",
            "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
            "rootLogger.level = " + System.getProperty("shelf.es.loglevel", "info"),
            "rootLogger.appenderRef.console.ref = console",
            "logger.deprecation.name = org.elasticsearch.deprecation",
            "logger.deprecation.level = error",
            ""));
        LogConfigurator.configureESLogging();
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(settings.get("node.name"));

        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), home.resolve("config"), () -> settings.get("node.name"));
        LogConfigurator.configure(env, true);
        Node node = new ShelfRunnerNode(env, List.of(Netty4Plugin.class, CjkAnalysisPlugin.class, RootEndpointPlugin.class));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "shelf-es-runner-shutdown"));

        node.start();
        System.out.println("shelf-es-runner: node started, http on " + settings.get("network.host") + ":" + settings.get("http.port"));
        stopped.await();
    }
}
