package mutants

import (
	"flag"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the mutants table in docs/testing.md")

const (
	docPath    = "../../docs/testing.md"
	tableBegin = "<!-- mutants table: begin (written by go test ./reports/mutants -update) -->\n"
	tableEnd   = "<!-- mutants table: end -->"
)

// TestSuite runs the whole corpus against the default checks: every mutant
// is caught, except the known survivors, which are listed and must
// survive (so that catching one is noticed). The table must equal the one
// in docs/testing.md. The suite takes about 7 s of CPU; with the shrunk
// column, about 35 s (31.8 s user, 3.8 s system on 2 cores).
func TestSuite(t *testing.T) {
	var rs []Result
	for _, m := range Corpus() {
		r, err := Run(m, Options{Root: "../..", Workers: runtime.GOMAXPROCS(0)})
		require.NoError(t, err, m.Name())
		rs = append(rs, r)
		switch {
		case r.Caught && m.Survivor != "":
			t.Errorf("%s is listed as a known survivor but was caught by %s (%s seed %d): remove its Survivor line", m.Name(), r.By, r.File, r.Seed)
		case r.Caught:
			t.Logf("%s: caught by %s after %d seeds: %s\nreplay: %s", m.Name(), r.By, r.Runs, r.Message, r.Replay())
		case m.Survivor != "":
			t.Logf("KNOWN SURVIVOR %s (none of %d seeds): %s", m.Name(), r.Runs, m.Survivor)
		default:
			t.Errorf("%s survived %d seeds of %d plans: no default check catches %q", m.Name(), r.Runs, len(m.Plans), m.Mistake)
		}
	}
	// The shrunk column: every caught mutant's failure shrunk fault by
	// fault (about 20 s of CPU, so -short leaves it out and compares the
	// other columns).
	var shrunk []*Shrunk
	if !testing.Short() {
		var err error
		shrunk, err = ShrinkAll(rs, runtime.GOMAXPROCS(0))
		require.NoError(t, err)
		for i, s := range shrunk {
			if s != nil {
				t.Logf("%s shrunk: %v -> %v in %d runs", rs[i].Mutant.Name(), s.Before, s.After, s.Runs)
				suiteShrunk.Store(shrunkKey(rs[i]), s)
			}
		}
	}
	table := Table(rs, shrunk)
	doc, err := os.ReadFile(docPath)
	require.NoError(t, err)
	before, rest, ok := strings.Cut(string(doc), tableBegin)
	require.True(t, ok, "%s has no %q marker", docPath, tableBegin)
	old, after, ok := strings.Cut(rest, tableEnd)
	require.True(t, ok, "%s has no %q marker", docPath, tableEnd)
	if testing.Short() {
		require.Equal(t, withoutLastColumn(table), withoutLastColumn(old), "the mutants table in %s is stale: go test ./reports/mutants -update", docPath)
		return
	}
	if *update {
		require.NoError(t, os.WriteFile(docPath, []byte(before+tableBegin+table+tableEnd+after), 0o644))
	} else {
		require.Equal(t, table, old, "the mutants table in %s is stale: go test ./reports/mutants -update", docPath)
	}
	checkDocBlock(t, shrinkDocPath, shrinkBegin, shrinkEnd, ShrinkTable(rs, shrunk))
}

const (
	shrinkDocPath = "../../docs/explore.md"
	shrinkBegin   = "<!-- shrunk mutants: begin (written by go test ./reports/mutants -update) -->\n"
	shrinkEnd     = "<!-- shrunk mutants: end -->"
)

// checkDocBlock compares (or with -update rewrites) the text between two
// markers of a doc.
func checkDocBlock(t *testing.T, path, begin, end, text string) {
	t.Helper()
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	before, rest, ok := strings.Cut(string(doc), begin)
	require.True(t, ok, "%s has no %q marker", path, begin)
	old, after, ok := strings.Cut(rest, end)
	require.True(t, ok, "%s has no %q marker", path, end)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(before+begin+text+end+after), 0o644))
		return
	}
	require.Equal(t, text, old, "the table in %s is stale: go test ./reports/mutants -update", path)
}

// withoutLastColumn drops each table row's last cell.
func withoutLastColumn(table string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		line = strings.TrimSuffix(line, " |")
		if i := strings.LastIndex(line, " | "); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// The results do not depend on the number of workers: the lowest failing
// seed of a plan is reported.
func TestWorkersDoNotChangeResults(t *testing.T) {
	m := Corpus()[2] // raft/vote-no-log-check, caught at seed 2
	one, err := Run(m, Options{Root: "../..", Workers: 1})
	require.NoError(t, err)
	four, err := Run(m, Options{Root: "../..", Workers: 4})
	require.NoError(t, err)
	require.True(t, one.Caught)
	require.Equal(t, one, four)
}

func TestSelect(t *testing.T) {
	ms, err := Select("paxos-single")
	require.NoError(t, err)
	require.Len(t, ms, 3)
	_, err = Select("zab")
	require.ErrorContains(t, err, `no mutants of protocol "zab"`)
	require.ErrorContains(t, err, "raft")
}

// Every mutant names a bug its protocol accepts, once.
func TestCorpusBugsAreKnown(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Corpus() {
		require.False(t, seen[m.Name()], "%s twice", m.Name())
		seen[m.Name()] = true
		require.NotEmpty(t, m.Plans, m.Name())
		require.NotEmpty(t, m.Mistake, m.Name())
	}
}
