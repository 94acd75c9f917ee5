// Package protocols holds what every protocol in synod shares: the Node
// interface a protocol implements, the registry of protocols by name, the
// client request and response messages, the key-value state machine with
// exactly-once deduplication, the client workload that drives a cluster, and
// the linearizability checker over the clients' history.
//
// A protocol node is a pure, deterministic state machine (see sim.Process).
// It reacts to a delivered message, a fired timer or a client request and
// acts only through the *sim.Env it is handed. A complete, if useless,
// protocol that answers every client request from its own copy of the store:
//
//	type single struct{ kv *protocols.KV }
//
//	func (n *single) Start(env *sim.Env)  { n.kv = protocols.NewKV() }
//	func (n *single) Timer(*sim.Env, sim.Timer) {}
//	func (n *single) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
//		if req, ok := m.(*protocols.Request); ok {
//			env.Send(from, n.kv.Apply(req))
//		}
//	}
//	func (n *single) Inspect() sim.View { return sim.View{Role: "server"} }
//
//	func init() {
//		protocols.Register(protocols.Spec{
//			Name: "single", Description: "one server, no replication",
//			New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
//				return func(sim.NodeID) protocols.Node { return &single{} }, nil
//			},
//		})
//	}
//
// Messages are plain structs with a MessageType method, registered through
// Spec.Messages so traces can encode and decode them.
package protocols
