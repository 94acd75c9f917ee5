package scenario

import (
	_ "embed"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is how error messages name the embedded default scenario.
const DefaultName = "(embedded default scenario)"

// DefaultYAML returns the text of the embedded default scenario.
func DefaultYAML() []byte { return defaultYAML }

// LoadDefault parses the embedded default scenario.
func LoadDefault() (*Scenario, error) { return Parse(defaultYAML, DefaultName) }
