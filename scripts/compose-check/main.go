// compose-check validates docker-compose.yml without a Docker engine: compose-go (the loader
// `docker compose` itself uses) checks it against the compose-spec schema and for consistency
// (unknown services, undeclared volumes...), then check() adds what the schema cannot know
// about this stack. Usage: go run ./scripts/compose-check [docker-compose.yml] (from the repo root).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	file := "docker-compose.yml"
	if len(os.Args) > 1 {
		file = os.Args[1]
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		fail(err)
	}
	project, err := load(abs)
	if err != nil {
		fail(fmt.Errorf("%s: %w", file, err))
	}
	configTS := filepath.Join(filepath.Dir(abs), "src", "settings", "sources.ts")
	src, err := os.ReadFile(configTS)
	if err != nil {
		fail(fmt.Errorf("reading the service's env schema: %w", err))
	}
	problems := check(project, serviceEnvNames(string(src)), filepath.Dir(abs))
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "compose-check: %s: %s\n", file, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("compose-check: %s OK (%d services, %d volumes; compose-spec schema and stack checks)\n", file, len(project.Services), len(project.Volumes))
}

func load(abs string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithName("shelf"),
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// serviceEnvNames: every variable src/settings/sources.ts names: the aliases (`name: 'NAME'`)
// and the file variables (`…_VAR = 'NAME'`). Variables derived from settings paths
// (SHELF__<A>__<B>) are accepted by shelfEnvName; the service itself refuses unknown ones.
func serviceEnvNames(sourcesTS string) map[string]bool {
	names := map[string]bool{}
	re := regexp.MustCompile(`(?:name: |_VAR = )'([A-Z][A-Z0-9_]*)'`)
	for _, m := range re.FindAllStringSubmatch(sourcesTS, -1) {
		names[m[1]] = true
	}
	return names
}

// shelfEnvName: a variable the service reads: a named one, or one derived from a settings path.
func shelfEnvName(names map[string]bool, k string) bool {
	return names[k] || regexp.MustCompile(`^SHELF__[A-Z0-9]+(_[A-Z0-9]+)*(__[A-Z0-9]+(_[A-Z0-9]+)*)*$`).MatchString(k)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
	os.Exit(1)
}
