package sim

// Process is what the simulator runs at every node and client: a pure,
// deterministic state machine. The simulator calls exactly one method at a
// time, never concurrently, and the process acts on the world only through
// the Env it is handed: it sends messages, sets and cancels timers, persists
// to its stable storage and logs notes. It must not start goroutines, read
// the machine's clock, use a global random source, or let map iteration
// order leak into what it does. Step must be deterministic: the same state
// and input always give the same effects.
//
// A crash discards the Process value entirely; a restart builds a new one
// from the factory, calls Start, and the new value may read only what the
// old one persisted through Env.Store.
type Process interface {
	// Start runs when the process starts or restarts. A restarted node
	// recovers from env.Load / env.Keys.
	Start(env *Env)
	// Receive handles a delivered message. For a node, from may be a client
	// (from.IsClient()), in which case msg is a client request.
	Receive(env *Env, from NodeID, msg Message)
	// Timer handles a fired timer set through env.SetTimer.
	Timer(env *Env, t Timer)
}

// Inspector is implemented by processes that offer a view of their state
// for displays (the TUI, reports, error messages). The view is a copy: the
// caller may keep it.
type Inspector interface {
	Inspect() View
}

// Factory builds processes for a run. Node is called at start and at every
// restart; Client is called once per client.
type Factory struct {
	Node   func(id NodeID) Process
	Client func(id NodeID) Process
	// Messages, when set, are example values of every message type the
	// processes may send. Sending another type panics at that send, so
	// the run stops (StopPanic) with an error naming the type and
	// MessagesFrom: a type left out of a protocol's declaration is found
	// at its first send, not when a trace of the run fails to replay.
	Messages []Message
	// MessagesFrom names where Messages are declared, for that error
	// ("Spec.Messages of protocol raft").
	MessagesFrom string
}
