package etcdraft

import (
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/synod-dev/synod/sim"
)

// sharingRun runs the chaos mix (determinism_test.go) with every sent
// message recorded, and returns the messages etcd changed after sending
// (each rendered).
func sharingRun(t *testing.T, seed uint64, opts *Options) []string {
	t.Helper()
	log := &sharingLog{}
	opts.sharing = log
	c := newCluster(t, chaos(seed, opts))
	c.s.Run()
	c.noFailure()
	return log.changed()
}

// The adapter hands etcd the sent message itself, shared by every node and
// duplicate that gets it, unless etcd may change it (changedByStep). Over
// chaos runs with each option that sends other messages (read index,
// snapshots, no pre-vote), no message sent ends the run changed.
func TestEtcdChangesNoSharedMessage(t *testing.T) {
	variants := map[string]func(*Options){
		"default":    func(*Options) {},
		"read_index": func(o *Options) { o.Reads = ReadsReadIndex },
		"snapshots":  func(o *Options) { o.SnapshotEntries = 20 },
		"no_prevote": func(o *Options) { o.PreVote, o.CheckQuorum = false, false },
	}
	seeds := uint64(seedCount(5))
	for name, set := range variants {
		t.Run(name, func(t *testing.T) {
			for seed := uint64(1); seed <= seeds; seed++ {
				opts := DefaultOptions()
				set(opts)
				changed := sharingRun(t, seed, opts)
				require.Empty(t, changed, "seed %d: etcd changed messages it was handed", seed)
			}
		})
	}
}

// The mistake the check exists for, a node changing a message it was
// handed, shared with the sender and the other deliveries: here a node
// that, as an etcd follower forwarding a read request does, readdresses
// what it got.
func TestSharingCheckCatchesAChangedMessage(t *testing.T) {
	log := &sharingLog{}
	opts := DefaultOptions()
	opts.sharing = log
	c := newCluster(t, chaos(1, opts))
	c.s.RunUntil(sim.Second)
	require.Empty(t, log.changed())
	var app Msg
	for _, w := range log.msgs {
		if w.pm.GetType() == pb.MsgApp {
			app = w
		}
	}
	require.NotNil(t, app.pm, "no append sent in the first second")
	got, err := app.unwrap()
	require.NoError(t, err)
	got.To = proto.Uint64(got.GetFrom()) // the mistake
	changed := log.changed()
	require.Len(t, changed, 1)
	require.Contains(t, changed[0], "MsgApp sent as")
}
