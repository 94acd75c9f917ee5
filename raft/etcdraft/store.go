package etcdraft

import (
	"fmt"
	"math/bits"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Stable storage layout. etcd hands the application three things to make
// durable (Ready.HardState, Ready.Entries, Ready.Snapshot); each has its own
// keys so that one entry costs one write:
//
//	hs          term, vote, commit
//	snap        index, term, voters, the key-value store at index
//	e/<index>   one log entry: term, type, data (index in 16 zero-padded
//	            hex digits, sim.IndexKey, so that Keys lists the log in
//	            order: entry 26 is e/000000000000001a)
const (
	keyHardState = "hs"
	keySnapshot  = "snap"
	prefixEntry  = "e/"
)

// The initial configuration is a virtual snapshot at index 1, term 1 that
// every node of a run shares: etcd's recommended way to bootstrap (a
// storage whose first index is above 1 and whose InitialState holds the
// voters), without any log entry for a configuration change.
const (
	bootIndex = 1
	bootTerm  = 1
)

// entryAt names entry index's key by number, for env.StoreAt and its
// siblings: the key is sim.IndexKey(prefixEntry, index), e/ and the index
// in 16 zero-padded hex digits, which lists the log in order. The store
// keeps such keys in an array indexed by the number, and a log's entries
// are consecutive numbers, so the array is dense and no key string is made
// or hashed (only a trace names the key). Decimal keys, which the adapter
// used before, read to the store as a binary-coded decimal number: a sparse
// array, reallocated at every decimal carry.
func entryAt(index uint64) (prefix string, n uint64) { return prefixEntry, index }

// The node's reads and writes of stored entries, by number (entryAt).

func storeEntry(env *sim.Env, index uint64, b []byte) {
	p, n := entryAt(index)
	env.StoreAt(p, n, b)
}

func deleteEntry(env *sim.Env, index uint64) {
	p, n := entryAt(index)
	env.DeleteAt(p, n)
}

// peekEntry returns the stored entry's bytes without a copy: they are
// the store's, to be copied before the handler returns (Env.PeekAt).
func peekEntry(env *sim.Env, index uint64) ([]byte, bool) {
	p, n := entryAt(index)
	return env.PeekAt(p, n)
}

// storedLogEnd returns the index of the last stored entry of the log that
// follows the snapshot at snapIndex (snapIndex if there is none).
func storedLogEnd(env *sim.Env, snapIndex uint64) uint64 {
	return logEnd(snapIndex, func(index uint64) bool {
		p, n := entryAt(index)
		return env.HasAt(p, n)
	})
}

// logEnd returns end, given that has holds for the indexes after+1..end
// and for none past end: a stored log, which the adapter keeps contiguous
// (Node.recover). It finds the end without reading every entry, so that a
// restart reads each entry once: it gallops out from after and bisects,
// about twice log2 of the log's length probes.
func logEnd(after uint64, has func(uint64) bool) uint64 {
	lo, step := after, uint64(1) // has(lo), or lo is after
	for has(lo + step) {
		lo += step
		step *= 2
	}
	hi := lo + step // !has(hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if has(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// appendEntry appends an entry as stored: term, type, data. The store
// copies what it is given, so the node encodes every write into one
// buffer of its own (Node.scratch) and a write allocates nothing.
func appendEntry(dst []byte, e *pb.Entry) []byte {
	enc := protocols.Encoder{B: dst}
	enc.Uvarint(e.GetTerm())
	enc.Uvarint(uint64(e.GetType()))
	enc.Bytes(e.GetData())
	return enc.B
}

// decodeEntry returns the stored entry b, at index, as a new entry that
// owns its data.
func decodeEntry(index uint64, b []byte) (*pb.Entry, error) {
	return newEntryBlock(1).decode(index, b)
}

// entryBlock holds decoded entries, their fields (protobuf's optional
// fields are pointers) and their data in a few arrays, so that a restart,
// which decodes the whole log, allocates per block rather than five times
// per entry.
type entryBlock struct {
	ents  []pb.Entry
	nums  []uint64 // index and term of each entry
	types []pb.EntryType
	// data is where the entries' data are copied out of the store, in
	// chunks of entryDataChunk bytes: etcd keeps them, and the store may
	// write a value's bytes again in place (Env.PeekAt).
	data []byte
}

// entryDataChunk is the size of the arrays a block copies its entries'
// data into (one array for many entries, whose total is not known before
// they are read), and so what it may leave unused at the end of each.
const entryDataChunk = 4 << 10

func newEntryBlock(n int) *entryBlock {
	return &entryBlock{ents: make([]pb.Entry, 0, n), nums: make([]uint64, 0, 2*n), types: make([]pb.EntryType, 0, n)}
}

// decode decodes the stored entry b, at index, into the block's next
// slot, with a copy of its data: b is the store's, to be read and let go
// (peekEntry).
func (blk *entryBlock) decode(index uint64, b []byte) (*pb.Entry, error) {
	if len(blk.ents) == cap(blk.ents) {
		panic(fmt.Sprintf("entry block of %d is full at entry %d", cap(blk.ents), index))
	}
	term, typ, stored, err := entryFields(b)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %v", index, err)
	}
	var data []byte // as etcd made it: an empty entry has no data
	if n := len(stored); n > 0 {
		if cap(blk.data)-len(blk.data) < n {
			room := n // the block's last entry: no more than it needs
			if cap(blk.ents)-len(blk.ents) > 1 {
				room = max(n, entryDataChunk)
			}
			blk.data = make([]byte, 0, room)
		}
		at := len(blk.data)
		blk.data = append(blk.data, stored...)
		data = blk.data[at : at+n : at+n]
	}
	blk.nums = append(blk.nums, index, term)
	blk.types = append(blk.types, pb.EntryType(typ))
	k := len(blk.types) - 1
	// The entry's fields are set in place in the block's zeroed slot: a
	// composite literal appended was built aside and copied in with a
	// bulk write barrier (a quarter of a restart's decoding).
	blk.ents = blk.ents[:k+1]
	e := &blk.ents[k]
	e.Index, e.Term, e.Type, e.Data = &blk.nums[2*k], &blk.nums[2*k+1], &blk.types[k], data
	return e, nil
}

// entryFields reads a stored entry (appendEntry): its term, type and data,
// which aliases b. It reads b in a local slice rather than through a
// protocols.Decoder, whose every integer read writes the rest of the slice
// back through a pointer: a pointer write, which costs a write barrier
// while the collector marks, three times per entry of a restart's log.
func entryFields(b []byte) (term, typ uint64, data []byte, err error) {
	var ok bool
	if term, b, ok = protocols.UvarintIn(b); !ok {
		return 0, 0, nil, fmt.Errorf("bad term")
	}
	if typ, b, ok = protocols.UvarintIn(b); !ok {
		return 0, 0, nil, fmt.Errorf("bad type")
	}
	n, b, ok := protocols.UvarintIn(b)
	if !ok {
		return 0, 0, nil, fmt.Errorf("bad data length")
	}
	if n > uint64(len(b)) {
		return 0, 0, nil, fmt.Errorf("data of %d bytes in %d", n, len(b))
	}
	return term, typ, b[:n:n], nil
}

// appendHardState appends a hard state as stored (see appendEntry).
func appendHardState(dst []byte, hs *pb.HardState) []byte {
	enc := protocols.Encoder{B: dst}
	enc.Uvarint(hs.GetTerm())
	enc.Uvarint(hs.GetVote())
	enc.Uvarint(hs.GetCommit())
	return enc.B
}

func decodeHardState(b []byte) (*pb.HardState, error) {
	d := protocols.Decoder{B: b}
	hs := &pb.HardState{Term: proto.Uint64(d.Uvarint()), Vote: proto.Uint64(d.Uvarint()), Commit: proto.Uint64(d.Uvarint())}
	if d.Err != nil {
		return nil, fmt.Errorf("hard state: %v", d.Err)
	}
	return hs, nil
}

func encodeSnapshot(s *pb.Snapshot) []byte {
	var enc protocols.Encoder
	md := s.GetMetadata()
	enc.Uvarint(md.GetIndex())
	enc.Uvarint(md.GetTerm())
	voters := md.GetConfState().GetVoters()
	enc.Uvarint(uint64(len(voters)))
	for _, v := range voters {
		enc.Uvarint(v)
	}
	enc.Bytes(s.GetData())
	return enc.B
}

func decodeSnapshot(b []byte) (*pb.Snapshot, error) {
	d := protocols.Decoder{B: b}
	index, term := d.Uvarint(), d.Uvarint()
	n := d.Uvarint()
	if n > sim.MaxNodes {
		return nil, fmt.Errorf("snapshot: %d voters is above %d", n, sim.MaxNodes)
	}
	voters := make([]uint64, 0, n)
	for i := uint64(0); i < n; i++ {
		voters = append(voters, d.Uvarint())
	}
	data := d.Bytes()
	if d.Err != nil {
		return nil, fmt.Errorf("snapshot: %v", d.Err)
	}
	return newSnapshot(index, term, voters, data), nil
}

func newSnapshot(index, term uint64, voters []uint64, data []byte) *pb.Snapshot {
	return &pb.Snapshot{Data: data, Metadata: &pb.SnapshotMetadata{
		Index: proto.Uint64(index), Term: proto.Uint64(term), ConfState: &pb.ConfState{Voters: voters},
	}}
}

// encodeCommand is a client request as a log entry's data. etcd keeps it,
// so it is allocated with the exact room it needs (uvarintLen): one
// allocation instead of one per growth of the buffer.
func encodeCommand(r *protocols.Request) []byte {
	size := varintLen(int64(r.Client)) + varintLen(r.Seq) + uvarintLen(uint64(len(r.Op.Kind))) + len(r.Op.Kind) +
		uvarintLen(uint64(len(r.Op.Key))) + len(r.Op.Key) + uvarintLen(uint64(len(r.Op.Value))) + len(r.Op.Value) +
		uvarintLen(uint64(len(r.Op.Expect))) + len(r.Op.Expect)
	enc := protocols.Encoder{B: make([]byte, 0, size)}
	enc.Request(r)
	return enc.B
}

// uvarintLen is the length of v's encoding by binary.AppendUvarint.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// varintLen is the length of v's encoding by binary.AppendVarint (zigzag).
func varintLen(v int64) int { return uvarintLen(uint64(v<<1) ^ uint64(v>>63)) }

func decodeCommand(b []byte) (protocols.Request, error) {
	d := protocols.Decoder{B: b}
	r := d.Request()
	return r, d.Err
}

// describeData renders an entry's data for views and violations.
func describeData(data []byte) string {
	if len(data) == 0 {
		return "(empty)"
	}
	r, err := decodeCommand(data)
	if err != nil {
		return fmt.Sprintf("(%d bytes)", len(data))
	}
	return r.Describe()
}
