// Package all registers every protocol that ships with synod; import it for
// its side effect.
package all

import (
	_ "github.com/synod-dev/synod/paxos"                   // paxos, paxos-single
	_ "github.com/synod-dev/synod/protocols/primarybackup" // primary-backup
	_ "github.com/synod-dev/synod/protocols/register"      // register (a test protocol)
	_ "github.com/synod-dev/synod/protocols/single"        // single
	_ "github.com/synod-dev/synod/protocols/twopc"         // 2pc, paxos-commit
	_ "github.com/synod-dev/synod/raft"                    // raft
	_ "github.com/synod-dev/synod/raft/etcdraft"           // etcd-raft
)
