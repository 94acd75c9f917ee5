package twopc

import (
	"fmt"

	"github.com/synod-dev/synod/sim"
)

// BlockingStats measures blocking: how long participants stayed prepared
// (uncertain, unable to decide alone) and how many locks they held
// meanwhile. Times are read from the participants' logs.
type BlockingStats struct {
	// Prepared counts yes votes (prepared records).
	Prepared int64 `json:"prepared"`
	// Uncertain is the total time participants spent uncertain, and Max the
	// longest single stretch.
	Uncertain sim.Time `json:"uncertain"`
	Max       sim.Time `json:"max"`
	// LockTime is the sum over uncertain stretches of duration times locks
	// held (lock-seconds, as a time).
	LockTime sim.Time `json:"lock_time"`
	// Open counts transactions still uncertain at a participant now, and
	// OpenLocks the locks they hold.
	Open      int64 `json:"open"`
	OpenLocks int64 `json:"open_locks"`
}

// Mean is the mean uncertain stretch.
func (b BlockingStats) Mean() sim.Time {
	if b.Prepared == 0 {
		return 0
	}
	return b.Uncertain / sim.Time(b.Prepared)
}

func (b BlockingStats) String() string {
	return fmt.Sprintf("prepared=%d uncertain total=%v mean=%v max=%v lock-time=%v open=%d (locks %d)",
		b.Prepared, b.Uncertain, b.Mean(), b.Max, b.LockTime, b.Open, b.OpenLocks)
}

// Blocking reads every node's log and sums the uncertain stretches; a
// transaction still uncertain counts until now.
func Blocking(s *sim.Sim) BlockingStats {
	var b BlockingStats
	for _, id := range s.Nodes() {
		st := s.Storage(id)
		open := map[TxnID]record{}
		var order []TxnID
		for i := int64(0); ; i++ {
			r, ok := readLog(st, i)
			if !ok {
				break
			}
			switch r.Kind {
			case recPrepared:
				open[r.Txn] = r
				order = append(order, r.Txn)
				b.Prepared++
			case recOutcome:
				if p, ok := open[r.Txn]; ok {
					b.add(r.Time-p.Time, len(p.Ops))
					delete(open, r.Txn)
				}
			}
		}
		for _, tid := range order {
			if p, ok := open[tid]; ok {
				b.add(s.Now()-p.Time, len(p.Ops))
				b.Open++
				b.OpenLocks += int64(len(p.Ops))
			}
		}
	}
	return b
}

func (b *BlockingStats) add(d sim.Time, locks int) {
	if d < 0 {
		d = 0
	}
	b.Uncertain += d
	b.Max = max(b.Max, d)
	b.LockTime += d * sim.Time(locks)
}

// Fields renders the figures for a run summary.
func (b BlockingStats) Fields() []sim.Field {
	return []sim.Field{
		{Name: "yes votes", Value: fmt.Sprint(b.Prepared)},
		{Name: "uncertain total", Value: b.Uncertain.String()},
		{Name: "uncertain mean", Value: b.Mean().String()},
		{Name: "uncertain max", Value: b.Max.String()},
		{Name: "lock time", Value: b.LockTime.String()},
		{Name: "still uncertain", Value: fmt.Sprintf("%d (locks %d)", b.Open, b.OpenLocks)},
	}
}
