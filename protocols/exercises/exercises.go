// Package exercises holds synod's course exercises: for each, a skeleton
// package a student fills in (embedded templates written by `synod exercise
// init`), a README with the task, and a graded suite of named tests with
// points that `synod grade` (or `go test` in the student's directory) runs.
//
// Grading is deterministic: every test is a seeded simulation bounded in
// simulated time and events, never in wall-clock time, so the same code
// gets the same score on any machine. The suites look at a student's nodes
// only through Inspect (sim.View) and the clients' histories, so the same
// suites grade the reference solutions (raft, paxos-single, paxos, 2pc),
// which must score full marks.
package exercises

import (
	"fmt"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Exercise is one step of the course.
type Exercise struct {
	// Name is how the CLI names it ("raft-election").
	Name string
	// Title is one line for `synod exercise list`.
	Title string
	// Skeleton is the template directory the student starts from; several
	// exercises share one (the Raft parts build on the same code).
	Skeleton string
	// Reference is the registered protocol that solves it.
	Reference string
	// Tests is the graded suite.
	Tests []Test
}

// Test is one graded test.
type Test struct {
	Name   string
	Points int
	// Core tests check what the exercise asks for; a skeleton as shipped
	// scores zero on them. Other tests (determinism) may pass vacuously.
	Core bool
	// Kind is "scenario" (one seed), "property" (Seeds seeds) or
	// "determinism" (one seed run twice, traces compared byte for byte).
	Kind string
	// YAML is the scenario without its protocol line.
	YAML string
	// Seeds and FirstSeed for property tests (under -short at most
	// shortSeeds are run).
	Seeds     int
	FirstSeed uint64
	// Lin checks the client history for linearizability.
	Lin bool
	// Checkers are the invariants checked after every event.
	Checkers []func() sim.Checker
	// Expect checks the end of each run (liveness).
	Expect expectation
	// Hidden marks a teacher's test loaded from a directory.
	Hidden bool
	// Search configures an "explore" test.
	Search *Search
}

// shortSeeds bounds property tests under -short.
const shortSeeds = 3

// All returns the exercises in course order.
func All() []*Exercise { return catalog }

// Lookup returns the named exercise.
func Lookup(name string) (*Exercise, error) {
	for _, e := range catalog {
		if e.Name == name {
			return e, nil
		}
	}
	names := make([]string, len(catalog))
	for i, e := range catalog {
		names[i] = e.Name
	}
	return nil, fmt.Errorf("unknown exercise %q (exercises: %s)", name, strings.Join(names, ", "))
}

// Points returns the total points of the suite.
func (e *Exercise) Points() int {
	n := 0
	for _, t := range e.Tests {
		n += t.Points
	}
	return n
}

func raftChecks() []func() sim.Checker {
	return []func() sim.Checker{newLeaderPerTerm, newLogMatching, newCommittedAgree}
}

const kvLoad = "workload: {clients: 3, mode: closed, think: 5ms, keys: 5, timeout: 100ms, op_timeout: 1s}\n"

// determinism is the same in every suite: one seed of a small faulty run,
// twice.
func determinism(yaml string) Test {
	return Test{Name: "determinism", Points: 5, Kind: "determinism", YAML: yaml}
}

// slotChecks grade Multi-Paxos's safety: one command per slot.
var slotChecks = []func() sim.Checker{newSlotsAgree}

var electionChecks = []func() sim.Checker{newLeaderPerTerm, newTermRules}

// electedChecks grade the first step alone (a leader is elected, one per
// term), so that a solution that elects but does not yet handle
// AppendEntries earns it.
var electedChecks = []func() sim.Checker{newLeaderPerTerm}

// promisesSurviveCrashes duels proposers while acceptors restart: one-way
// cuts last about 40ms (one every 10ms, so several at once) and leave a
// leader unheard by one node and deaf to another, so a second proposer
// runs phase 1 while the first still sends Accepts; a node crashes every
// 20ms for about 40ms. An acceptor that forgets its promise across the
// restart accepts the older leader's Accept in a slot the newer leader
// fills differently, and a proposer that forgets its own promise can reuse
// its ballot for other commands. Neither happens on most seeds: the
// mpaxoslab corpus entry promise-not-persisted loses on about one seed in
// fifteen (7 of seeds 1..100; 6 of the graded 60), hence the many seeds;
// a run costs about 0.15 CPU-s. The nemesis heals at 6s, and the three
// quiet seconds after it leave room for the 20 operations a correct
// solution must finish.
const promisesSurviveCrashes = "# short timeouts, long-tailed latency, one-way cuts that make leaders duel, and a node crashing every 20ms for about 40ms, healed at 6s: a restarted acceptor must remember its promise, or it accepts an older ballot's command in a slot a newer leader fills (and a restarted proposer must not reuse its ballot)\n" +
	"nodes: 3\nduration: 9s\n" +
	"network: {latency: {dist: exponential, min: 1ms, mean: 15ms, max: 300ms}}\n" +
	"options: {heartbeat: 10ms, election_timeout: 30ms}\n" +
	"nemesis: {cut_every: 10ms, crash_every: 20ms, downtime: 40ms, max_crashed: 1, heal_at: 6s}\n" +
	"workload: {clients: 5, mode: closed, think: 1ms, keys: 5, timeout: 50ms, op_timeout: 1s}\n"

// promisesSeeds is how many seeds promises-survive-crashes runs: a
// forgotten promise shows on about one seed in fifteen.
const promisesSeeds = 60

// deposedLeader makes n1 the first leader (the others start late), then
// isolates it while n2-n4 elect another, then lets it hear only n5, a
// follower, which only ever answers it: a deposed leader hearing only
// replies must learn its term is over from them (one-way cuts, Raft §5.1).
const deposedLeader = "# a deposed leader hears only replies: n1 leads, is cut off while another is elected, then hears only n5's answers to its heartbeats\n" +
	"nodes: 5\nduration: 4s\n" +
	"faults: [\"0s crash n2\", \"0s crash n3\", \"0s crash n4\", \"0s crash n5\", \"150ms restart n2\", \"150ms restart n3\", \"150ms restart n4\", \"150ms restart n5\",\n" +
	"  \"1s isolate n1\", \"1s crash n5\", \"1300ms restart n5\", \"1600ms heal\", \"1600ms cut n2->n1\", \"1600ms cut n3->n1\", \"1600ms cut n4->n1\", \"3s heal\"]\n" +
	"workload: {clients: 0}\n"

// leaderStrikes aims its faults at whoever leads (the simulator's strike
// nemesis, docs/scenarios.md): each node that becomes leader, and each
// leader that advances its commit index, is cut off from the others a
// few milliseconds later, before what it just did has reached everyone,
// and rejoins 300ms later. Leaders change every few hundred milliseconds,
// each finding the logs the last ones left half-replicated and repairing
// them one entry per AppendEntries: a leader that commits by counting
// replicas an entry of an earlier term (Raft §5.4.2, Figure 8) commits
// what the next leader overwrites. No fault is placed by hand: three
// nodes, 20 seeds, and about one seed in three reaches that schedule.
const leaderStrikes = "# safe under faults aimed at leaders: a new leader, or a leader that just advanced its commit index, is cut off a few ms later (mean 2ms) for 300ms, so what it did reaches some nodes and not others; logs are repaired one entry per AppendEntries; healed at 3s\n" +
	"nodes: 3\nduration: 5s\nnetwork: {latency: {dist: uniform, min: 1ms, max: 10ms}}\noptions: {entries_per_message_max: 1}\n" +
	"nemesis: {downtime: 300ms, heal_at: 3s, strike: {elected: 1, committed: 1, after: 2ms}}\n" + kvLoad

var catalog = []*Exercise{
	{
		Name: "raft-election", Title: "Raft leader election and heartbeats (Raft §5.1-5.2)",
		Skeleton: "raft", Reference: "raft",
		Tests: []Test{
			{Name: "initial-election", Points: 10, Core: true, Kind: "scenario", Checkers: electedChecks, Expect: elected,
				YAML: "# elected: three nodes elect a leader within a second\nnodes: 3\nduration: 1s\nworkload: {clients: 0}\n"},
			{Name: "stable-leader", Points: 10, Core: true, Kind: "property", Seeds: 20, FirstSeed: 150, Checkers: electionChecks, Expect: stableLeader,
				YAML: "# stable: no faults, timeouts close together so candidates collide; the first leader keeps everyone with heartbeats to the end\nnodes: 5\nduration: 2s\nnetwork: {latency: {dist: uniform, min: 5ms, max: 30ms}}\noptions: {election_timeout_min: 150ms, election_timeout_max: 180ms, heartbeat_interval: 50ms}\nworkload: {clients: 0}\n"},
			{Name: "reelection-after-crashes", Points: 10, Core: true, Kind: "scenario", Checkers: electionChecks, Expect: oneLeader,
				YAML: "# two of five nodes crash for good; the other three elect a leader\nnodes: 5\nduration: 3s\nfaults: [\"1s crash n1\", \"1500ms crash n2\"]\nworkload: {clients: 0}\n"},
			{Name: "split-votes-retry", Points: 5, Core: true, Kind: "scenario", Checkers: electionChecks, Expect: oneLeader,
				YAML: "# every node alone for a second: each stands for election and loses; candidates must keep retrying until one wins after the heal\nnodes: 3\nduration: 3s\nfaults: [\"0s partition n1|n2|n3\", \"1s heal\"]\nworkload: {clients: 0}\n"},
			{Name: "partitions-heal", Points: 10, Core: true, Kind: "scenario", Checkers: electionChecks, Expect: oneLeader,
				YAML: "# the cluster is split twice; after the heal one leader leads everyone\nnodes: 5\nduration: 4s\nfaults: [\"1s partition n1,n2|n3,n4,n5\", \"2s partition n1,n2,n3|n4,n5\", \"3s heal\"]\nworkload: {clients: 0}\n"},
			{Name: "deposed-leader", Points: 10, Core: true, Kind: "property", Seeds: 5, FirstSeed: 160, Checkers: electionChecks, Expect: oneLeader,
				YAML: deposedLeader},
			{Name: "election-chaos", Points: 10, Core: true, Kind: "property", Seeds: 10, FirstSeed: 100, Checkers: electionChecks, Expect: oneLeader,
				YAML: "# partitions, cuts, pauses and loss, healed at 3s\nnodes: 5\nduration: 4s\nnetwork: {latency: {dist: uniform, min: 1ms, max: 10ms}, loss: 0.05}\nnemesis: {partition_every: 400ms, cut_every: 500ms, pause_every: 700ms, downtime: 200ms, heal_at: 3s}\nworkload: {clients: 0}\n"},
			{Name: "slow-network-safety", Points: 10, Core: true, Kind: "property", Seeds: 20, FirstSeed: 170, Checkers: electionChecks, Expect: elected,
				YAML: "# safe under faults: long-tailed latency (exponential, mean 60ms) against short timeouts, so vote replies outlive the election that asked for them; never two leaders in a term\nnodes: 5\nduration: 5s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 60ms, max: 1s}}\noptions: {election_timeout_min: 60ms, election_timeout_max: 120ms, heartbeat_interval: 20ms}\nworkload: {clients: 0}\n"},
			{Name: "explore-election-safety", Points: 10, Core: true, Kind: "explore", Checkers: electionChecks,
				Search: &Search{DepthMax: 10, StatesMax: 10_000, GoalDepthMax: 40, Goal: someLeader, GoalName: "a leader"},
				YAML:   "# every schedule of three nodes up to depth 10 (10,000 states): never two leaders in a term; some schedule elects one\nnodes: 3\nduration: 10s\nworkload: {clients: 0}\n"},
			determinism("# determinism\nnodes: 3\nduration: 1s\nnetwork: {loss: 0.05}\nworkload: {clients: 0}\n"),
		},
	},
	{
		Name: "raft-replication", Title: "Raft log replication and commitment (Raft §5.3-5.4)",
		Skeleton: "raft", Reference: "raft",
		Tests: []Test{
			{Name: "basic-agreement", Points: 10, Core: true, Kind: "scenario", Lin: true, Checkers: raftChecks(), Expect: opsAtLeast(30),
				YAML: "# three nodes, three clients, no faults\nnodes: 3\nduration: 2s\n" + kvLoad},
			{Name: "follower-isolated", Points: 10, Core: true, Kind: "scenario", Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(30), caughtUp(200)),
				YAML: "# a follower (or the leader) is cut off for a second, then catches up\nnodes: 5\nduration: 3s\nfaults: [\"500ms isolate n3\", \"1500ms heal\"]\n" + kvLoad},
			{Name: "leader-partitions", Points: 15, Core: true, Kind: "property", Seeds: 5, FirstSeed: 1, Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(20), oneLeader),
				YAML: "# majorities move around; entries of a deposed leader are overwritten, one entry per AppendEntries, so a follower's stale tail outlives the messages that repair it\nnodes: 5\nduration: 4s\noptions: {entries_per_message_max: 1}\nfaults: [\"500ms partition n1,n2|n3,n4,n5\", \"1200ms partition n1,n2,n3|n4,n5\", \"2s partition n2,n4|n1,n3,n5\", \"2800ms heal\"]\n" + kvLoad},
			{Name: "leader-strikes", Points: 10, Core: true, Kind: "property", Seeds: 20, FirstSeed: 600, Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(20), oneLeader),
				YAML: leaderStrikes},
			{Name: "lossy-network", Points: 10, Core: true, Kind: "scenario", Lin: true, Checkers: raftChecks(), Expect: opsAtLeast(20),
				YAML: "# 10% loss, 5% duplication, reordering\nnodes: 5\nduration: 3s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 4ms, max: 100ms}, loss: 0.1, duplicate: 0.05}\n" + kvLoad},
			{Name: "replication-chaos", Points: 15, Core: true, Kind: "property", Seeds: 10, FirstSeed: 200, Lin: true, Checkers: raftChecks(), Expect: opsAtLeast(20),
				YAML: "# partitions, cuts, pauses, loss and duplication, healed at 3s\nnodes: 5\nduration: 4s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 4ms, max: 200ms}, loss: 0.05, duplicate: 0.05}\nnemesis: {partition_every: 500ms, cut_every: 600ms, pause_every: 900ms, downtime: 250ms, heal_at: 3s}\n" + kvLoad},
			determinism("# determinism\nnodes: 3\nduration: 1s\nnetwork: {loss: 0.05}\n" + kvLoad),
		},
	},
	{
		Name: "raft-persistence", Title: "Raft persistence and crash recovery (Raft §5.6, Figure 2 \"persistent state\")",
		Skeleton: "raft", Reference: "raft",
		Tests: []Test{
			{Name: "follower-restart", Points: 10, Core: true, Kind: "scenario", Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(30), caughtUp(200)),
				YAML: "# n3 crashes and restarts from its stable storage\nnodes: 3\nduration: 3s\nfaults: [\"500ms crash n3\", \"1s restart n3\"]\n" + kvLoad},
			{Name: "full-cluster-restart", Points: 15, Core: true, Kind: "scenario", Lin: true, Checkers: raftChecks(), Expect: opsAtLeast(30),
				YAML: "# every node crashes at once; acknowledged writes must survive\nnodes: 3\nduration: 3s\nfaults: [\"1s crash n1\", \"1s crash n2\", \"1s crash n3\", \"1200ms restart n1\", \"1200ms restart n2\", \"1200ms restart n3\"]\n" + kvLoad},
			{Name: "votes-survive-crashes", Points: 10, Core: true, Kind: "property", Seeds: 10, FirstSeed: 1, Lin: true, Checkers: raftChecks(), Expect: opsAtLeast(15),
				YAML: "# short timeouts, long-tailed latency and a node crashing every 40ms for 5ms: a restarted voter must remember its term and vote, or it votes twice in a term\nnodes: 3\nduration: 3s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 15ms, max: 300ms}}\noptions: {election_timeout_min: 60ms, election_timeout_max: 90ms, heartbeat_interval: 20ms}\nnemesis: {crash_every: 40ms, downtime: 5ms, max_crashed: 1, heal_at: 2500ms}\n" + kvLoad},
			{Name: "crash-chaos", Points: 20, Core: true, Kind: "property", Seeds: 10, FirstSeed: 300, Lin: true, Checkers: raftChecks(), Expect: opsAtLeast(20),
				YAML: "# crashes and restarts with partitions and loss, healed at 3s\nnodes: 5\nduration: 4s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 4ms, max: 200ms}, loss: 0.05}\nnemesis: {crash_every: 300ms, partition_every: 600ms, downtime: 200ms, max_crashed: 2, heal_at: 3s}\nfsync_delay: 1ms\n" + kvLoad},
			determinism("# determinism\nnodes: 3\nduration: 1s\nfaults: [\"300ms crash n2\", \"500ms restart n2\"]\n" + kvLoad),
		},
	},
	{
		Name: "raft-snapshots", Title: "Raft log compaction and InstallSnapshot (Raft §7)",
		Skeleton: "raft", Reference: "raft",
		Tests: []Test{
			{Name: "compaction", Points: 10, Core: true, Kind: "scenario", Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(100), snapshotted(48<<10)),
				YAML: "# the log is compacted every 50 entries; storage stays small\nnodes: 3\nduration: 5s\noptions: {snapshot_entries: 50}\n" + putLoad},
			{Name: "install-snapshot", Points: 15, Core: true, Kind: "scenario", Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(100), snapshotted(48<<10), caughtUp(200)),
				YAML: "# n3 is down while the others compact; back up, it needs a snapshot\nnodes: 3\nduration: 5s\noptions: {snapshot_entries: 50}\nfaults: [\"200ms crash n3\", \"3s restart n3\"]\n" + putLoad},
			{Name: "election-after-compaction", Points: 10, Core: true, Kind: "property", Seeds: 5, FirstSeed: 1, Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(20), caughtUp(200)),
				YAML: "# n1 leads (the others start late); n3 is cut off while the others compact every 5 entries; n1 crashes as n3 returns: votes must compare logs through the snapshot's last included term\nnodes: 3\nduration: 4s\noptions: {snapshot_entries: 5}\nfaults: [\"0s crash n2\", \"0s crash n3\", \"150ms restart n2\", \"150ms restart n3\", \"500ms isolate n3\", \"1500ms crash n1\", \"1500ms heal\", \"2500ms restart n1\"]\n" + putLoad},
			{Name: "snapshot-chaos", Points: 15, Core: true, Kind: "property", Seeds: 10, FirstSeed: 400, Lin: true, Checkers: raftChecks(), Expect: all(opsAtLeast(20), snapshotted(96<<10)),
				YAML: "# crashes, partitions and loss with frequent snapshots, healed at 3s\nnodes: 5\nduration: 4s\noptions: {snapshot_entries: 20}\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 4ms, max: 200ms}, loss: 0.05}\nnemesis: {crash_every: 300ms, partition_every: 600ms, downtime: 200ms, max_crashed: 2, heal_at: 3s}\n" + putLoad},
			determinism("# determinism\nnodes: 3\nduration: 1s\noptions: {snapshot_entries: 20}\nfaults: [\"300ms crash n2\", \"500ms restart n2\"]\n" + putLoad),
		},
	},
	{
		Name: "paxos-single", Title: "Single-decree Paxos, the Synod protocol (Paxos Made Simple §2)",
		Skeleton: "paxos-single", Reference: "paxos-single",
		Tests: []Test{
			{Name: "one-value", Points: 10, Core: true, Kind: "scenario", Checkers: []func() sim.Checker{newChosenAgree}, Expect: all(opsAtLeast(1), sameAnswers, allLearned),
				YAML: "# three nodes, one client: its value is chosen and learned everywhere\nnodes: 3\nduration: 1s\nworkload: {clients: 1, keys: 1, timeout: 100ms, op_timeout: 500ms}\nchecks: {linearizability: false}\n"},
			{Name: "dueling-proposers", Points: 15, Core: true, Kind: "property", Seeds: 10, FirstSeed: 500, Checkers: []func() sim.Checker{newChosenAgree}, Expect: all(opsAtLeast(3), sameAnswers),
				YAML: "# three clients propose at different nodes at once, with loss\nnodes: 5\nduration: 2s\nnetwork: {latency: {dist: uniform, min: 1ms, max: 20ms}, loss: 0.05, duplicate: 0.05}\n" + kvLoad + "checks: {linearizability: false}\n"},
			{Name: "acceptor-crashes", Points: 15, Core: true, Kind: "property", Seeds: 150, FirstSeed: 1, Checkers: []func() sim.Checker{newChosenAgree}, Expect: all(opsAtLeast(3), sameAnswers),
				YAML: "# acceptors crash every 50ms under impatient clients: promises and acceptances must survive, and a new proposer must adopt what was accepted\nnodes: 3\nduration: 3s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 10ms, max: 100ms}, loss: 0.1}\nnemesis: {crash_every: 50ms, downtime: 30ms, max_crashed: 1, heal_at: 2s}\nworkload: {clients: 5, mode: closed, think: 1ms, keys: 5, timeout: 20ms, op_timeout: 500ms}\nchecks: {linearizability: false}\n"},
			{Name: "retry-after-loss", Points: 10, Core: true, Kind: "property", Seeds: 5, FirstSeed: 550, Checkers: []func() sim.Checker{newChosenAgree}, Expect: all(opsAtLeast(2), sameAnswers, allLearned),
				YAML: "# liveness: n5 is down for good and, for the first 500ms, every message between nodes is lost, so every proposer's first ballots fail; after the heal a quorum is up, and a proposer must retry with a higher ballot until a value is chosen and learned everywhere\nnodes: 5\nduration: 2s\nfaults: [\"0s crash n5\", \"0s loss 1\", \"500ms loss 0\"]\nnetwork: {latency: {dist: uniform, min: 1ms, max: 10ms}}\nworkload: {clients: 2, keys: 1, timeout: 50ms, op_timeout: 1s}\nchecks: {linearizability: false}\n"},
			{Name: "explore-agreement", Points: 10, Core: true, Kind: "explore", Checkers: []func() sim.Checker{newChosenAgree},
				Search: &Search{DepthMax: 8, StatesMax: 1000, GoalDepthMax: 60, Goal: someLearned, GoalName: "a value learned"},
				YAML:   "# every schedule of three nodes and two clients up to depth 8 (1000 states): one value chosen; some schedule chooses one\nnodes: 3\nduration: 10s\nworkload: {clients: 2, max_ops: 1, timeout: 1s, op_timeout: 5s}\nchecks: {linearizability: false}\n"},
			determinism("# determinism\nnodes: 3\nduration: 1s\nnetwork: {loss: 0.05}\n" + kvLoad + "checks: {linearizability: false}\n"),
		},
	},
	{
		Name: "multi-paxos", Title: "Multi-Paxos: a replicated log with a stable leader (Paxos Made Simple §3; Paxos Made Moderately Complex)",
		Skeleton: "multi-paxos", Reference: "paxos",
		Tests: []Test{
			{Name: "basic-agreement", Points: 10, Core: true, Kind: "scenario", Lin: true, Checkers: slotChecks, Expect: opsAtLeast(30),
				YAML: "# three nodes, three clients, no faults\nnodes: 3\nduration: 2s\n" + kvLoad},
			{Name: "leader-partitions", Points: 15, Core: true, Kind: "scenario", Lin: true, Checkers: slotChecks, Expect: opsAtLeast(20),
				YAML: "# majorities move around; a new leader must finish the old one's slots\nnodes: 5\nduration: 4s\nfaults: [\"500ms partition n1,n2|n3,n4,n5\", \"1200ms partition n1,n2,n3|n4,n5\", \"2s partition n2,n4|n1,n3,n5\", \"2800ms heal\"]\n" + kvLoad},
			{Name: "crash-restart", Points: 15, Core: true, Kind: "scenario", Lin: true, Checkers: slotChecks, Expect: opsAtLeast(30),
				YAML: "# every node crashes at once and recovers its acceptor state\nnodes: 3\nduration: 3s\nfaults: [\"1s crash n1\", \"1s crash n2\", \"1s crash n3\", \"1200ms restart n1\", \"1200ms restart n2\", \"1200ms restart n3\"]\n" + kvLoad},
			{Name: "dueling-leaders", Points: 10, Core: true, Kind: "property", Seeds: 10, FirstSeed: 1, Lin: true, Checkers: slotChecks, Expect: opsAtLeast(20),
				YAML: "# safe under faults: long-tailed latency (exponential, mean 15ms) against short timeouts, so leaders duel and old Accepts arrive after newer Prepares; one command per slot\nnodes: 3\nduration: 4s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 15ms, max: 300ms}}\noptions: {heartbeat: 10ms, election_timeout: 30ms}\nworkload: {clients: 5, mode: closed, think: 1ms, keys: 5, timeout: 50ms, op_timeout: 1s}\n"},
			{Name: "stale-acceptor", Points: 10, Core: true, Kind: "property", Seeds: 5, FirstSeed: 1, Lin: true, Checkers: slotChecks, Expect: all(opsAtLeast(20), noGaps(16)),
				YAML: "# n1 leads (the others start late), then is cut off with slots only it accepted while n2 or n3 chooses other commands there; n1 restarts hearing only n3 and runs phase 1: it must re-propose the highest ballot's value, not its own stale one\nnodes: 3\nduration: 4s\nfaults: [\"0s crash n2\", \"0s crash n3\", \"150ms restart n2\", \"150ms restart n3\", \"1s isolate n1\", \"1s crash n3\", \"1300ms restart n3\", \"1800ms crash n1\", \"1800ms heal\", \"1800ms cut n2->n1\", \"1900ms restart n1\", \"3s heal\"]\n" + kvLoad},
			{Name: "promises-survive-crashes", Points: 10, Core: true, Kind: "property", Seeds: promisesSeeds, FirstSeed: 1, Lin: true, Checkers: slotChecks, Expect: opsAtLeast(20),
				YAML: promisesSurviveCrashes},
			{Name: "gaps-filled", Points: 10, Core: true, Kind: "property", Seeds: 3, FirstSeed: 1, Lin: true, Checkers: slotChecks, Expect: all(opsAtLeast(20), noGaps(16)),
				YAML: "# n1 leads (the others start late); for 50ms its messages reach nobody, so the slots it opens then are accepted nowhere while later ones are; n1 crashes: the new leader must fill those gaps with no-ops, and after the heal every slot below the highest is chosen\nnodes: 3\nduration: 4s\nfaults: [\"0s crash n2\", \"0s crash n3\", \"150ms restart n2\", \"150ms restart n3\", \"1s cut n1->n2\", \"1s cut n1->n3\", \"1050ms heal\", \"1100ms crash n1\", \"1500ms restart n1\"]\nworkload: {clients: 5, mode: closed, think: 0ms, keys: 5, timeout: 20ms, op_timeout: 1s}\n"},
			{Name: "lost-accepts", Points: 10, Core: true, Kind: "property", Seeds: 5, FirstSeed: 1, Lin: true, Checkers: slotChecks, Expect: all(opsAtLeast(20), noGaps(16)),
				YAML: "# liveness: n1 leads (the others start late); bursts of loss shorter than an election timeout drop Accepts and their answers while n1 stays leader: a leader must send a slot's Accept again until a majority answers, or its log stops at the first slot it lost\nnodes: 3\nduration: 3s\nnetwork: {latency: {dist: uniform, min: 1ms, max: 5ms}}\nfaults: [\"0s crash n2\", \"0s crash n3\", \"150ms restart n2\", \"150ms restart n3\"]\nnemesis: {loss_every: 150ms, loss_burst: 0.6, downtime: 30ms, heal_at: 2500ms}\nworkload: {clients: 5, mode: closed, think: 1ms, keys: 5, timeout: 50ms, op_timeout: 1s}\n"},
			{Name: "multipaxos-chaos", Points: 20, Core: true, Kind: "property", Seeds: 10, FirstSeed: 700, Lin: true, Checkers: slotChecks, Expect: opsAtLeast(20),
				YAML: "# crashes, partitions, cuts, loss and duplication, healed at 3s\nnodes: 5\nduration: 4s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 4ms, max: 200ms}, loss: 0.05, duplicate: 0.05}\nnemesis: {crash_every: 400ms, partition_every: 600ms, cut_every: 700ms, downtime: 200ms, max_crashed: 2, heal_at: 3s}\n" + kvLoad},
			determinism("# determinism\nnodes: 3\nduration: 1s\nfaults: [\"300ms crash n2\", \"500ms restart n2\"]\n" + kvLoad),
		},
	},
	{
		Name: "2pc-recovery", Title: "Two-phase commit with coordinator and participant recovery (Bernstein, Hadzilacos & Goodman ch. 7)",
		Skeleton: "2pc", Reference: "2pc",
		Tests: []Test{
			{Name: "commit-no-faults", Points: 10, Core: true, Kind: "scenario", Expect: all(opsAtLeast(20), conserved(8, 100)),
				YAML: "# transfers between accounts on three participants, no faults\nnodes: 4\nduration: 2s\n" + txnLoad},
			{Name: "coordinator-crash", Points: 15, Core: true, Kind: "scenario", Expect: all(opsAtLeast(20), conserved(8, 100)),
				YAML: "# the coordinator crashes mid-run and recovers from its log\nnodes: 4\nduration: 3s\nfaults: [\"500ms crash n1\", \"800ms restart n1\", \"1500ms crash n1\", \"1510ms restart n1\"]\n" + txnLoad},
			{Name: "participant-crash", Points: 15, Core: true, Kind: "scenario", Expect: all(opsAtLeast(20), conserved(8, 100)),
				YAML: "# participants crash, prepared or not, and recover from their logs\nnodes: 4\nduration: 3s\nfaults: [\"500ms crash n3\", \"700ms restart n3\", \"1200ms crash n2\", \"1250ms restart n2\"]\n" + txnLoad},
			{Name: "2pc-chaos", Points: 15, Core: true, Kind: "property", Seeds: 10, FirstSeed: 800, Expect: all(opsAtLeast(5), conserved(8, 100)),
				YAML: "# crashes, partitions, loss and duplication, healed at 2s\nnodes: 4\nduration: 3s\nnetwork: {latency: {dist: exponential, min: 1ms, mean: 3ms, max: 100ms}, loss: 0.02, duplicate: 0.05}\nnemesis: {crash_every: 300ms, partition_every: 600ms, downtime: 150ms, heal_at: 2s}\nfsync_delay: 1ms\n" + txnLoad},
			determinism("# determinism\nnodes: 4\nduration: 1s\nfaults: [\"300ms crash n1\", \"400ms restart n1\"]\n" + txnLoad),
		},
	},
}

const putLoad = "workload: {clients: 3, mode: closed, think: 5ms, keys: 5, mix: {get: 0.5, put: 0.5}, timeout: 100ms, op_timeout: 1s}\n"

const txnLoad = "workload: {clients: 2, mode: closed, think: 5ms, op_timeout: 500ms}\nchecks: {linearizability: false}\n"
