package cli

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExerciseListsTheSequence(t *testing.T) {
	code, out, _ := run(t, "exercise", "list")
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7)
	for i, name := range []string{"raft-election", "raft-replication", "raft-persistence", "raft-snapshots", "paxos-single", "multi-paxos", "2pc-recovery"} {
		assert.Contains(t, lines[i], name)
	}
}

// TestExerciseListMatchesDocs checks that docs/exercises.md shows the
// exercises and their points as `synod exercise list` prints them: the
// totals come from the suites, never typed by hand.
func TestExerciseListMatchesDocs(t *testing.T) {
	code, out, _ := run(t, "exercise", "list")
	require.Equal(t, 0, code)
	doc, err := os.ReadFile("../../../docs/exercises.md")
	require.NoError(t, err)
	require.Contains(t, string(doc), "$ synod exercise list\n"+out+"```", "docs/exercises.md: the exercise list is stale")
}

func TestExerciseInitBadInput(t *testing.T) {
	dir := labDir(t)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine.go"), []byte("package x\n"), 0o644))
	code, _, errs := run(t, "exercise", "init", "raft-election", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "is not empty")
	// Outside any Go module the package could not build: a clear error
	// now, not a crash of grade later.
	outside := filepath.Join(t.TempDir(), "lab")
	code, _, errs = run(t, "exercise", "init", "raft-election", outside)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "is not inside a Go module")
	assert.NoDirExists(t, outside)
	// Inside a module that does not require synod: the same.
	mod := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/labs\n\ngo 1.22\n"), 0o644))
	code, _, errs = run(t, "exercise", "init", "raft-election", filepath.Join(mod, "raft"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "inside module example.com/labs")
	assert.Contains(t, errs, "does not require github.com/synod-dev/synod")
	code, _, errs = run(t, "exercise", "init", "raft-elections", t.TempDir())
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `unknown exercise "raft-elections"`)
	code, _, errs = run(t, "grade", t.TempDir())
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "no test calls exercises.GradeT")
}

// labDir makes a student directory inside this module, so that the
// generated package resolves github.com/synod-dev/synod; the leading
// underscore keeps it out of ./... patterns. Each test gets a directory of
// its own, and grade keeps its state in its command and its go test
// process, so the grading tests run in parallel (t.Parallel): each spends
// its time waiting on a go test process that uses about one core, and run
// one after the other they were the package's long pole.
func labDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("../../../protocols/exercises", "_lab")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "lab")
}

// TestGradeSkeletonWithHiddenTests grades a freshly initialized skeleton
// in a subprocess, with a teacher's hidden test: it builds, scores zero on
// the core tests and names the hidden one.
func TestGradeSkeletonWithHiddenTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	dir := labDir(t)
	code, out, errs := run(t, "exercise", "init", "raft-election", dir)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "grade_test.go")
	hidden := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(hidden, "tests.yaml"), []byte(`
- {name: seven-nodes, exercise: raft-election, points: 7, scenario: seven.yaml, seeds: 2, first_seed: 9000, leader: true}
- {name: other, exercise: multi-paxos, points: 3, scenario: seven.yaml}
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(hidden, "seven.yaml"), []byte("# seven nodes elect a leader\nprotocol: raft\nnodes: 7\nduration: 2s\nworkload: {clients: 0}\n"), 0o644))
	code, out, errs = run(t, "grade", dir, "--short", "--hidden", hidden)
	require.Equal(t, 1, code, out+errs)
	assert.Contains(t, out, "initial-election             0/10")
	assert.Contains(t, out, "seven-nodes (hidden)         0/7")
	assert.NotContains(t, out, "other")
	assert.Contains(t, out, "SCORE 5/97")
	absDir, err := filepath.Abs(dir)
	require.NoError(t, err)
	assert.Contains(t, out, "retest: go test -C "+absDir+" -run '^TestGrade$/^initial-election$' -synod.seed 1 -v", "works from any directory")
}

// TestGradeReportsInfiniteLoop plants a handler that never returns once
// the term passes 3 into a correct election: grade reports an infinite
// loop, with its seed, event and the handler's stack, in each test that
// gets there, and only there: the other tests still score.
func TestGradeReportsInfiniteLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	spin := map[string]string{"onElectionTimeout": strings.Replace(electionSolution["onElectionTimeout"],
		"\tn.term++\n", "\tn.term++\n\tfor n.term > 3 {\n\t\tn.commit++\n\t}\n", 1)}
	require.NotEqual(t, electionSolution["onElectionTimeout"], spin["onElectionTimeout"])
	dir, path, src := newLab(t, "raft-election", "raft.go", electionSolution, spin)
	code, out, errs := gradeLab(t, dir, path, src+observe, "--short")
	require.Equal(t, 1, code, out+errs)
	// The seeds column counts the seeds reached, the hanging one
	// included (never 0: the watchdog writes the result).
	assert.Regexp(t, `split-votes-retry +0/5 +1 +FAIL: infinite-loop`, out)
	assert.Regexp(t, `election-chaos +0/10 +[1-3] +FAIL: infinite-loop`, out)
	assert.Contains(t, out, "initial-election            10/10")
	assert.Contains(t, out, "a handler has not returned after")
	assert.Contains(t, out, "onElectionTimeout")
	assert.Regexp(t, `seed \d+, in event #\d+`, out)
	assert.NotContains(t, out, "SCORE 0/")
}

// replaceBody replaces the body of method name of *Node in Go source.
func replaceBody(t *testing.T, src, name, body string) string {
	t.Helper()
	head := "func (n *Node) " + name + "("
	i := strings.Index(src, head)
	require.GreaterOrEqual(t, i, 0, "no method %s", name)
	open := i + strings.Index(src[i:], "{\n") + 2
	end := open + strings.Index(src[open:], "\n}\n")
	return src[:open] + body + src[end:]
}

// newLab makes a lab of exercise in a fresh directory (labDir), as
// `synod exercise init` does for a student, and returns it with the path
// of its file and that file's source with the solutions' bodies filled in
// (a later map's body for a method replaces an earlier one's: the
// snapshot solution extends the replication one, which extends the
// election one).
func newLab(t *testing.T, exercise, file string, solutions ...map[string]string) (dir, path, src string) {
	t.Helper()
	dir = labDir(t)
	code, _, errs := run(t, "exercise", "init", exercise, dir)
	require.Equal(t, 0, code, errs)
	path = filepath.Join(dir, file)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	bodies := map[string]string{}
	for _, m := range solutions {
		maps.Copy(bodies, m)
	}
	src = string(b)
	for name, body := range bodies {
		src = replaceBody(t, src, name, body)
	}
	return dir, path, src
}

// gradeLab writes src to the lab's file at path and grades the lab with
// `synod grade dir args...`.
func gradeLab(t *testing.T, dir, path, src string, args ...string) (code int, out, errs string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return run(t, append([]string{"grade", dir}, args...)...)
}

// electionSolution fills in the raft-election TODOs of the skeleton, as a
// student would: it shows that the skeleton, its view and the graded
// suite fit together, and that a solution written there scores full marks.
var electionSolution = map[string]string{
	"onElectionTimeout": `	if n.role == Leader {
		n.resetElectionTimer(env)
		return
	}
	n.term++
	n.role, n.votedFor, n.leader = Candidate, n.id, 0
	n.votes = map[sim.NodeID]bool{n.id: true}
	n.persist(env)
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &RequestVote{Term: n.term, LastLogIndex: n.lastIndex(), LastLogTerm: n.lastTerm()})
		}
	}
	n.resetElectionTimer(env)`,
	"onRequestVote": `	n.observe(env, m.Term)
	upToDate := m.LastLogTerm > n.lastTerm() || (m.LastLogTerm == n.lastTerm() && m.LastLogIndex >= n.lastIndex())
	granted := m.Term == n.term && (n.votedFor == 0 || n.votedFor == from) && upToDate
	if granted {
		n.votedFor = from
		n.persist(env)
		n.resetElectionTimer(env)
	}
	env.Send(from, &RequestVoteReply{Term: n.term, Granted: granted})`,
	"onRequestVoteReply": `	n.observe(env, m.Term)
	if n.role != Candidate || m.Term != n.term || !m.Granted {
		return
	}
	n.votes[from] = true
	if len(n.votes) > len(env.Nodes())/2 {
		n.role, n.leader = Leader, n.id
		n.onHeartbeat(env)
	}`,
	"onHeartbeat": `	if n.role != Leader {
		return
	}
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &AppendEntries{Term: n.term, PrevLogIndex: n.lastIndex(), PrevLogTerm: n.lastTerm(), LeaderCommit: n.commit})
		}
	}
	env.SetTimer(n.opts.HeartbeatInterval, "heartbeat", 0)`,
	"onAppendEntries": `	n.observe(env, m.Term)
	if m.Term < n.term {
		env.Send(from, &AppendEntriesReply{Term: n.term})
		return
	}
	n.role, n.leader = Follower, from
	n.resetElectionTimer(env)
	env.Send(from, &AppendEntriesReply{Term: n.term, Success: true, Match: m.PrevLogIndex})`,
	"onAppendEntriesReply": `	n.observe(env, m.Term)`,
}

const observe = `
// observe steps down to a follower of a higher term.
func (n *Node) observe(env *sim.Env, term int64) {
	if term > n.term {
		n.term, n.votedFor, n.role, n.leader = term, 0, Follower, 0
		n.persist(env)
	}
}
`

// TestGradeSolvedElectionFullMarks grades the skeleton with the election
// filled in: full marks on raft-election.
func TestGradeSolvedElectionFullMarks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	dir, path, src := newLab(t, "raft-election", "raft.go", electionSolution)
	code, out, errs := gradeLab(t, dir, path, src+observe)
	require.Equal(t, 0, code, out+errs)
	assert.Contains(t, out, "SCORE 90/90")
}

// synodSolution fills in the paxos-single skeleton as a student would.
var synodSolution = map[string]string{
	"Start": `	n.waiting = map[sim.NodeID]int64{}
	if b, ok := env.Load("acceptor"); ok {
		var st struct {
			Promised, Accepted Ballot
			Value              *protocols.Request
		}
		if err := json.Unmarshal(b, &st); err != nil {
			panic(err)
		}
		n.promised, n.accepted, n.acceptedVal = st.Promised, st.Accepted, st.Value
	}`,
	"onRequest": `	if n.chosen != nil {
		env.Send(req.Client, n.answer(req.Client, req.Seq))
		return
	}
	n.waiting[req.Client] = req.Seq
	if n.promises == nil && n.accepts == nil {
		n.proposal = *req
		n.startBallot(env)
	}`,
	"onPrepare": `	if n.chosen != nil {
		env.Send(from, &Decided{Value: *n.chosen})
		return
	}
	if m.Ballot.Less(n.promised) {
		env.Send(from, &Promise{Ballot: m.Ballot, Accepted: n.promised})
		return
	}
	n.promised = m.Ballot
	n.save(env)
	env.Send(from, &Promise{Ballot: m.Ballot, OK: true, Accepted: n.accepted, Value: n.acceptedVal})`,
	"onPromise": `	if m.Ballot != n.ballot || n.promises == nil || n.accepts != nil || n.chosen != nil {
		return
	}
	if !m.OK {
		n.seen = max(n.seen, m.Accepted.Round)
		return
	}
	n.promises[from] = m
	if len(n.promises) <= len(env.Nodes())/2 {
		return
	}
	best := Ballot{}
	for _, id := range env.Nodes() {
		if p := n.promises[id]; p != nil && p.Value != nil && best.Less(p.Accepted) {
			best, n.proposal = p.Accepted, *p.Value
		}
	}
	n.accepts = map[sim.NodeID]bool{}
	for _, to := range env.Nodes() {
		env.Send(to, &Accept{Ballot: n.ballot, Value: n.proposal})
	}`,
	"onAccept": `	if m.Ballot.Less(n.promised) {
		env.Send(from, &Accepted{Ballot: m.Ballot})
		return
	}
	v := m.Value
	n.promised, n.accepted, n.acceptedVal = m.Ballot, m.Ballot, &v
	n.save(env)
	env.Send(from, &Accepted{Ballot: m.Ballot, OK: true})`,
	"onAccepted": `	if m.Ballot != n.ballot || n.accepts == nil || !m.OK || n.chosen != nil {
		return
	}
	n.accepts[from] = true
	if len(n.accepts) <= len(env.Nodes())/2 {
		return
	}
	n.learn(env, &n.proposal)
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &Decided{Value: n.proposal})
		}
	}`,
	"onRetry": `	if n.chosen != nil || round != n.ballot.Round || len(n.waiting) == 0 {
		return
	}
	n.startBallot(env)`,
	"learn": `	if n.chosen != nil {
		return
	}
	c := *v
	n.chosen = &c
	clients := make([]sim.NodeID, 0, len(n.waiting))
	for id := range n.waiting {
		clients = append(clients, id)
	}
	slices.Sort(clients)
	for _, id := range clients {
		env.Send(id, n.answer(id, n.waiting[id]))
	}
	clear(n.waiting)`,
}

const synodHelpers = `
func (n *Node) startBallot(env *sim.Env) {
	round := max(n.seen, n.promised.Round, n.ballot.Round) + 1
	n.ballot = Ballot{Round: round, Node: n.id}
	n.promises, n.accepts = map[sim.NodeID]*Promise{}, nil
	for _, to := range env.Nodes() {
		env.Send(to, &Prepare{Ballot: n.ballot})
	}
	env.SetTimer(env.Rand().Between(n.opts.RetryMin, n.opts.RetryMax), "retry", round)
}

func (n *Node) save(env *sim.Env) {
	b, err := json.Marshal(struct {
		Promised, Accepted Ballot
		Value              *protocols.Request
	}{n.promised, n.accepted, n.acceptedVal})
	if err != nil {
		panic(err)
	}
	env.Store("acceptor", b)
}
`

// TestGradeSolvedSynodFullMarks grades the paxos-single skeleton with the
// Synod protocol filled in: full marks.
func TestGradeSolvedSynodFullMarks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	dir, path, src := newLab(t, "paxos-single", "paxos.go", synodSolution)
	src = strings.Replace(src, "import (\n", "import (\n\t\"encoding/json\"\n\t\"slices\"\n", 1)
	src = strings.Replace(src, "\tballot   Ballot\n", "\tballot   Ballot\n\tseen     int64\n", 1)
	code, out, errs := gradeLab(t, dir, path, src+synodHelpers)
	require.Equal(t, 0, code, out+errs)
	assert.Contains(t, out, "SCORE 65/65")

	// The classic bug: a proposer that ignores the accepted values its
	// promises report and proposes its own. Two values get chosen.
	bad := strings.Replace(src, "best, n.proposal = p.Accepted, *p.Value", "best = p.Accepted", 1)
	require.NotEqual(t, src, bad)
	code, out, errs = gradeLab(t, dir, path, bad+synodHelpers)
	require.Equal(t, 1, code, out+errs)
	assert.Contains(t, out, "FAIL: violation")
	assert.Contains(t, out, "agreement")
}

// twopcSolution fills in the 2pc-recovery skeleton as a student would:
// presumed abort, a logged decision before any is sent, participants that
// log their yes vote and ask until they hear the outcome.
var twopcSolution = map[string]string{
	"Start": `	n.txns = map[twopc.TxnID]*txn{}
	n.data = map[string]int64{}
	n.locks = map[string]twopc.TxnID{}
	n.prepared = map[twopc.TxnID][]twopc.Op{}
	n.outcomes = map[twopc.TxnID]twopc.Outcome{}
	if n.coordinator() {
		if b, ok := env.Load("inc"); ok {
			n.inc, _ = strconv.ParseInt(string(b), 10, 64)
		}
		n.inc++
		env.Store("inc", []byte(strconv.FormatInt(n.inc, 10)))
		for _, k := range env.Keys("d/") {
			b, _ := env.Load(k)
			var d decision
			must(json.Unmarshal(b, &d))
			n.outcomes[d.Txn] = d.Outcome
		}
		return
	}
	if b, ok := env.Load("data"); ok {
		must(json.Unmarshal(b, &n.data))
	} else {
		for i := 0; i < n.opts.Accounts; i++ {
			if k := twopc.AccountKey(i); n.owner(k) == n.id {
				n.data[k] = n.opts.InitialBalance
			}
		}
	}
	for _, k := range env.Keys("o/") {
		b, _ := env.Load(k)
		var d decision
		must(json.Unmarshal(b, &d))
		n.outcomes[d.Txn] = d.Outcome
	}
	for _, k := range env.Keys("p/") {
		b, _ := env.Load(k)
		var p prepared
		must(json.Unmarshal(b, &p))
		n.prepared[p.Txn] = p.Ops
		for _, op := range p.Ops {
			n.locks[op.Key] = p.Txn
		}
		env.SetTimer(n.opts.QueryTimeout, "query", int64(p.Txn))
	}`,
	"onRequest": `	n.seq++
	tx := &txn{id: twopc.TxnID(n.inc<<32 | n.seq), client: m.Client, seq: m.Seq, ops: map[sim.NodeID][]twopc.Op{}, votes: map[sim.NodeID]bool{}}
	for _, op := range m.Ops {
		o := n.owner(op.Key)
		if _, ok := tx.ops[o]; !ok {
			tx.parts = append(tx.parts, o)
		}
		tx.ops[o] = append(tx.ops[o], op)
	}
	slices.Sort(tx.parts)
	n.txns[tx.id] = tx
	for _, p := range tx.parts {
		env.Send(p, &twopc.Prepare{Txn: tx.id, Parts: tx.parts, Ops: tx.ops[p], Client: m.Client, Seq: m.Seq})
	}
	env.SetTimer(n.opts.VoteTimeout, "vote-timeout", int64(tx.id))`,
	"onPrepare": `	if _, done := n.outcomes[m.Txn]; done {
		return
	}
	if _, ok := n.prepared[m.Txn]; ok {
		env.Send(from, &twopc.Vote{Txn: m.Txn, Yes: true})
		return
	}
	for _, op := range m.Ops {
		if _, locked := n.locks[op.Key]; locked || n.data[op.Key]+op.Delta < 0 {
			env.Send(from, &twopc.Vote{Txn: m.Txn, Yes: false, Reason: "locked or overdrawn"})
			return
		}
	}
	for _, op := range m.Ops {
		n.locks[op.Key] = m.Txn
	}
	n.prepared[m.Txn] = m.Ops
	env.Store(fmt.Sprintf("p/%d", m.Txn), mustJSON(prepared{Txn: m.Txn, Ops: m.Ops}))
	env.Send(from, &twopc.Vote{Txn: m.Txn, Yes: true})
	env.SetTimer(n.opts.QueryTimeout, "query", int64(m.Txn))`,
	"onVote": `	tx := n.txns[m.Txn]
	if tx == nil || tx.outcome != twopc.Unknown {
		return
	}
	if !m.Yes {
		n.decide(env, tx, twopc.Aborted)
		return
	}
	tx.votes[from] = true
	if len(tx.votes) == len(tx.parts) {
		n.decide(env, tx, twopc.Committed)
	}`,
	"onVoteTimeout": `	if tx := n.txns[id]; tx != nil && tx.outcome == twopc.Unknown {
		n.decide(env, tx, twopc.Aborted)
	}`,
	"onDecision": `	if ops, ok := n.prepared[m.Txn]; ok {
		if m.Commit {
			for _, op := range ops {
				n.data[op.Key] += op.Delta
			}
			n.committed++
		} else {
			n.aborted++
		}
		for _, op := range ops {
			delete(n.locks, op.Key)
		}
		delete(n.prepared, m.Txn)
		env.Store("data", mustJSON(n.data))
		env.Delete(fmt.Sprintf("p/%d", m.Txn))
	}
	if _, known := n.outcomes[m.Txn]; !known {
		o := twopc.Aborted
		if m.Commit {
			o = twopc.Committed
		}
		n.outcomes[m.Txn] = o
		env.Store(fmt.Sprintf("o/%d", m.Txn), mustJSON(decision{Txn: m.Txn, Outcome: o}))
	}
	env.Send(from, &twopc.Ack{Txn: m.Txn})`,
	"onAck": ``,
	"onQuery": `	if tx := n.txns[m.Txn]; tx != nil && tx.outcome == twopc.Unknown {
		return
	}
	o, ok := n.outcomes[m.Txn]
	env.Send(from, &twopc.Decision{Txn: m.Txn, Commit: ok && o == twopc.Committed})`,
	"onQueryTimeout": `	if _, ok := n.prepared[id]; ok {
		env.Send(1, &twopc.Query{Txn: id})
		env.SetTimer(n.opts.QueryTimeout, "query", int64(id))
	}`,
}

const twopcHelpers = `
type decision struct {
	Txn     twopc.TxnID
	Outcome twopc.Outcome
}

type prepared struct {
	Txn twopc.TxnID
	Ops []twopc.Op
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	must(err)
	return b
}

// decide logs the outcome, then tells the participants and the client.
func (n *Node) decide(env *sim.Env, tx *txn, o twopc.Outcome) {
	tx.outcome = o
	n.outcomes[tx.id] = o
	env.Store(fmt.Sprintf("d/%d", tx.id), mustJSON(decision{Txn: tx.id, Outcome: o}))
	for _, p := range tx.parts {
		env.Send(p, &twopc.Decision{Txn: tx.id, Commit: o == twopc.Committed})
	}
	env.Send(tx.client, &twopc.TxnReply{Client: tx.client, Seq: tx.seq, Txn: tx.id, Committed: o == twopc.Committed})
}
`

// TestGradeSolved2PCFullMarks grades the 2pc-recovery skeleton filled in
// with presumed-abort two-phase commit: full marks; and a participant
// that forgets to log its yes vote loses points.
func TestGradeSolved2PCFullMarks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	dir, path, src := newLab(t, "2pc-recovery", "twopc.go", twopcSolution)
	src = strings.Replace(src, "import (\n", "import (\n\t\"encoding/json\"\n\t\"slices\"\n", 1)
	src = strings.Replace(src, "\tseq  int64\n}", "\tseq  int64\n\tinc  int64\n\n\toutcomes map[twopc.TxnID]twopc.Outcome\n}", 1)
	code, out, errs := gradeLab(t, dir, path, src+twopcHelpers)
	require.Equal(t, 0, code, out+errs)
	assert.Contains(t, out, "SCORE 60/60")

	// A participant that votes yes without logging it forgets, in a
	// crash, the transfer it promised: the balances no longer add up.
	bad := strings.Replace(src, "\tenv.Store(fmt.Sprintf(\"p/%d\", m.Txn), mustJSON(prepared{Txn: m.Txn, Ops: m.Ops}))\n", "", 1)
	require.NotEqual(t, src, bad)
	code, out, errs = gradeLab(t, dir, path, bad+twopcHelpers)
	require.Equal(t, 1, code, out+errs)
	assert.Contains(t, out, "FAIL: atomicity")
	assert.Contains(t, out, "balances add up to")
}

// replicationSolution extends electionSolution with log replication and
// persistence, as a student would for raft-replication and
// raft-persistence.
var replicationSolution = map[string]string{
	"onRequestVoteReply": `	n.observe(env, m.Term)
	if n.role != Candidate || m.Term != n.term || !m.Granted {
		return
	}
	n.votes[from] = true
	if len(n.votes) <= len(env.Nodes())/2 {
		return
	}
	n.role, n.leader = Leader, n.id
	n.next, n.match, n.waiting = map[sim.NodeID]int64{}, map[sim.NodeID]int64{}, map[int64]sim.NodeID{}
	for _, id := range env.Nodes() {
		n.next[id] = n.lastIndex() + 1
	}
	n.log = append(n.log, Entry{Term: n.term, Noop: true})
	n.persist(env)
	n.match[n.id] = n.lastIndex()
	n.onHeartbeat(env)`,
	"onHeartbeat": `	if n.role != Leader {
		return
	}
	for _, to := range env.Nodes() {
		if to != n.id {
			n.sendAppend(env, to)
		}
	}
	env.SetTimer(n.opts.HeartbeatInterval, "heartbeat", 0)`,
	"onRequest": `	if n.role != Leader {
		env.Send(req.Client, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: n.leader})
		return
	}
	if resp, dup := n.kv.Duplicate(req); dup {
		env.Send(req.Client, resp)
		return
	}
	n.log = append(n.log, Entry{Term: n.term, Req: *req})
	n.persist(env)
	n.match[n.id] = n.lastIndex()
	n.waiting[n.lastIndex()] = req.Client
	for _, to := range env.Nodes() {
		if to != n.id {
			n.sendAppend(env, to)
		}
	}`,
	"onAppendEntries": `	n.observe(env, m.Term)
	if m.Term < n.term {
		env.Send(from, &AppendEntriesReply{Term: n.term})
		return
	}
	n.role, n.leader = Follower, from
	n.resetElectionTimer(env)
	if m.PrevLogIndex > n.lastIndex() {
		env.Send(from, &AppendEntriesReply{Term: n.term, Match: n.lastIndex()})
		return
	}
	if t, _ := n.termAt(m.PrevLogIndex); t != m.PrevLogTerm {
		j := m.PrevLogIndex
		for j > n.snapIndex+1 {
			if pt, _ := n.termAt(j - 1); pt != t {
				break
			}
			j--
		}
		env.Send(from, &AppendEntriesReply{Term: n.term, Match: j - 1})
		return
	}
	for i, e := range m.Entries {
		idx := m.PrevLogIndex + 1 + int64(i)
		if idx <= n.lastIndex() {
			if t, _ := n.termAt(idx); t == e.Term {
				continue
			}
		}
		k := idx - n.snapIndex - 1
		n.log = append(n.log[:k:k], m.Entries[i:]...)
		n.persist(env)
		break
	}
	last := m.PrevLogIndex + int64(len(m.Entries))
	if c := min(m.LeaderCommit, last); c > n.commit {
		n.commit = c
		n.apply(env)
	}
	env.Send(from, &AppendEntriesReply{Term: n.term, Success: true, Match: last})`,
	"onAppendEntriesReply": `	n.observe(env, m.Term)
	if n.role != Leader || m.Term != n.term {
		return
	}
	if !m.Success {
		n.next[from] = max(1, min(n.next[from]-1, m.Match+1))
		n.sendAppend(env, from)
		return
	}
	n.match[from] = max(n.match[from], m.Match)
	n.next[from] = max(n.next[from], m.Match+1)
	for idx := n.lastIndex(); idx > n.commit; idx-- {
		if t, _ := n.termAt(idx); t != n.term {
			break
		}
		count := 0
		for _, id := range env.Nodes() {
			if n.match[id] >= idx {
				count++
			}
		}
		if count > len(env.Nodes())/2 {
			n.commit = idx
			n.apply(env)
			break
		}
	}`,
	"apply": `	for n.applied < n.commit {
		n.applied++
		e := &n.log[n.applied-n.snapIndex-1]
		if e.Noop {
			continue
		}
		resp := n.kv.Apply(&e.Req)
		if c, ok := n.waiting[n.applied]; ok && n.role == Leader && c == e.Req.Client {
			env.Send(c, resp)
			delete(n.waiting, n.applied)
		}
	}`,
	"persist": `	b, err := json.Marshal(persistent{n.term, n.votedFor, n.log})
	if err != nil {
		panic(err)
	}
	env.Store("state", b)`,
	"restore": `	if b, ok := env.Load("state"); ok {
		var p persistent
		if err := json.Unmarshal(b, &p); err != nil {
			panic(err)
		}
		n.term, n.votedFor, n.log = p.Term, p.VotedFor, p.Log
	}`,
}

const replicationHelpers = `
type persistent struct {
	Term     int64
	VotedFor sim.NodeID
	Log      []Entry
}

// sendAppend sends a follower the entries from its next index on.
func (n *Node) sendAppend(env *sim.Env, to sim.NodeID) {
	prev := n.next[to] - 1
	prevTerm, _ := n.termAt(prev)
	from := prev - n.snapIndex
	end := min(int64(len(n.log)), from+64)
	entries := append([]Entry(nil), n.log[from:end]...)
	env.Send(to, &AppendEntries{Term: n.term, PrevLogIndex: prev, PrevLogTerm: prevTerm, Entries: entries, LeaderCommit: n.commit})
}
`

// TestGradeSolvedRaftFullMarks fills the Raft skeleton with election,
// replication and persistence as a student would: full marks on the first
// three Raft exercises, graded one after the other in the same directory.
func TestGradeSolvedRaftFullMarks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	dir, path, src := newLab(t, "raft-election", "raft.go", electionSolution, replicationSolution)
	src = strings.Replace(src, "import (\n", "import (\n\t\"encoding/json\"\n", 1)
	require.NoError(t, os.WriteFile(path, []byte(src+observe+replicationHelpers), 0o644))
	gradeTest := filepath.Join(dir, "grade_test.go")
	gt, err := os.ReadFile(gradeTest)
	require.NoError(t, err)
	for _, c := range []struct {
		exercise string
		score    string
	}{{"raft-election", "90/90"}, {"raft-replication", "75/75"}, {"raft-persistence", "60/60"}} {
		next := strings.ReplaceAll(string(gt), `"raft-election"`, `"`+c.exercise+`"`)
		require.NoError(t, os.WriteFile(gradeTest, []byte(next), 0o644))
		code, out, errs := run(t, "grade", dir)
		require.Equal(t, 0, code, out+errs)
		assert.Contains(t, out, "SCORE "+c.score)
	}

	// Forgetting everything at a restart passes the first two exercises
	// and fails the persistence tests.
	amnesia := replaceBody(t, src, "restore", "")
	code, out, errs := gradeLab(t, dir, path, amnesia+observe+replicationHelpers)
	require.Equal(t, 1, code, out+errs)
	assert.Contains(t, out, "full-cluster-restart         0/15")
}

// snapshotSolution extends replicationSolution with log compaction and
// InstallSnapshot (raft-snapshots).
var snapshotSolution = map[string]string{
	"apply": `	for n.applied < n.commit {
		n.applied++
		e := &n.log[n.applied-n.snapIndex-1]
		if e.Noop {
			continue
		}
		resp := n.kv.Apply(&e.Req)
		if c, ok := n.waiting[n.applied]; ok && n.role == Leader && c == e.Req.Client {
			env.Send(c, resp)
			delete(n.waiting, n.applied)
		}
	}
	if k := int64(n.opts.SnapshotEntries); k > 0 && n.applied-n.snapIndex >= k {
		term, _ := n.termAt(n.applied)
		n.log = append([]Entry(nil), n.log[n.applied-n.snapIndex:]...)
		n.snapIndex, n.snapTerm = n.applied, term
		n.saveSnapshot(env, n.kv.Encode())
		n.persist(env)
	}`,
	"restore": `	if b, ok := env.Load("state"); ok {
		var p persistent
		if err := json.Unmarshal(b, &p); err != nil {
			panic(err)
		}
		n.term, n.votedFor, n.log = p.Term, p.VotedFor, p.Log
	}
	if b, ok := env.Load("snap"); ok {
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			panic(err)
		}
		kv, err := protocols.DecodeKV(s.Data)
		if err != nil {
			panic(err)
		}
		n.kv, n.snapIndex, n.snapTerm = kv, s.Index, s.Term
		n.commit, n.applied = s.Index, s.Index
	}`,
	"onInstallSnapshot": `	n.observe(env, m.Term)
	if m.Term < n.term {
		env.Send(from, &InstallSnapshotReply{Term: n.term})
		return
	}
	n.role, n.leader = Follower, from
	n.resetElectionTimer(env)
	if m.LastIncludedIndex <= n.commit {
		env.Send(from, &InstallSnapshotReply{Term: n.term, Match: m.LastIncludedIndex})
		return
	}
	if t, ok := n.termAt(m.LastIncludedIndex); ok && t == m.LastIncludedTerm {
		n.log = append([]Entry(nil), n.log[m.LastIncludedIndex-n.snapIndex:]...)
	} else {
		n.log = nil
	}
	kv, err := protocols.DecodeKV(m.Data)
	if err != nil {
		panic(err)
	}
	n.kv, n.snapIndex, n.snapTerm = kv, m.LastIncludedIndex, m.LastIncludedTerm
	n.commit, n.applied = m.LastIncludedIndex, m.LastIncludedIndex
	n.saveSnapshot(env, m.Data)
	n.persist(env)
	env.Send(from, &InstallSnapshotReply{Term: n.term, Match: m.LastIncludedIndex})`,
	"onInstallSnapshotReply": `	n.observe(env, m.Term)
	if n.role != Leader || m.Term != n.term {
		return
	}
	n.match[from] = max(n.match[from], m.Match)
	n.next[from] = max(n.next[from], m.Match+1)`,
}

const snapshotHelpers = `
type persistent struct {
	Term     int64
	VotedFor sim.NodeID
	Log      []Entry
}

type snapshot struct {
	Index, Term int64
	Data        []byte
}

func (n *Node) saveSnapshot(env *sim.Env, data []byte) {
	b, err := json.Marshal(snapshot{n.snapIndex, n.snapTerm, data})
	if err != nil {
		panic(err)
	}
	env.Store("snap", b)
}

// sendAppend sends a follower the entries from its next index on, or the
// snapshot when they are compacted.
func (n *Node) sendAppend(env *sim.Env, to sim.NodeID) {
	prev := n.next[to] - 1
	if prev < n.snapIndex {
		b, _ := env.Load("snap")
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			panic(err)
		}
		env.Send(to, &InstallSnapshot{Term: n.term, LastIncludedIndex: s.Index, LastIncludedTerm: s.Term, Data: s.Data})
		return
	}
	prevTerm, _ := n.termAt(prev)
	from := prev - n.snapIndex
	end := min(int64(len(n.log)), from+64)
	entries := append([]Entry(nil), n.log[from:end]...)
	env.Send(to, &AppendEntries{Term: n.term, PrevLogIndex: prev, PrevLogTerm: prevTerm, Entries: entries, LeaderCommit: n.commit})
}
`

// TestGradeSolvedRaftSnapshotsFullMarks adds snapshots to the student's
// Raft: full marks on raft-snapshots, and still on the three before.
func TestGradeSolvedRaftSnapshotsFullMarks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	dir, path, src := newLab(t, "raft-snapshots", "raft.go", electionSolution, replicationSolution, snapshotSolution)
	// A follower whose snapshot is past the leader's probe answers with its
	// commit index, where the leader's entries are sure to match.
	src = strings.Replace(src, "\tif m.PrevLogIndex > n.lastIndex() {", "\tif m.PrevLogIndex < n.snapIndex {\n\t\tenv.Send(from, &AppendEntriesReply{Term: n.term, Match: n.commit})\n\t\treturn\n\t}\n\tif m.PrevLogIndex > n.lastIndex() {", 1)
	src = strings.Replace(src, "import (\n", "import (\n\t\"encoding/json\"\n", 1)
	require.NoError(t, os.WriteFile(path, []byte(src+observe+snapshotHelpers), 0o644))
	gradeTest := filepath.Join(dir, "grade_test.go")
	gt, err := os.ReadFile(gradeTest)
	require.NoError(t, err)
	for _, c := range []struct {
		exercise string
		score    string
	}{{"raft-snapshots", "55/55"}, {"raft-persistence", "60/60"}, {"raft-replication", "75/75"}} {
		next := strings.ReplaceAll(string(gt), `"raft-snapshots"`, `"`+c.exercise+`"`)
		require.NoError(t, os.WriteFile(gradeTest, []byte(next), 0o644))
		code, out, errs := run(t, "grade", dir)
		require.Equal(t, 0, code, out+errs)
		assert.Contains(t, out, "SCORE "+c.score)
	}
}

// multiPaxosSolution fills in the multi-paxos skeleton as a student
// would: phase 1 for all slots from the candidate's commit on, phase 2 per
// command, Commit heartbeats, and a Need message by which a follower asks
// the leader for chosen values it missed.
var multiPaxosSolution = map[string]string{
	"Start": `	n.accepted = map[int64]Slot{}
	n.chosen = map[int64]protocols.Request{}
	n.acks = map[int64]map[sim.NodeID]bool{}
	n.waiting = map[int64]sim.NodeID{}
	n.props = map[int64]protocols.Request{}
	n.kv = protocols.NewKV()
	n.restore(env)
	n.resetTimer(env)`,
	"onElectionTimeout": `	n.resetTimer(env)
	if n.leading {
		return
	}
	n.ballot = Ballot{Round: max(n.promised.Round, n.ballot.Round) + 1, Node: n.id}
	n.promises = map[sim.NodeID]*Promise{}
	for _, to := range env.Nodes() {
		env.Send(to, &Prepare{Ballot: n.ballot, From: n.commit + 1})
	}`,
	"onHeartbeat": `	if !n.leading {
		return
	}
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &Commit{Ballot: n.ballot, Index: n.commit})
		}
	}
	// Accepts get lost: send the open slots' again to whoever has not
	// answered (the first 64).
	for s := n.commit + 1; s < min(n.next, n.commit+65); s++ {
		if v, ok := n.props[s]; ok && n.acks[s] != nil {
			for _, to := range env.Nodes() {
				if !n.acks[s][to] {
					env.Send(to, &Accept{Ballot: n.ballot, Index: s, Value: v, Commit: n.commit})
				}
			}
		}
	}
	env.SetTimer(n.opts.Heartbeat, "heartbeat", 0)`,
	"onRequest": `	if !n.leading {
		env.Send(req.Client, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: n.leader})
		return
	}
	if resp, dup := n.kv.Duplicate(req); dup {
		env.Send(req.Client, resp)
		return
	}
	s := n.next
	n.next++
	n.waiting[s] = req.Client
	n.propose(env, s, *req)`,
	"onPrepare": `	if m.Ballot.Less(n.promised) {
		env.Send(from, &Promise{Ballot: n.promised})
		return
	}
	n.see(m.Ballot)
	n.promised = m.Ballot
	n.save(env)
	acc := map[int64]Slot{}
	for s, v := range n.accepted {
		if s >= m.From {
			acc[s] = v
		}
	}
	env.Send(from, &Promise{Ballot: m.Ballot, OK: true, Accepted: acc})
	n.resetTimer(env)`,
	"onPromise": `	if !m.OK {
		n.see(m.Ballot)
		return
	}
	if m.Ballot != n.ballot || n.leading || n.promises == nil {
		return
	}
	n.promises[from] = m
	if len(n.promises) <= len(env.Nodes())/2 {
		return
	}
	n.leading, n.leader = true, n.id
	best := map[int64]Slot{}
	top := n.commit
	for _, p := range n.promises {
		for s, v := range p.Accepted {
			if b, ok := best[s]; !ok || b.Ballot.Less(v.Ballot) {
				best[s] = v
			}
			top = max(top, s)
		}
	}
	n.next = top + 1
	for s := n.commit + 1; s <= top; s++ {
		v := protocols.Request{Op: protocols.Op{Kind: protocols.OpNoop}}
		if b, ok := best[s]; ok {
			v = b.Value
		}
		n.propose(env, s, v)
	}
	n.onHeartbeat(env)`,
	"onAccept": `	if m.Ballot.Less(n.promised) {
		env.Send(from, &Accepted{Ballot: n.promised, Index: m.Index})
		return
	}
	n.see(m.Ballot)
	n.promised = m.Ballot
	n.accepted[m.Index] = Slot{Ballot: m.Ballot, Value: m.Value}
	n.save(env)
	n.saveSlot(env, m.Index)
	env.Send(from, &Accepted{Ballot: m.Ballot, Index: m.Index, OK: true})
	n.leader = m.Ballot.Node
	if from != n.id {
		n.resetTimer(env)
	}
	n.learn(env, m.Commit, m.Ballot)`,
	"onAccepted": `	if !m.OK {
		n.see(m.Ballot)
		return
	}
	if !n.leading || m.Ballot != n.ballot || n.acks[m.Index] == nil {
		return
	}
	n.acks[m.Index][from] = true
	if len(n.acks[m.Index]) <= len(env.Nodes())/2 {
		return
	}
	if _, done := n.chosen[m.Index]; !done {
		n.chosen[m.Index] = n.props[m.Index]
		delete(n.acks, m.Index)
		for {
			if _, ok := n.chosen[n.commit+1]; !ok {
				break
			}
			n.commit++
		}
		n.apply(env)
	}`,
	"onCommit": `	if m.Ballot.Less(n.promised) {
		return
	}
	n.see(m.Ballot)
	n.leader = m.Ballot.Node
	n.resetTimer(env)
	n.learn(env, m.Index, m.Ballot)
	if n.commit < m.Index {
		env.Send(from, &Need{From: n.commit + 1})
	}`,
	"apply": `	for n.applied < n.commit {
		n.applied++
		v := n.chosen[n.applied]
		if v.Op.Kind == protocols.OpNoop {
			continue
		}
		resp := n.kv.Apply(&v)
		if c, ok := n.waiting[n.applied]; ok && n.leading && c == v.Client {
			env.Send(c, resp)
		}
		delete(n.waiting, n.applied)
	}`,
}

const multiPaxosHelpers = `

// Need asks the leader for the chosen values from From on.
type Need struct {
	From int64 ` + "`json:\"from\"`" + `
}

func (*Need) MessageType() string  { return "multipaxoslab.Need" }
func (m *Need) Describe() string   { return fmt.Sprintf("from=%d", m.From) }

// save persists the promise; saveSlot, one accepted slot under a key of
// its own (saving the whole map on each Accept costs time quadratic in
// the slots).
func (n *Node) save(env *sim.Env) {
	b, err := json.Marshal(n.promised)
	if err != nil {
		panic(err)
	}
	env.Store("promised", b)
}

func (n *Node) saveSlot(env *sim.Env, s int64) {
	b, err := json.Marshal(n.accepted[s])
	if err != nil {
		panic(err)
	}
	env.Store(fmt.Sprintf("slot/%d", s), b)
}

// restore reads back what save and saveSlot persisted.
func (n *Node) restore(env *sim.Env) {
	if b, ok := env.Load("promised"); ok {
		if err := json.Unmarshal(b, &n.promised); err != nil {
			panic(err)
		}
	}
	for _, k := range env.Keys("slot/") {
		var s int64
		if _, err := fmt.Sscanf(k, "slot/%d", &s); err != nil {
			panic(err)
		}
		b, _ := env.Load(k)
		var v Slot
		if err := json.Unmarshal(b, &v); err != nil {
			panic(err)
		}
		n.accepted[s] = v
	}
}

// see steps down when a higher ballot is about.
func (n *Node) see(b Ballot) {
	if n.leading && n.ballot.Less(b) {
		n.leading = false
	}
}

func (n *Node) propose(env *sim.Env, s int64, v protocols.Request) {
	n.props[s] = v
	n.acks[s] = map[sim.NodeID]bool{}
	for _, to := range env.Nodes() {
		env.Send(to, &Accept{Ballot: n.ballot, Index: s, Value: v, Commit: n.commit})
	}
}

// learn takes the slots up to commit accepted at the leader's ballot as
// chosen.
func (n *Node) learn(env *sim.Env, commit int64, bal Ballot) {
	for n.commit < commit {
		s, ok := n.accepted[n.commit+1]
		if !ok || s.Ballot != bal {
			break
		}
		n.chosen[n.commit+1] = s.Value
		n.commit++
	}
	n.apply(env)
}

func (n *Node) onNeed(env *sim.Env, from sim.NodeID, m *Need) {
	if !n.leading {
		return
	}
	for s := m.From; s <= min(n.commit, m.From+63); s++ {
		env.Send(from, &Accept{Ballot: n.ballot, Index: s, Value: n.chosen[s], Commit: n.commit})
	}
}
`

// TestGradeSolvedMultiPaxosFullMarks fills the multi-paxos skeleton as a
// student would: full marks.
func TestGradeSolvedMultiPaxosFullMarks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and grades a package in a subprocess")
	}
	t.Parallel() // see labDir
	dir, path, src := newLab(t, "multi-paxos", "multipaxos.go", multiPaxosSolution)
	for _, r := range [][2]string{
		{"import (\n", "import (\n\t\"encoding/json\"\n"},
		{"\ttimer   sim.TimerID\n}", "\ttimer   sim.TimerID\n\tprops   map[int64]protocols.Request\n}"},
		{"&Commit{},", "&Commit{}, &Need{},"},
		{"\tcase *Commit:\n\t\tn.onCommit(env, from, m)\n", "\tcase *Commit:\n\t\tn.onCommit(env, from, m)\n\tcase *Need:\n\t\tn.onNeed(env, from, m)\n"},
	} {
		next := strings.Replace(src, r[0], r[1], 1)
		require.NotEqual(t, src, next, r[0])
		src = next
	}
	code, out, errs := gradeLab(t, dir, path, src+multiPaxosHelpers)
	require.Equal(t, 0, code, out+errs)
	assert.Contains(t, out, "SCORE 115/115")
}
