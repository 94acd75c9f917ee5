package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadTraceRoundTrip(t *testing.T) {
	b := traceOf(t, pingConfig(1), nil)
	tr, err := ReadTrace(bytes.NewReader(b), "ok.jsonl")
	require.NoError(t, err)
	assert.EqualValues(t, 1, tr.Header.Sim.Seed)
	assert.Equal(t, tr.End.Events, tr.Events)
	assert.Greater(t, tr.Events, int64(100))
}

func TestReadTraceBadInput(t *testing.T) {
	good := traceOf(t, pingConfig(1), nil)
	lines := strings.Split(strings.TrimSuffix(string(good), "\n"), "\n")
	join := func(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
	replace := func(i int, s string) []byte {
		c := append([]string(nil), lines...)
		c[i] = s
		return join(c)
	}
	deliver := 0
	for i, l := range lines {
		if strings.Contains(l, `"k":"deliver"`) {
			deliver = i
		}
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "t.jsonl:1: empty file"},
		{"not json", []byte("hello\n"), "t.jsonl:1: not a synod trace header"},
		{"other format", []byte(strings.Replace(lines[0], `"format":1`, `"format":99`, 1) + "\n"), `t.jsonl:1: field "format": trace format 99`},
		{"truncated", join(lines[:len(lines)/2]), "truncated: the trace has no end line"},
		{"cut mid-line", good[:len(good)-40], "t.jsonl:"},
		{"bad json line", replace(5, `{"i":4,`), "t.jsonl:6: malformed JSON"},
		{"out of order", replace(5, strings.Replace(lines[5], `"i":4`, `"i":7`, 1)), `t.jsonl:6: field "i": 7 out of order, want 4`},
		{"bad kind", replace(3, strings.Replace(lines[3], `"k":"start"`, `"k":"teleport"`, 1)), `t.jsonl:4: field "k": "teleport" is not an event kind`},
		{"unknown message", replace(deliver, strings.Replace(lines[deliver], "test.Ping", "test.Pong", -1)), `field "msg": message type "test.Pong" is not registered`},
		{"bad sim config", []byte(strings.Replace(lines[0], `"nodes":5`, `"nodes":0`, 1) + "\n"), `t.jsonl:1: field "sim": nodes: 0 is outside 1..64`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTrace(bytes.NewReader(c.data), "t.jsonl")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestFirstDifference(t *testing.T) {
	a := traceOf(t, pingConfig(1), nil)
	b := traceOf(t, pingConfig(2), nil)
	ta, _ := ReadTrace(bytes.NewReader(a), "a")
	tb, _ := ReadTrace(bytes.NewReader(b), "b")
	i, _, _ := FirstDifference(ta.Lines, ta.Lines)
	assert.Equal(t, -1, i)
	i, x, y := FirstDifference(ta.Lines, tb.Lines)
	assert.GreaterOrEqual(t, i, 0)
	assert.NotEqual(t, string(x), string(y))
}

func FuzzReadTrace(f *testing.F) {
	files, _ := filepath.Glob("testdata/traces/*.jsonl")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ReadTrace(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.jsonl:") {
				t.Fatalf("error does not name the file and line: %v", err)
			}
			return
		}
		if tr.End.Events != tr.Events {
			t.Fatalf("accepted a trace whose end line disagrees")
		}
	})
}

// A trace carries a digest of its header and events: an edit to any line
// (the seed in the header, a message in an event) is detected, and a
// trace without one (an older synod's) is told apart.
func TestTraceDigestDetectsEdits(t *testing.T) {
	good := traceOf(t, pingConfig(1), nil)
	tr, err := ReadTrace(bytes.NewReader(good), "ok.jsonl")
	require.NoError(t, err)
	require.NoError(t, tr.Verify())
	require.True(t, strings.HasPrefix(tr.End.Digest, "sha256:"))

	lines := strings.Split(strings.TrimSuffix(string(good), "\n"), "\n")
	for name, edit := range map[string]func([]string){
		"seed in the header": func(l []string) { l[0] = strings.Replace(l[0], `"seed":1`, `"seed":2`, 1) },
		"duration":           func(l []string) { l[0] = strings.Replace(l[0], `"duration":"`, `"duration":"1`, 1) },
		"an effect": func(l []string) {
			for i := 1; i < len(l); i++ {
				if strings.Contains(l[i], `"at":`) {
					l[i] = strings.Replace(l[i], `"at":`, `"at":1`, 1)
					return
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := append([]string(nil), lines...)
			edit(c)
			require.NotEqual(t, lines, c, "the edit changed nothing")
			tr, err := ReadTrace(strings.NewReader(strings.Join(c, "\n")+"\n"), "t.jsonl")
			require.NoError(t, err, "still a well-formed trace")
			err = tr.Verify()
			require.ErrorContains(t, err, "t.jsonl:")
			require.ErrorContains(t, err, `tampered`)
			require.NotErrorIs(t, err, ErrTraceUnsigned)
		})
	}
	old, err := os.ReadFile("testdata/traces/ping-5ms.jsonl")
	require.NoError(t, err)
	tr, err = ReadTrace(bytes.NewReader(old), "old.jsonl")
	require.NoError(t, err)
	require.ErrorIs(t, tr.Verify(), ErrTraceUnsigned)
}
