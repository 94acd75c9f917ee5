// Command synod runs, replays and inspects deterministic simulations of
// consensus protocols. It is package cli with the protocols shipped with
// synod; a module with its own protocols builds the same CLI with
// cli.Main(itsSpecs...).
package main

import "github.com/synod-dev/synod/cmd/synod/cli"

func main() { cli.Main() }
