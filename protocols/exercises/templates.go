package exercises

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// templates holds the skeletons (their Go files compile in this
// repository, so that a test can grade them as shipped) and the READMEs.
//
//go:embed skeletons readme
var templates embed.FS

// Files returns the files `synod exercise init` writes for an exercise,
// by name: the skeleton's Go files, grade_test.go and README.md.
func (e *Exercise) Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	dir := path.Join("skeletons", e.Skeleton)
	ents, err := templates.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("exercise %s: skeleton %s: %v", e.Name, e.Skeleton, err)
	}
	for _, ent := range ents {
		if ent.IsDir() {
			continue
		}
		b, err := templates.ReadFile(path.Join(dir, ent.Name()))
		if err != nil {
			return nil, err
		}
		name := ent.Name()
		if strings.HasSuffix(name, ".tmpl") {
			name = strings.TrimSuffix(name, ".tmpl")
			b = []byte(strings.ReplaceAll(string(b), "{{EXERCISE}}", e.Name))
		}
		out[name] = b
	}
	readme, err := e.Readme()
	if err != nil {
		return nil, err
	}
	out["README.md"] = []byte(readme)
	return out, nil
}

// Readme returns the exercise's README: the task, hints and readings,
// then the graded tests, generated from the suite.
func (e *Exercise) Readme() (string, error) {
	b, err := templates.ReadFile(path.Join("readme", e.Name+".md"))
	if err != nil {
		return "", fmt.Errorf("exercise %s: no README: %v", e.Name, err)
	}
	var s strings.Builder
	s.Write(b)
	s.WriteString("\n## Graded tests\n\n")
	fmt.Fprintf(&s, "%d points in all. Every test is a seeded simulation bounded in simulated time\n", e.Points())
	s.WriteString("and events: the same code gets the same score on any machine.\n\n")
	s.WriteString("| test | points | kind | what it runs |\n|---|---|---|---|\n")
	for _, t := range e.Tests {
		kind := t.Kind
		if t.Kind == "property" {
			kind = fmt.Sprintf("property, %d seeds", t.Seeds)
		}
		what, _, _ := strings.Cut(strings.TrimPrefix(t.YAML, "# "), "\n")
		if t.Kind == "determinism" {
			what = "the same seed twice: the traces must be identical, byte for byte"
		}
		fmt.Fprintf(&s, "| %s | %d | %s | %s |\n", t.Name, t.Points, kind, what)
	}
	s.WriteString(scenariosIntro)
	for _, t := range e.Tests {
		fmt.Fprintf(&s, "\n**%s** (%d points, %s", t.Name, t.Points, t.Kind)
		if t.Kind == "property" {
			fmt.Fprintf(&s, ", seeds %d-%d", max(t.FirstSeed, 1), max(t.FirstSeed, 1)+uint64(t.Seeds)-1)
		}
		if x := t.Search; x != nil {
			fmt.Fprintf(&s, ", every schedule to depth %d or %d states", x.DepthMax, x.StatesMax)
		}
		s.WriteString(")\n\n```yaml\n" + strings.TrimRight(t.YAML, "\n") + "\n```\n")
	}
	s.WriteString(workflow)
	return s.String(), nil
}

const scenariosIntro = `
### The graded scenarios

Each test runs one of these scenarios with your protocol (the protocol
line is added). Practice on them with more seeds than the grade uses:
` + "`synod grade --practice .`" + ` runs every property test on ten times
its seeds and every exploration deeper and wider; your teacher may add
hidden tests of the same kinds.
`

const workflow = `
## How to work

    go test -run TestGrade -v            # the whole suite, with the score table
    go test -run 'TestGrade/NAME' -v     # one test
    go test -run 'TestGrade/NAME' -synod.seed 7 -v  # replay one seed of a failing test
    go run github.com/synod-dev/synod/cmd/synod grade .   # the score as your teacher sees it
    go run github.com/synod-dev/synod/cmd/synod grade --practice .   # 10x the seeds: a stress test

A failing test prints the seed, the schedule that led to the failure (the
faults, then the last events up to it, one line each), the trace file under
testdata/failures, and the commands that replay it.

Each test runs in a process of its own: a handler that never returns, a
timer re-armed with zero delay or a message storm fails the test it
happens in (as an infinite loop or a livelock, with the seed and the
event), and the other tests still score.
`

// Init writes the exercise's files into dir, which must be empty or not
// exist yet: it never overwrites a student's work. It returns the paths
// written, sorted.
func Init(e *Exercise, dir string) ([]string, error) {
	files, err := e.Files()
	if err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty: choose a new directory (init never overwrites your work)", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	slices.Sort(written)
	return written, nil
}
