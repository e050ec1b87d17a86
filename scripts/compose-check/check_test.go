package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real file, edited one way at a time: each edit must be caught, by the schema or by check().
func TestCatchesBrokenStacks(t *testing.T) {
	orig, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	configTS, err := os.ReadFile("../../src/settings/sources.ts")
	if err != nil {
		t.Fatal(err)
	}
	shelfEnv := serviceEnvNames(string(configTS))
	for _, name := range []string{"KAFKA_BROKERS", "REDIS_URL", "SHELF_NAMESPACE", "QDRANT_URL", "SHELF_CONFIG", "SHELF_MMR_FEED_LAMBDA"} {
		if !shelfEnv[name] {
			t.Fatalf("serviceEnvNames missed %s", name)
		}
	}

	cases := []struct{ name, from, to, want string }{
		{"valid as committed", "", "", ""},
		{"schema: unknown service key", "    image: redis:7\n", "    image: redis:7\n    restart_policy: always\n", "restart_policy"},
		{"schema: bad duration", "      interval: 5s\n      timeout: 3s\n", "      interval: soon\n      timeout: 3s\n", "interval"},
		{"consistency: undeclared volume", "  redis-data:\n", "", "redis-data"},
		{"no health check", "    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]\n", "    labels: [x]\n    healthcheck:\n      disable: true\n", "no health check"},
		{"unpinned image", "image: redis:7", "image: redis", "fixed version"},
		{"kafka env the image ignores", "KAFKA_NODE_ID: 1", "NODE_ID: 1", "NODE_ID"},
		{"service env the config ignores", "  SHELF_NAMESPACE: shelf", "  SHELF_NAMESPCE: shelf", "SHELF_NAMESPCE"},
		{"start order", "condition: service_completed_successfully", "condition: service_started", "service_completed_successfully"},
		{"wrong broker address", "KAFKA_BROKERS: kafka:9092", "KAFKA_BROKERS: kafka:9094", "advertised"},
		{"security on", "xpack.security.enabled: \"false\"", "xpack.security.enabled: \"true\"", "security off"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := string(orig)
			if c.from != "" {
				if !strings.Contains(text, c.from) {
					t.Fatalf("fixture edit %q no longer applies to docker-compose.yml", c.from)
				}
				text = strings.Replace(text, c.from, c.to, 1)
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "docker-compose.yml")
			must(t, os.WriteFile(file, []byte(text), 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
			var problems []string
			if p, err := load(file); err != nil {
				problems = []string{err.Error()}
			} else {
				problems = check(p, shelfEnv, dir)
			}
			all := strings.Join(problems, "\n")
			if c.want == "" && len(problems) > 0 {
				t.Fatalf("unexpected problems:\n%s", all)
			}
			if c.want != "" && !strings.Contains(all, c.want) {
				t.Fatalf("want a problem mentioning %q, got:\n%s", c.want, all)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
