package etcdraft

import (
	"fmt"

	"github.com/synod-dev/synod/sim"
)

// Options configure an etcd-raft cluster. They map one to one onto the
// fields of etcd's raft.Config, except TickInterval (etcd leaves the tick's
// length to the application) and SnapshotEntries (log compaction is the
// application's job in etcd).
type Options struct {
	// TickInterval is the length of one logical tick on the node's local
	// clock: etcd counts every timeout in ticks.
	TickInterval sim.Time `json:"tick_interval" yaml:"tick_interval"`
	// ElectionTicks is etcd's ElectionTick: a follower that hears nothing
	// from a leader for a random number of ticks in [ElectionTicks,
	// 2*ElectionTicks) campaigns. It is also the CheckQuorum period and the
	// length of a follower's lease.
	ElectionTicks int `json:"election_ticks" yaml:"election_ticks"`
	// HeartbeatTicks is etcd's HeartbeatTick: how often a leader sends
	// heartbeats.
	HeartbeatTicks int `json:"heartbeat_ticks" yaml:"heartbeat_ticks"`
	// PreVote runs a pre-election before a real one (etcd's PreVote).
	PreVote bool `json:"pre_vote" yaml:"pre_vote"`
	// CheckQuorum makes a leader step down when a quorum has not been active
	// within an election timeout, and makes followers ignore vote requests
	// while they have heard from a leader within one (etcd's CheckQuorum).
	CheckQuorum bool `json:"check_quorum" yaml:"check_quorum"`
	// MaxMsgBytes is etcd's MaxSizePerMsg: the byte budget of the entries
	// one append message carries (etcd bounds bytes, not entries; 0 means
	// one entry per message).
	MaxMsgBytes uint64 `json:"max_msg_bytes" yaml:"max_msg_bytes"`
	// MaxInflightMsgs is etcd's MaxInflightMsgs: how many append messages a
	// leader pipelines to one follower before waiting for acknowledgements.
	MaxInflightMsgs int `json:"max_inflight_msgs" yaml:"max_inflight_msgs"`
	// SnapshotEntries compacts the log into a snapshot of the key-value
	// store once this many applied entries follow the last snapshot; zero
	// disables compaction.
	SnapshotEntries int `json:"snapshot_entries" yaml:"snapshot_entries"`
	// Reads is "log" (a get is a log entry, like a write) or "read_index"
	// (etcd's ReadIndex: the leader confirms with a heartbeat round that it
	// still leads, then answers once it has applied up to its commit index
	// of that moment; Raft thesis §6.4).
	Reads string `json:"reads" yaml:"reads"`

	// naive ticks followers with RawNode.Tick, leaving elections to etcd's
	// crypto/rand timeout: the adapter everyone writes first. Tests only,
	// to show that it is not deterministic.
	naive bool
	// corrupt makes that node store garbage for the entry at corruptIndex
	// (a disk that flips bits): a fault etcd cannot see and the checkers
	// must. Tests only.
	corrupt      sim.NodeID
	corruptIndex uint64
	// corruptTerm stores the entry's term one higher instead, its data
	// intact: the entry after it then follows a term no other node's
	// does (Log Matching's previous-term rule).
	corruptTerm bool
	// unsafeLocalReads answers read_index gets at once from the leader's
	// store, without confirming leadership: stale reads the linearizability
	// check must catch. Tests only.
	unsafeLocalReads bool
	// sharing, when set, keeps a copy of every message sent, so that a
	// test can show that etcd changed none of the messages the adapter
	// shares between deliveries (message.go: changedByStep). Tests only.
	sharing *sharingLog
}

// Read modes.
const (
	ReadsLog       = "log"
	ReadsReadIndex = "read_index"
)

// DefaultOptions is etcd's production setting (PreVote and CheckQuorum on)
// with timeouts scaled to the simulator's millisecond links: a 10 ms tick,
// elections after 150-300 ms of silence, heartbeats every 50 ms.
func DefaultOptions() *Options {
	return &Options{
		TickInterval:    10 * sim.Millisecond,
		ElectionTicks:   15,
		HeartbeatTicks:  5,
		PreVote:         true,
		CheckQuorum:     true,
		MaxMsgBytes:     64 << 10,
		MaxInflightMsgs: 256,
		SnapshotEntries: 0,
		Reads:           ReadsLog,
	}
}

// ticksMax bounds the tick counts so that timeouts stay readable and the
// randomized election timeout fits comfortably in an int.
const ticksMax = 1 << 20

// Validate checks the options and names the offending field.
func (o *Options) Validate() error {
	switch {
	case o.TickInterval <= 0:
		return fmt.Errorf("options.tick_interval: %v must be positive", o.TickInterval)
	case o.HeartbeatTicks < 1 || o.HeartbeatTicks > ticksMax:
		return fmt.Errorf("options.heartbeat_ticks: %d is outside 1..%d", o.HeartbeatTicks, ticksMax)
	case o.ElectionTicks <= o.HeartbeatTicks || o.ElectionTicks > ticksMax:
		return fmt.Errorf("options.election_ticks: %d must be above heartbeat_ticks %d and at most %d (etcd's rule)",
			o.ElectionTicks, o.HeartbeatTicks, ticksMax)
	case o.MaxInflightMsgs < 1:
		return fmt.Errorf("options.max_inflight_msgs: %d must be at least 1", o.MaxInflightMsgs)
	case o.SnapshotEntries < 0:
		return fmt.Errorf("options.snapshot_entries: %d is negative", o.SnapshotEntries)
	case o.Reads != ReadsLog && o.Reads != ReadsReadIndex:
		return fmt.Errorf("options.reads: %q is not %q or %q", o.Reads, ReadsLog, ReadsReadIndex)
	}
	return nil
}
