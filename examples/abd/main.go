// Command abd is synod's whole command line (run, tui, sweep, explore,
// shrink, replay, ...) with one more protocol, mwabd, beside synod's own:
//
//	go run . run --protocol mwabd
//	go run . run --scenario scenarios/chaos.yaml --seed 7
//	go run . tui --scenario scenarios/chaos.yaml
package main

import (
	"example.com/abd/mwabd"

	"github.com/synod-dev/synod/cmd/synod/cli"
)

func main() { cli.Main(mwabd.Spec()) }
