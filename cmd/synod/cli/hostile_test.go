package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bounds every hostile case must stay within: a clear answer, fast,
// in little memory.
const (
	hostileWallMax = 5 * time.Second
	hostileRSSMax  = 200 << 20 // bytes
)

// imageBuild is the build step of the container image (Dockerfile): a
// static binary, no cgo, no paths of this machine in it. The hostile
// corpus runs the binary it makes, so the image's build is checked here.
var imageBuild = []string{"go", "build", "-trimpath", "-o"}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// synodBinary builds the synod binary once per test process, as the
// image builds it.
func synodBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "synod-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "synod")
		cmd := exec.Command(imageBuild[0], append(imageBuild[1:], binPath, "..")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("CGO_ENABLED=0 %s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// TestDockerfileBuildsWhatIsTested: the Dockerfile's build step is the
// one the hostile corpus runs (static, CGO_ENABLED=0), and its image runs
// as a user that is not root.
func TestDockerfileBuildsWhatIsTested(t *testing.T) {
	df, err := os.ReadFile("../../../Dockerfile")
	require.NoError(t, err)
	text := string(df)
	assert.Contains(t, text, "CGO_ENABLED=0 "+strings.Join(imageBuild, " ")+" /out/synod ./cmd/synod")
	assert.Regexp(t, `(?m)^USER [1-9][0-9]*:[1-9][0-9]*$`, text, "the image runs as a non-root user")
	assert.Contains(t, text, `ENTRYPOINT ["/usr/local/bin/synod"]`)
	bin := synodBinary(t)
	out, err := exec.Command("file", bin).CombinedOutput()
	if err == nil {
		assert.Contains(t, string(out), "statically linked", "the binary must run in an empty image")
	}
}

type hostileCase struct {
	name, line string
	args, env  []string
	copies     [][2]string
	exit       int
	says       []string
}

// readCases parses testdata/hostile/cases.txt (its header says how).
func readCases(t *testing.T, path string) []hostileCase {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var cases []hostileCase
	var c *hostileCase
	for i, line := range strings.Split(string(data), "\n") {
		where := fmt.Sprintf("%s:%d", path, i+1)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, ok := strings.CutPrefix(line, "== "); ok {
			cases = append(cases, hostileCase{name: name, line: where, exit: -1})
			c = &cases[len(cases)-1]
			continue
		}
		require.NotNil(t, c, "%s: a key before the first case", where)
		key, val, ok := strings.Cut(line, ": ")
		require.True(t, ok, "%s: want KEY: VALUE", where)
		switch key {
		case "args":
			c.args = strings.Fields(val)
		case "env":
			c.env = append(c.env, val)
		case "copy":
			f := strings.Fields(val)
			require.Len(t, f, 2, "%s: copy SRC DST", where)
			c.copies = append(c.copies, [2]string{f[0], f[1]})
		case "exit":
			c.exit, err = strconv.Atoi(val)
			require.NoError(t, err, where)
		case "says":
			c.says = append(c.says, val)
		default:
			t.Fatalf("%s: unknown key %q", where, key)
		}
	}
	for _, c := range cases {
		require.NotEmpty(t, c.args, "%s: %s has no args", c.line, c.name)
		require.GreaterOrEqual(t, c.exit, 0, "%s: %s has no exit", c.line, c.name)
		require.NotEmpty(t, c.says, "%s: %s says nothing", c.line, c.name)
	}
	return cases
}

// TestHostileCorpus runs every case of testdata/hostile/cases.txt.
func TestHostileCorpus(t *testing.T) {
	bin := synodBinary(t)
	h, err := filepath.Abs("../../../testdata/hostile")
	require.NoError(t, err)
	gen := generateHostileInputs(t, bin)
	for _, c := range readCases(t, filepath.Join(h, "cases.txt")) {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			expand := strings.NewReplacer("{h}", h, "{tmp}", tmp, "{gen}", gen).Replace
			for _, cp := range c.copies {
				src := expand(cp[0])
				if !filepath.IsAbs(src) {
					src = filepath.Join(h, src)
				}
				b, err := os.ReadFile(src)
				require.NoError(t, err, c.line)
				require.NoError(t, os.WriteFile(filepath.Join(tmp, cp[1]), b, 0o644), c.line)
			}
			var args []string
			for _, a := range c.args {
				args = append(args, expand(a))
			}
			res := runBounded(t, bin, args, c.env)
			out := res.out
			assert.Equal(t, c.exit, res.code, "%s: %s: exit status\n%s", c.line, c.name, out)
			for _, s := range c.says {
				assert.Contains(t, out, expand(s), "%s: %s", c.line, c.name)
			}
			assert.NotContains(t, out, "goroutine ", "%s: a stack trace is not an error message", c.line)
			assert.Less(t, res.wall, hostileWallMax, "%s: %s took %v", c.line, c.name, res.wall)
			assert.Less(t, res.rss, int64(hostileRSSMax), "%s: %s used %d MB", c.line, c.name, res.rss>>20)
		})
	}
}

type boundedRun struct {
	code int
	out  string
	wall time.Duration
	rss  int64 // peak resident memory, bytes
}

// runBounded runs the binary with a hard deadline (twice the bound, so a
// hang fails the test rather than the suite) and measures it.
func runBounded(t *testing.T, bin string, args, env []string) boundedRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*hostileWallMax)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	require.NoError(t, cmd.Start())
	peak := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	r := boundedRun{out: out.String(), wall: time.Since(start), rss: peak()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err, "%v", args)
	}
	return r
}

// watchPeakRSS samples a running child's peak resident memory (VmHWM in
// /proc/PID/status) every few milliseconds until the returned function is
// called after the child ended; it returns the largest value seen, in
// bytes. The rusage of a reaped child is no use here: Linux carries the
// parent's high-water mark into a child that execs after a vfork (as Go's
// os/exec does), so a 200 MB test process would make every child look
// 200 MB. A child that lives a few milliseconds may be missed; one that
// grows past the bound cannot do so that fast.
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	status := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(done)
		for {
			if b, err := os.ReadFile(status); err == nil {
				if i := bytes.Index(b, []byte("VmHWM:")); i >= 0 {
					var kb int64
					if _, err := fmt.Sscanf(string(b[i+len("VmHWM:"):]), "%d", &kb); err == nil && kb<<10 > peak.Load() {
						peak.Store(kb << 10)
					}
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// generateHostileInputs makes the inputs too big to commit, and the ones
// derived from a trace of this very binary (so a change of the trace
// format cannot leave them stale).
func generateHostileInputs(t *testing.T, bin string) string {
	t.Helper()
	gen := t.TempDir()
	write := func(name string, b []byte) { require.NoError(t, os.WriteFile(filepath.Join(gen, name), b, 0o644)) }

	trace := filepath.Join(gen, "trace.jsonl")
	r := runBounded(t, bin, []string{"run", "--seed", "3", "--duration", "300ms", "--trace", trace}, nil)
	require.Equal(t, 0, r.code, r.out)
	r = runBounded(t, bin, []string{"sweep", "--protocol", "raft", "--duration", "300ms", "--seeds", "0:2", "--workers", "1", "--quiet", "--out", gen}, nil)
	require.Equal(t, 0, r.code, r.out)
	require.NoError(t, os.Rename(filepath.Join(gen, "sweep.jsonl"), filepath.Join(gen, "sweep-raft.jsonl")))

	good, err := os.ReadFile(trace)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(good), "\n"), "\n")
	edit := func(name string, f func(l []string)) []string {
		c := append([]string(nil), lines...)
		f(c)
		require.NotEqual(t, lines, c, "the edit of %s changed nothing", name)
		write(name, []byte(strings.Join(c, "\n")+"\n"))
		return c
	}
	edit("tampered-seed.jsonl", func(l []string) { l[0] = strings.Replace(l[0], `"seed":3`, `"seed":4`, -1) })
	edit("tampered-event.jsonl", func(l []string) {
		for i := 1; i < len(l); i++ {
			if strings.Contains(l[i], `"at":`) {
				l[i] = strings.Replace(l[i], `"at":`, `"at":1`, 1)
				return
			}
		}
	})
	edit("huge-duration.jsonl", func(l []string) { l[0] = strings.ReplaceAll(l[0], `"duration":"300ms"`, `"duration":"2562047h"`) })
	resigned := edit("resigned.jsonl", func(l []string) { l[0] = strings.ReplaceAll(l[0], `"duration":"300ms"`, `"duration":"20h"`) })
	write("resigned.jsonl", []byte(strings.Join(resign(t, resigned), "\n")+"\n"))
	write("truncated.jsonl", good[:len(good)/2])

	big := bytes.Repeat([]byte("# padding padding padding padding padding padding padding padding\n"), 50<<20/66+1)
	write("big.yaml", big[:50<<20])
	write("deep.yaml", []byte("protocol: raft\nx: "+strings.Repeat("[", 100_000)+"\n"))
	rnd := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(rng.Uint32())
	}
	write("garbage.yaml", rnd)
	f, err := os.Create(filepath.Join(gen, "long-line.jsonl"))
	require.NoError(t, err)
	bw := bufio.NewWriter(f)
	bw.WriteString(`{"seed":0,"outcome":"ok","error":"`)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 70 {
		bw.Write(chunk)
	}
	bw.WriteString("\"}\n")
	require.NoError(t, bw.Flush())
	require.NoError(t, f.Close())
	return gen
}

// resign recomputes a trace's digest after an edit, as someone hiding it
// would.
func resign(t *testing.T, lines []string) []string {
	t.Helper()
	h := sha256.New()
	for _, l := range lines[:len(lines)-1] {
		h.Write([]byte(l + "\n"))
	}
	end := lines[len(lines)-1]
	re := regexp.MustCompile(`"digest":"sha256:[0-9a-f]*"`)
	require.True(t, re.MatchString(end), "no digest in %s", end)
	out := append([]string(nil), lines...)
	out[len(out)-1] = re.ReplaceAllString(end, `"digest":"sha256:`+hex.EncodeToString(h.Sum(nil))+`"`)
	return out
}

// TestSweepStopsOnInterrupt: a sweep over the whole uint64 range starts
// at once, stops within a second of SIGINT with exit status 4, and leaves
// an output the same command resumes.
func TestSweepStopsOnInterrupt(t *testing.T) {
	bin := synodBinary(t)
	dir := t.TempDir()
	args := []string{"sweep", "--protocol", "raft", "--duration", "300ms", "--seeds", "0:18446744073709551615", "--workers", "2", "--out", dir}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	peak := watchPeakRSS(cmd.Process.Pid)
	path := filepath.Join(dir, "sweep.jsonl")
	// Wait for a few seeds, then interrupt.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(path); bytes.Count(b, []byte("\n")) >= 4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	sent := time.Now()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the sweep did not stop within 5 s of SIGINT\n%s", out.String())
	}
	assert.Less(t, time.Since(sent), time.Second, "stops within a second")
	assert.Equal(t, exitInterrupted, cmd.ProcessState.ExitCode(), out.String())
	assert.Contains(t, out.String(), "(18446744073709551615 to run, 0 already done)")
	assert.Contains(t, out.String(), "run the same command again to resume")
	assert.Less(t, peak(), int64(hostileRSSMax), "peak memory")

	// The output is a prefix of the range after the header line, and it
	// resumes where it stopped.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.GreaterOrEqual(t, len(rows), 5)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(rows[0]), &meta))
	assert.Equal(t, "sweep", meta["synod"])
	n := len(rows) - 1
	for i, r := range rows[1:] {
		assert.True(t, strings.HasPrefix(r, fmt.Sprintf(`{"seed":%d,`, i)), "row %d: %s", i, r)
	}
	args[6] = fmt.Sprintf("0:%d", n+1)
	res := runBounded(t, bin, args, nil)
	require.Equal(t, 0, res.code, res.out)
	assert.Contains(t, res.out, fmt.Sprintf("(1 to run, %d already done)", n))
}

// TestRefusedResumeTouchesNothing: a resume refused for mixing
// experiments leaves the output and its lists as they were.
func TestRefusedResumeTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile("../../../testdata/hostile/sweep-raft.jsonl")
	require.NoError(t, err)
	out := filepath.Join(dir, "sweep.jsonl")
	require.NoError(t, os.WriteFile(out, orig, 0o644))
	lists := map[string]string{"sweep-failing.txt": "seed 9 violation: kept\n", "sweep-unknown.txt": "seed 8 unknown: kept\n"}
	for name, text := range lists {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	code, _, errs := run(t, "sweep", "--protocol", "paxos", "--duration", "300ms", "--seeds", "0:4", "--quiet", "--out", dir)
	require.Equal(t, 2, code, errs)
	assert.Contains(t, errs, "protocol raft there, paxos here")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(orig), string(b))
	for name, text := range lists {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, text, string(b), name)
	}
}
