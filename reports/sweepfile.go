package reports

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// SweepFormat is the version of the sweep output format (its first line,
// SweepMeta, then one SeedResult per line).
const SweepFormat = 1

// SweepMeta is the first line of a sweep output: what made it. A resumed
// sweep and a merge compare it, so that rows of two experiments can never
// end up in one file: same synod version, protocol, scenario (its
// resolved content, seed aside, which covers the file and every flag that
// changes it) and leader sampling interval.
type SweepMeta struct {
	Synod    string `json:"synod"` // always "sweep"
	Format   int    `json:"format"`
	Version  string `json:"version"`
	Protocol string `json:"protocol"`
	// ScenarioSHA256 is the hash of Scenario.
	ScenarioSHA256 string `json:"scenario_sha256"`
	// Scenario is the resolved scenario with seed zero, as in a trace
	// header, so a refusal can say which field differs.
	Scenario json.RawMessage `json:"scenario"`
	Sample   sim.Time        `json:"sample"`
	// Command is the command line that started the output, for people:
	// it is not compared (two spellings of one scenario are one
	// experiment).
	Command string `json:"command,omitempty"`
}

// NewSweepMeta describes a sweep of a scenario.
func NewSweepMeta(sc *scenario.Scenario, sample sim.Time, command string) SweepMeta {
	c := sc.Clone()
	c.Seed = 0
	js := c.JSON()
	sum := sha256.Sum256(js)
	return SweepMeta{Synod: "sweep", Format: SweepFormat, Version: sim.Version, Protocol: sc.Protocol,
		ScenarioSHA256: hex.EncodeToString(sum[:]), Scenario: js, Sample: sample, Command: command}
}

// Differences names what differs between the experiment that made an
// output (m) and another (now), one phrase each; none when they are the
// same experiment.
func (m *SweepMeta) Differences(now *SweepMeta) []string {
	var d []string
	if m.Version != now.Version {
		d = append(d, fmt.Sprintf("synod version %s there, %s here", m.Version, now.Version))
	}
	if m.Protocol != now.Protocol {
		d = append(d, fmt.Sprintf("protocol %s there, %s here", m.Protocol, now.Protocol))
	}
	if m.ScenarioSHA256 != now.ScenarioSHA256 {
		fields := jsonFieldDiffs(m.Scenario, now.Scenario)
		if len(fields) == 0 {
			fields = []string{"content"}
		}
		d = append(d, fmt.Sprintf("scenario (%s) differs: sha256 %.12s there, %.12s here", strings.Join(fields, ", "), m.ScenarioSHA256, now.ScenarioSHA256))
	}
	if m.Sample != now.Sample {
		d = append(d, fmt.Sprintf("--sample %v there, %v here", m.Sample, now.Sample))
	}
	return d
}

// jsonFieldDiffs lists the top-level fields of two JSON objects that
// differ, sorted.
func jsonFieldDiffs(a, b json.RawMessage) []string {
	var x, y map[string]json.RawMessage
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return nil
	}
	var out []string
	for k, v := range x {
		if w, ok := y[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// SeedSet is a set of seeds kept as sorted, disjoint, non-adjacent
// half-open intervals. A sweep writes its seeds in order, so the seeds of
// an output are a few intervals whatever their number.
type SeedSet struct{ runs []Range }

// Add puts a seed in the set. The largest uint64 is never a seed of a
// range (ranges are half-open), so seed+1 does not overflow.
func (s *SeedSet) Add(seed uint64) {
	i := sort.Search(len(s.runs), func(i int) bool { return s.runs[i].Lo > seed })
	if i > 0 && seed < s.runs[i-1].Hi {
		return // already in
	}
	joinsLeft := i > 0 && s.runs[i-1].Hi == seed
	joinsRight := i < len(s.runs) && s.runs[i].Lo == seed+1
	switch {
	case joinsLeft && joinsRight:
		s.runs[i-1].Hi = s.runs[i].Hi
		s.runs = slices.Delete(s.runs, i, i+1)
	case joinsLeft:
		s.runs[i-1].Hi = seed + 1
	case joinsRight:
		s.runs[i].Lo = seed
	default:
		s.runs = slices.Insert(s.runs, i, Range{seed, seed + 1})
	}
}

// Has says whether the seed is in the set.
func (s *SeedSet) Has(seed uint64) bool {
	i := sort.Search(len(s.runs), func(i int) bool { return s.runs[i].Lo > seed })
	return i > 0 && seed < s.runs[i-1].Hi
}

// Len is the number of seeds in the set.
func (s *SeedSet) Len() uint64 {
	var n uint64
	for _, r := range s.runs {
		n += r.Len()
	}
	return n
}

// CountIn is the number of seeds of the set inside a range.
func (s *SeedSet) CountIn(r Range) uint64 {
	var n uint64
	for _, x := range s.runs {
		lo, hi := max(x.Lo, r.Lo), min(x.Hi, r.Hi)
		if lo < hi {
			n += hi - lo
		}
	}
	return n
}

// sweepLineMax bounds one line of a sweep output (a nonlinearizable
// seed's explanation is the longest part of a row).
const sweepLineMax = 16 << 20

// ScanResults reads a sweep output line by line, in constant memory,
// calling fn with each result. It returns the output's first line (nil
// for an output written before sweeps recorded one) and good, the offset
// after the last complete line: a final line without its newline (an
// interrupted write) is ignored, so a resumed sweep can truncate the file
// there and append. Each row must be a sweep result: a synod trace, or
// any other JSON, is refused by its first line.
func ScanResults(r io.Reader, fn func(*SeedResult) error) (meta *SweepMeta, good int64, err error) {
	return ScanSweep(r, nil, fn)
}

// ScanSweep is ScanResults with onMeta, when not nil, called once with
// the first line's meta (nil for an output without one) before any row,
// so a caller can refuse an output before it reads its rows.
func ScanSweep(r io.Reader, onMeta func(*SweepMeta) error, fn func(*SeedResult) error) (meta *SweepMeta, good int64, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	line := 0
	var buf []byte
	for {
		buf = buf[:0]
		var chunk []byte
		for {
			chunk, err = br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if len(buf) > sweepLineMax {
				return meta, good, fmt.Errorf("line %d: over %d bytes: not a sweep output", line+1, sweepLineMax)
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err == io.EOF {
			return meta, good, nil // a torn last line (or none) is left out
		}
		if err != nil {
			return meta, good, err
		}
		line++
		row := buf[:len(buf)-1]
		if line == 1 {
			m, isMeta, err := readMeta(row)
			if err != nil {
				return nil, good, fmt.Errorf("line 1: %v", err)
			}
			if !isMeta {
				// A row first: say what is wrong with it before saying
				// that the header is missing.
				var sr SeedResult
				if err := readRow(row, &sr); err != nil {
					return nil, good, fmt.Errorf("line 1: %v", err)
				}
			}
			if onMeta != nil {
				if err := onMeta(m); err != nil {
					return m, good, err
				}
			}
			if isMeta {
				meta = m
				good += int64(len(buf))
				continue
			}
		}
		var sr SeedResult
		if err := readRow(row, &sr); err != nil {
			return meta, good, fmt.Errorf("line %d: %v", line, err)
		}
		if err := fn(&sr); err != nil {
			return meta, good, fmt.Errorf("line %d: %v", line, err)
		}
		good += int64(len(buf))
	}
}

// readMeta reads a first line: a sweep's meta line (isMeta), a row of an
// older output (neither), or a trace's header (an error naming it).
func readMeta(b []byte) (*SweepMeta, bool, error) {
	var probe struct {
		Synod *string `json:"synod"`
	}
	if json.Unmarshal(b, &probe) != nil || probe.Synod == nil {
		return nil, false, nil
	}
	switch *probe.Synod {
	case "sweep":
	case "trace":
		return nil, false, errors.New("this is a synod trace, not a sweep output (synod replay and synod report diagram read traces)")
	default:
		return nil, false, fmt.Errorf("field \"synod\": %q is not \"sweep\": not a sweep output", *probe.Synod)
	}
	var m SweepMeta
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return nil, false, fmt.Errorf("bad sweep header: %v", err)
	}
	if m.Format != SweepFormat {
		return nil, false, fmt.Errorf("field \"format\": sweep format %d, but this synod reads format %d", m.Format, SweepFormat)
	}
	return &m, true, nil
}

// readRow decodes one result strictly: unknown fields, a missing seed or
// outcome, or an outcome synod does not know make the line an error.
func readRow(b []byte, sr *SeedResult) error {
	var probe struct {
		Seed    *uint64 `json:"seed"`
		Outcome *string `json:"outcome"`
		I       *int64  `json:"i"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return fmt.Errorf("not a sweep result: %v", err)
	}
	switch {
	case probe.I != nil:
		return errors.New("a trace event, not a sweep result: this looks like a synod trace")
	case probe.Seed == nil:
		return errors.New("field \"seed\": missing: not a sweep result")
	case probe.Outcome == nil:
		return errors.New("field \"outcome\": missing: not a sweep result")
	case !slices.Contains(Outcomes, *probe.Outcome):
		return fmt.Errorf("field \"outcome\": %q is not one of %s", *probe.Outcome, strings.Join(Outcomes, ", "))
	case *probe.Seed == math.MaxUint64:
		return fmt.Errorf("field \"seed\": %d is past every range (HI is exclusive)", *probe.Seed)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(sr); err != nil {
		return fmt.Errorf("not a sweep result: %v", err)
	}
	sr.upgrade()
	return nil
}

// ReadResults reads a whole sweep output into memory (see ScanResults).
func ReadResults(r io.Reader) (res []SeedResult, good int64, err error) {
	_, good, err = ScanResults(r, func(sr *SeedResult) error {
		res = append(res, *sr)
		return nil
	})
	return res, good, err
}

// upgrade reclassifies a row written before the unknown outcome existed:
// such sweeps wrote an undecided linearizability check as outcome ok, and
// a resumed or merged sweep must not count it as a pass.
func (r *SeedResult) upgrade() {
	if r.Outcome == OutcomeOK && r.Linearizable == string(protocols.LinUnknown) {
		r.Outcome = OutcomeUnknown
		if r.LinReason == "" {
			r.LinReason = (&scenario.Result{Linearizable: r.Linearizable}).UndecidedReason()
		}
	}
}

// SweepFile is a sweep output read back.
type SweepFile struct {
	Path    string
	Meta    *SweepMeta // nil for an output of an older synod
	Results []SeedResult
}

// ReadSweepFile reads a sweep output file.
func ReadSweepFile(path string) (*SweepFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sf := &SweepFile{Path: path}
	sf.Meta, _, err = ScanResults(f, func(sr *SeedResult) error {
		sf.Results = append(sf.Results, *sr)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return sf, nil
}

// ReadResultsFile reads a sweep output file's results.
func ReadResultsFile(path string) ([]SeedResult, error) {
	sf, err := ReadSweepFile(path)
	if err != nil {
		return nil, err
	}
	return sf.Results, nil
}

// SameExperiment checks that sweep outputs come from one experiment (see
// SweepMeta) and returns its meta (nil when every file predates the meta
// line). A file without a meta line cannot be checked, so it is refused
// beside files that have one.
func SameExperiment(files []*SweepFile) (*SweepMeta, error) {
	var first *SweepFile
	for _, f := range files {
		if f.Meta != nil {
			first = f
			break
		}
	}
	if first == nil {
		return nil, nil
	}
	for _, f := range files {
		if f.Meta == nil {
			return nil, fmt.Errorf("%s has no sweep header line (an older synod wrote it), %s has one: cannot check they are one experiment", f.Path, first.Path)
		}
		if d := first.Meta.Differences(f.Meta); len(d) > 0 {
			return nil, fmt.Errorf("%s and %s are different experiments: %s", first.Path, f.Path, strings.Join(d, "; "))
		}
	}
	return first.Meta, nil
}

// Merge combines shard outputs into one seed-ordered list. A seed present
// twice must have the same result (wall time aside); otherwise it is an
// error, as is any shard line that is not a result.
func Merge(parts ...[]SeedResult) ([]SeedResult, error) {
	var all []SeedResult
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.SortStableFunc(all, func(a, b SeedResult) int {
		switch {
		case a.Seed < b.Seed:
			return -1
		case a.Seed > b.Seed:
			return 1
		}
		return 0
	})
	out := all[:0]
	for i, r := range all {
		if i > 0 && r.Seed == all[i-1].Seed {
			a, b := r, all[i-1]
			a.WallMs, b.WallMs = 0, 0
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				return nil, fmt.Errorf("seed %d appears twice with different results", r.Seed)
			}
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
