package raft

import (
	"github.com/synod-dev/synod/protocols"
)

// majority is the size of a quorum of n voters.
func majority(n int) int { return n/2 + 1 }

// quorumIndex returns the highest value that a majority of the values
// reach: the commit index of a set of matchIndexes, or the confirmed round
// of a set of acknowledged rounds. It sorts vals in place (descending; the
// slices are a handful of voters, so insertion sort allocates nothing).
func quorumIndex(vals []int64) int64 {
	if len(vals) == 0 {
		return 0
	}
	for i := 1; i < len(vals); i++ {
		for j := i; j > 0 && vals[j] > vals[j-1]; j-- {
			vals[j], vals[j-1] = vals[j-1], vals[j]
		}
	}
	return vals[majority(len(vals))-1]
}

// election outcomes.
type electionResult uint8

const (
	votePending electionResult = iota
	voteWon
	voteLost
)

// voteResult decides an election from the votes granted and refused out of
// voters: won with a majority granted, lost once a majority is out of reach.
func voteResult(granted, refused, voters int) electionResult {
	q := majority(voters)
	switch {
	case granted >= q:
		return voteWon
	case voters-refused < q:
		return voteLost
	}
	return votePending
}

// digest chains the identity of an applied entry into the running digest
// of a state machine's history: two nodes with equal digests at an index
// applied the same commands up to it.
func digest(h uint64, i int64, e *Entry) uint64 {
	h = mix(h ^ uint64(i))
	h = mix(h ^ uint64(e.Term)<<8 ^ uint64(e.Kind))
	switch e.Kind {
	case EntryCommand:
		h = mix(h ^ uint64(e.Req.Client)<<32 ^ uint64(e.Req.Seq))
		h = mix(h ^ strHash(string(e.Req.Op.Kind)))
		h = mix(h ^ strHash(e.Req.Op.Key))
		h = mix(h ^ strHash(e.Req.Op.Value))
		h = mix(h ^ strHash(e.Req.Op.Expect))
	case EntryConfig:
		h = mix(h ^ uint64(e.Config.Version))
	}
	return h
}

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// readKV answers a get from the state machine without going through the
// log (ReadIndex and lease reads); it does not touch the dedup table.
func readKV(kv *protocols.KV, req *protocols.Request) *protocols.Response {
	v, ok := kv.Data[req.Op.Key]
	return &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusOK, Value: v, Found: ok}
}
