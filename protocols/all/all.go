// Package all registers every protocol that ships with synod; import it for
// its side effect.
package all

import (
	_ "github.com/synod-dev/synod/protocols/primarybackup" // primary-backup
	_ "github.com/synod-dev/synod/protocols/single"        // single
)
