// Package single is the smallest replicated-nothing key-value store: node n1
// serves every request from its own store, persisting it before it answers,
// and every other node redirects clients to n1. It is always linearizable
// (it is one copy, made durable before each answer) and it is unavailable
// whenever n1 is down: a baseline for the checkers and the workload.
package single

import (
	"fmt"
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Server is node n1 (the server) or any other node (a redirector).
type Server struct {
	kv      *protocols.KV
	applied int64
}

const server sim.NodeID = 1

func init() {
	protocols.Register(protocols.Spec{
		Name:         "single",
		Description:  "single-server key-value store (n1 serves, durable before answering): always linearizable",
		New:          func(protocols.Cluster) (func(sim.NodeID) protocols.Node, error) { return New, nil },
		Messages:     []sim.Message{&protocols.Request{}, &protocols.Response{}},
		Linearizable: true,
	})
}

// New builds a node.
func New(sim.NodeID) protocols.Node { return &Server{} }

// Start recovers the store from stable storage.
func (s *Server) Start(env *sim.Env) {
	s.kv = protocols.NewKV()
	if b, ok := env.Load("kv"); ok {
		kv, err := protocols.DecodeKV(b)
		if err != nil {
			panic(fmt.Sprintf("single: %v on %v: corrupt storage", err, env.ID()))
		}
		s.kv = kv
		env.Logf("recovered %d keys", len(kv.Data))
	}
	if b, ok := env.Load("applied"); ok {
		s.applied, _ = strconv.ParseInt(string(b), 10, 64)
	}
}

// Receive serves or redirects a client request.
func (s *Server) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	req, ok := m.(*protocols.Request)
	if !ok {
		return
	}
	if env.ID() != server {
		env.Send(from, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: server})
		return
	}
	resp := s.kv.Apply(req)
	if req.Op.Kind != protocols.OpGet {
		s.applied++
		env.Store("kv", s.kv.Encode())
		env.Store("applied", []byte(strconv.FormatInt(s.applied, 10)))
	}
	env.Send(from, resp)
}

// Timer is unused: the server sets no timers.
func (s *Server) Timer(*sim.Env, sim.Timer) {}

// Inspect shows the store.
func (s *Server) Inspect() sim.View {
	v := sim.View{Role: "redirector", Leader: server, Applied: s.applied, Commit: s.applied}
	if s.kv == nil {
		return v
	}
	if len(s.kv.Data) > 0 || s.applied > 0 {
		v.Role = "server"
	}
	for _, k := range s.kv.Keys() {
		v.Fields = append(v.Fields, sim.Field{Name: k, Value: strconv.Quote(s.kv.Data[k])})
	}
	return v
}
