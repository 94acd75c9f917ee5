package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols"
)

func newProtocolsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "protocols",
		Short: "List the registered protocols",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range protocols.All() {
				fmt.Fprintf(cmd.OutOrStdout(), "%-16s %s\n", s.Name, s.Description)
			}
			return nil
		},
	}
}
