package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shipped are the protocols synod ships, with the exit status of `synod
// run --protocol X` under its default faults: primary-backup is the
// linearizability checker's target and must fail.
var shipped = map[string]int{"raft": 0, "paxos": 0, "paxos-single": 0, "2pc": 0, "paxos-commit": 0,
	"primary-backup": 1, "single": 0, "register": 0, "etcd-raft": 0}

// TestRunProtocolKeepsTheFaults: `synod run --protocol X` runs X under
// the default scenario's faults (or X's own default scenario's), and the
// summary says which scenario ran and that faults were on. It used to
// drop the network's faults and the nemesis (dropped 0, duplicated 0).
func TestRunProtocolKeepsTheFaults(t *testing.T) {
	for name, want := range shipped {
		t.Run(name, func(t *testing.T) {
			code, out, errs := run(t, "run", "--protocol", name)
			require.Equal(t, want, code, out+errs)
			lines := strings.Split(out, "\n")
			require.Greater(t, len(lines), 3, out)
			assert.Equal(t, "synod run: protocol "+name+", ", lines[0][:len("synod run: protocol "+name+", ")])
			assert.Contains(t, lines[1], "  scenario      (")
			assert.True(t, strings.HasPrefix(lines[2], "  faults        on: nemesis ("), lines[2])
			assert.NotContains(t, out, "dropped 0,", "the network's loss is on")
			assert.Contains(t, out, "invariants    0 violations")
		})
	}
	got := map[string]bool{}
	code, out, _ := run(t, "protocols")
	require.Equal(t, 0, code)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		got[strings.Fields(l)[0]] = true
	}
	for name := range got {
		if _, ok := shipped[name]; !ok && !strings.HasPrefix(name, "test-") {
			t.Errorf("protocol %s is not checked here: add it to shipped", name)
		}
	}
}

var wallFigures = regexp.MustCompile(`[0-9.]+s wall \([0-9]+ events/s\)`)

// docOutput finds the block a doc marks "<!-- output of: synod ARGS -->"
// for the command args.
func docOutput(t *testing.T, path, args string) string {
	t.Helper()
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- output of: synod " + regexp.QuoteMeta(args) + " -->\n```\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "%s marks no output of synod %s", path, args)
	return string(m[1])
}

// TestDocsShowWhatRunPrints: the summaries README.md and docs/scenarios.md
// show are what synod prints (wall-clock figures aside); the README's
// copy had gone stale.
func TestDocsShowWhatRunPrints(t *testing.T) {
	for _, c := range []struct{ doc, args string }{
		{"../../../README.md", "run"},
		{"../../../docs/scenarios.md", "run --protocol paxos --nodes 5 --seed 42 --duration 10s"},
	} {
		t.Run(c.doc, func(t *testing.T) {
			want := docOutput(t, c.doc, c.args)
			code, out, errs := run(t, strings.Fields(c.args)...)
			require.Equal(t, 0, code, errs)
			out = wallFigures.ReplaceAllString(out, "WALL")
			for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
				assert.Contains(t, out, wallFigures.ReplaceAllString(l, "WALL")+"\n", "%s is stale; synod %s prints:\n%s", c.doc, c.args, out)
			}
		})
	}
}
