package sim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
)

// NodeID names a process in a run. Nodes (protocol replicas) are 1..N and
// print as n1..nN; clients are -1..-C and print as c1..cC. Zero is "nobody".
type NodeID int32

// MaxNodes bounds the number of nodes in one run.
const MaxNodes = 64

// MaxClients bounds the number of clients in one run.
const MaxClients = 1024

// IsClient reports whether id names a client.
func (id NodeID) IsClient() bool { return id < 0 }

// IsNode reports whether id names a protocol node.
func (id NodeID) IsNode() bool { return id > 0 }

// String renders n3 or c2 (or "-" for zero).
func (id NodeID) String() string {
	switch {
	case id > 0:
		return "n" + strconv.Itoa(int(id))
	case id < 0:
		return "c" + strconv.Itoa(int(-id))
	}
	return "-"
}

// ClientID returns the NodeID of the i-th client (1-based).
func ClientID(i int) NodeID { return NodeID(-i) }

// MarshalText encodes the id as n3 or c2.
func (id NodeID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes n3, c2, a bare node number, or "-" (nobody), so
// that every id MarshalText writes reads back.
func (id *NodeID) UnmarshalText(b []byte) error {
	if string(b) == "-" {
		*id = 0
		return nil
	}
	v, err := ParseNodeID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseNodeID parses "n3", "c2" or "3".
func ParseNodeID(s string) (NodeID, error) {
	if s == "" {
		return 0, fmt.Errorf("empty node id")
	}
	sign, body := 1, s
	switch s[0] {
	case 'n':
		body = s[1:]
	case 'c':
		sign, body = -1, s[1:]
	}
	n, err := strconv.Atoi(body)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a node id (want n1, n2, ... or c1 for a client)", s)
	}
	return NodeID(sign * n), nil
}

// Message is a payload carried by the simulated network: a plain Go struct
// (or pointer to one) that is never mutated after it is sent. Receivers must
// treat messages as read-only: the same value may be delivered twice when the
// network duplicates it.
type Message interface {
	// MessageType names the message in traces, for example "raft.Vote".
	MessageType() string
}

// Describer is implemented by messages that render their key fields for one
// line of human output ("term=3 last=12/3"). Messages without it render as
// their type alone.
type Describer interface {
	Describe() string
}

// Codec maps message type names to Go types so traces can encode messages
// as JSON with a type tag and decode them again.
type Codec struct {
	mu    sync.RWMutex
	types map[string]reflect.Type
}

// Messages is the process-wide message codec; protocols register their
// message types with it (normally from an init function).
var Messages = &Codec{types: map[string]reflect.Type{}}

// Register records the message types of the given example values. Registering
// two different Go types under one name panics: that is a programming error.
func (c *Codec) Register(examples ...Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range examples {
		name := m.MessageType()
		t := reflect.TypeOf(m)
		if old, ok := c.types[name]; ok && old != t {
			panic(fmt.Sprintf("sim: message type %q registered as both %v and %v", name, old, t))
		}
		c.types[name] = t
	}
}

// Type returns the Go type registered under a message type name.
func (c *Codec) Type(name string) (reflect.Type, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.types[name]
	return t, ok
}

// Names lists the registered message type names in sorted order.
func (c *Codec) Names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.types))
	for n := range c.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Encode renders msg as {"type":NAME,"body":{...}}. encoding/json sorts map
// keys and follows struct field order, so the bytes are deterministic.
func (c *Codec) Encode(dst []byte, msg Message) []byte {
	dst = append(dst, `{"type":`...)
	dst = strconv.AppendQuote(dst, msg.MessageType())
	dst = append(dst, `,"body":`...)
	body, err := json.Marshal(msg)
	if err != nil {
		body, _ = json.Marshal(fmt.Sprintf("unencodable: %v", err))
	}
	dst = append(dst, body...)
	return append(dst, '}')
}

type taggedMessage struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// Decode parses a tagged message produced by Encode back into its Go type.
func (c *Codec) Decode(data []byte) (Message, error) {
	var tm taggedMessage
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("message: %v", err)
	}
	c.mu.RLock()
	t, ok := c.types[tm.Type]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("message type %q is not registered", tm.Type)
	}
	isPtr := t.Kind() == reflect.Pointer
	base := t
	if isPtr {
		base = t.Elem()
	}
	v := reflect.New(base)
	if len(tm.Body) > 0 {
		if err := json.Unmarshal(tm.Body, v.Interface()); err != nil {
			return nil, fmt.Errorf("message %s body: %v", tm.Type, err)
		}
	}
	if isPtr {
		return v.Interface().(Message), nil
	}
	return v.Elem().Interface().(Message), nil
}

// Describe renders a message as "Type key=value ..." for one line of output.
func Describe(msg Message) string {
	if msg == nil {
		return "<nil>"
	}
	if d, ok := msg.(Describer); ok {
		if s := d.Describe(); s != "" {
			return msg.MessageType() + " " + s
		}
	}
	return msg.MessageType()
}
