package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// The servers the stack must run, and what `shelf` must wait for before it starts.
var servers = []string{"qdrant", "elasticsearch", "kafka", "redis"}

// Environment names each image documents (see README.md, "Production stack", for sources):
// apache/kafka maps KAFKA_<PROPERTY> to server.properties and reads CLUSTER_ID; the
// Elasticsearch image takes any setting with a dot in its name and ES_JAVA_OPTS; Qdrant reads
// QDRANT__SECTION__KEY.
var imageEnv = map[string]*regexp.Regexp{
	"kafka":         regexp.MustCompile(`^(KAFKA_[A-Z0-9_]+|CLUSTER_ID)$`),
	"elasticsearch": regexp.MustCompile(`^([a-z0-9_]+(\.[a-z0-9_]+)+|ES_JAVA_OPTS)$`),
	"qdrant":        regexp.MustCompile(`^QDRANT__[A-Z0-9_]+$`),
	"redis":         regexp.MustCompile(`^$`),
}

// check returns every way the project falls short of the stack README.md describes.
func check(p *types.Project, shelfEnv map[string]bool, dir string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, name := range append([]string{"shelf", "indexer"}, servers...) {
		if _, ok := p.Services[name]; !ok {
			add("service %q is missing", name)
		}
	}
	if len(problems) > 0 {
		return problems
	}
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		oneShot := s.Restart == "no"
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build.Context, orDefault(s.Build.Dockerfile, "Dockerfile"))); err != nil {
				add("service %q builds from %s, which has no Dockerfile", name, s.Build.Context)
			}
		} else if !pinned(s.Image) {
			add("service %q: image %q must name a fixed version, not latest", name, s.Image)
		}
		if !oneShot && (s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0) {
			add("service %q has no health check (only one-shot jobs, restart: \"no\", may go without)", name)
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeVolume {
				add("service %q mounts %s as a %s: data must live in named volumes", name, v.Target, v.Type)
			}
		}
		allowed := imageEnv[name]
		for _, k := range sortedKeys(s.Environment) {
			switch {
			case name == "shelf" || name == "indexer":
				if !shelfEnvName(shelfEnv, k) {
					add("service %q sets %s, which the service's settings do not read (src/settings/sources.ts)", name, k)
				}
			case allowed != nil && !allowed.MatchString(k):
				add("service %q sets %s, which its image does not read", name, k)
			}
		}
	}
	problems = append(problems, checkWiring(p)...)
	return problems
}

// checkWiring: start order, and that the service's URLs point at the servers as configured.
func checkWiring(p *types.Project) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	shelf := p.Services["shelf"]
	if d, ok := shelf.DependsOn["indexer"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		add("shelf must depend on indexer with condition service_completed_successfully")
	}
	for _, s := range servers {
		if d, ok := shelf.DependsOn[s]; !ok || d.Condition != types.ServiceConditionHealthy {
			add("shelf must depend on %s with condition service_healthy", s)
		}
	}
	for _, s := range []string{"elasticsearch", "qdrant"} {
		if d, ok := p.Services["indexer"].DependsOn[s]; !ok || d.Condition != types.ServiceConditionHealthy {
			add("indexer must depend on %s with condition service_healthy", s)
		}
	}
	kafka := p.Services["kafka"].Environment
	for _, k := range []string{"KAFKA_PROCESS_ROLES", "KAFKA_NODE_ID", "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_CONTROLLER_LISTENER_NAMES"} {
		if val(kafka, k) == "" {
			add("kafka needs %s for KRaft mode", k)
		}
	}
	if val(kafka, "KAFKA_ZOOKEEPER_CONNECT") != "" {
		add("kafka must run in KRaft mode, without ZooKeeper")
	}
	es := p.Services["elasticsearch"].Environment
	if val(es, "discovery.type") != "single-node" || val(es, "xpack.security.enabled") != "false" {
		add("elasticsearch must be single-node with security off (the service speaks plain HTTP)")
	}
	for _, svc := range []string{"shelf", "indexer"} {
		env := p.Services[svc].Environment
		for k, target := range map[string]string{"ELASTICSEARCH_URL": "elasticsearch:9200", "QDRANT_URL": "qdrant:6333", "REDIS_URL": "redis:6379"} {
			if u, err := url.Parse(val(env, k)); err != nil || u.Host != target {
				add("%s: %s should point at %s", svc, k, target)
			}
		}
		if svc == "shelf" && !strings.Contains(val(kafka, "KAFKA_ADVERTISED_LISTENERS"), "://"+val(env, "KAFKA_BROKERS")) {
			add("shelf: KAFKA_BROKERS %q is not one of kafka's advertised listeners", val(env, "KAFKA_BROKERS"))
		}
	}
	return problems
}

func pinned(image string) bool {
	i := strings.LastIndex(image, ":")
	return i > strings.LastIndex(image, "/") && image[i+1:] != "latest"
}

func val(env types.MappingWithEquals, k string) string {
	if v, ok := env[k]; ok && v != nil {
		return *v
	}
	return ""
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
