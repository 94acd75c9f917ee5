package explore

import (
	"github.com/synod-dev/synod/sim"
)

// StateAppender is sim.StateAppender: a process or message that offers a
// canonical encoding of its state for state hashing.
type StateAppender = sim.StateAppender

// Hash returns the run's fingerprint (sim.Sim.Fingerprint: processes,
// stable storage and the pending events as a multiset; time, event ids
// and checker state left out). buf is scratch space, returned for reuse.
func Hash(s *sim.Sim, buf []byte) (uint64, []byte) {
	return s.Fingerprint(buf)
}
