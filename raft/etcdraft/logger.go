package etcdraft

import "fmt"

// quietLogger is etcd's Logger for the simulator: etcd's default logger
// writes to the process's stderr (real I/O, shared by parallel runs), so
// informational output is dropped; etcd's own assertions (Panicf, Fatalf)
// still panic, and the simulator reports the panic with the seed and event.
type quietLogger struct{}

func (quietLogger) Debug(...any)          {}
func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Error(...any)          {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Info(...any)           {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warning(...any)        {}
func (quietLogger) Warningf(string, ...any) {
}
func (quietLogger) Fatal(v ...any)            { panic("etcd raft: " + fmt.Sprint(v...)) }
func (quietLogger) Fatalf(f string, v ...any) { panic("etcd raft: " + fmt.Sprintf(f, v...)) }
func (quietLogger) Panic(v ...any)            { panic("etcd raft: " + fmt.Sprint(v...)) }
func (quietLogger) Panicf(f string, v ...any) { panic("etcd raft: " + fmt.Sprintf(f, v...)) }
