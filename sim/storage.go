package sim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Storage is a node's stable storage: a map from keys to byte strings that
// survives crashes. Values are copied on the way in and on the way out, so a
// node cannot change what it persisted except by persisting again.
//
// A small store is a sorted slice of entries, a large one a map: a search
// copies a node's store each time a fork writes to it, and a short slice
// is copied with one allocation, where a map is rebuilt bucket by bucket.
//
// Keys that end in 16 lowercase hex digits (IndexKey: a log's entries,
// log/000000000000002a) are kept apart, by prefix, in an array indexed by
// the number: a log's append, truncation and compaction then neither make
// nor hash key strings. StoreAt and its siblings reach them by prefix and
// number; Store and its siblings by the whole key, to the same entry.
type Storage struct {
	small []storeEntry      // sorted by key, while data is nil
	data  map[string][]byte // once the store has outgrown small
	// logs holds the keys of the form IndexKey(prefix, i), one area per
	// prefix, in the order the prefixes were first stored.
	logs  []indexArea
	bytes int64
	// shared: the values may be shared with a fork's copy (see Fork), so
	// put never writes into an old value's array.
	shared bool
	// fp is the sum of the entries' hashes, in any key order: the
	// storage's part of Sim.Fingerprint. It is kept only once somebody
	// asks for it (fpOn, set by Fingerprint): hashing every value put
	// costs a run that never asks (most runs: only a model checker and
	// some checkers do) about one percent of its time. From then on put
	// and del keep it up to date, so each later ask is O(1). While fpOn
	// is false, fp and every entry's fp are 0.
	fp   uint64
	fpOn bool
	// frozen: a fork shares the store (set by Fork), so it is never
	// written again, not even to turn fingerprints on: its readers may be
	// forks on other goroutines. (Each Env that refers to it copies it
	// before writing, see Env.ownStore.)
	frozen bool
	// spare is room for new values (a copy's block has some): each value
	// put there is clipped to its length, so nothing writes past it.
	spare []byte
	// blk is the block the store is in, if it is in one (copy).
	blk *storageBlock
	// canon, when set (Env.SetStorageCanon), is what fp hashes of a
	// value.
	canon StorageCanon
}

// StorageCanon returns the part of a stored value that the run's state
// fingerprint hashes (Sim.Fingerprint): a protocol that stores bytes its
// behaviour never depends on (the time a log record was written, kept for
// reports) leaves them out, so that a model checker does not take two
// states that differ only there for two. It may use scratch, and must not
// change value.
type StorageCanon func(key string, value, scratch []byte) []byte

type storeEntry struct {
	key   string
	value []byte
	fp    uint64 // the entry's part of Storage.fp (entryFP; 0 while not kept)
}

// indexArea holds the stored keys IndexKey(prefix, i) of one prefix: those
// in the window base..base+w-1 in slots, any others in far. Each
// slot keeps its entry's part of the store's fingerprint, so that a delete
// or an overwrite does not hash the old value again. A log stores at its
// end and deletes at both ends, so far stays empty unless a process
// stores numbers more than indexGapMax apart.
//
// The window holds positions in slots, not the slots themselves: a window
// may be mostly holes (a numbering in binary-coded decimal, as the
// etcd-raft adapter's keys once were, leaves six of every sixteen numbers
// unused, and more at each carry), and a
// hole then costs 4 bytes the collector never scans instead of a slot's
// 32 that it does; growing the window copies as little.
type indexArea struct {
	prefix string
	base   uint64
	// The window is mem[off:off+w]: its k-th element is 1 + the position
	// in slots of number base+k, or 0 where base+k is not stored. mem
	// holds 0 outside it; numbers deleted at the front (a log's
	// compaction) are room to slide the window back into before growing
	// the array. (An offset and length, not a slice of mem, so that a
	// deep copy of the store, which copies each slice apart, keeps one
	// array: see Sim.Clone.)
	mem []int32
	off int
	w   int
	n   int // numbers stored in the window
	// slots holds the window's entries in no order (a stored value is
	// never nil, see emptyValue); free lists the positions of deleted
	// ones, zeroed and taken again before slots grows.
	slots []indexSlot
	free  []int32
	far   map[uint64]indexSlot
	// head is indexKeyHead(prefix, headNum) when headOK: the part of the
	// hash of the keys of the numbers i>>indexTailBits == headNum that
	// their last digits do not change. Only putAt sets it, in a store
	// this process owns (a copy has its own, see Env.ownStore).
	headNum uint64
	head    uint64
	headOK  bool
}

type indexSlot struct {
	v  []byte
	fp uint64 // the entry's part of Storage.fp (0 while not kept)
}

// indexGapMax is the most absent slots a store past the window's end adds
// to the window whatever its size; a number further out goes to far,
// unless the window stays at least 1/indexSparseMax full. That lets a
// window take a numbering with regular gaps larger than indexGapMax
// (binary-coded decimal, as the etcd-raft adapter's keys once were: 99 is
// 0x99, 100 is 0x100, 102 numbers further on) instead of sending every entry
// past the first gap to the map, while no pattern of numbers makes the
// array more than indexSparseMax slots per stored key (plus indexGapMax).
const (
	indexGapMax    = 64
	indexSparseMax = 8
)

// indexSlotsMax bounds the entries an area's window holds: its array counts
// them in int32.
const indexSlotsMax = math.MaxInt32 - 1

// indexDigits is the length of an index key's number: 16 hex digits.
const indexDigits = 16

// emptyValue is a stored empty value: non-nil, because a nil slot of an
// indexArea is an absent key.
var emptyValue = []byte{}

// storageBlock is a copy of a store of a few keys, in one allocation.
type storageBlock struct {
	s        Storage
	entries  [4]storeEntry
	values   [64]byte
	logs     [1]indexArea
	logWin   [4]int32
	logSlots [4]indexSlot
}

// storeSmallMax is the most keys a store holds as a slice.
const storeSmallMax = 32

// IndexKey is the key StoreAt(prefix, i, ...) stores under: prefix and i in
// 16 lowercase hex digits, so that sorted keys are in index order.
func IndexKey(prefix string, i uint64) string {
	b := make([]byte, len(prefix)+indexDigits)
	copy(b, prefix)
	putHex16(b[len(prefix):], i)
	return string(b)
}

const hexDigits = "0123456789abcdef"

func putHex16(b []byte, i uint64) {
	for k := indexDigits - 1; k >= 0; k-- {
		b[k] = hexDigits[i&0xf]
		i >>= 4
	}
}

// splitIndexKey is the inverse of IndexKey: a key that ends in 16 lowercase
// hex digits is a prefix and a number; any other key is not.
func splitIndexKey(key string) (prefix string, i uint64, ok bool) {
	if len(key) < indexDigits {
		return "", 0, false
	}
	p := len(key) - indexDigits
	for k := p; k < len(key); k++ {
		c := key[k]
		switch {
		case '0' <= c && c <= '9':
			i = i<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			i = i<<4 | uint64(c-'a'+10)
		default:
			return "", 0, false
		}
	}
	return key[:p], i, true
}

// The FNV-1a steps of entryFingerprint, so that an index key's hash needs
// no key string.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvValue(h uint64, value []byte) uint64 {
	h = (h ^ 0xff) * fnvPrime
	for _, c := range value {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return mix64(h)
}

// entryFingerprint hashes one stored key and value.
func entryFingerprint(key string, value []byte) uint64 {
	return fnvValue(fnvString(fnvOffset, key), value)
}

// indexFingerprint is entryFingerprint(IndexKey(prefix, i), value).
func indexFingerprint(prefix string, i uint64, value []byte) uint64 {
	return fnvValue(indexKeyTail(indexKeyHead(prefix, i>>indexTailBits), i), value)
}

// An index key's hash is taken in two parts, the prefix with the number's
// leading digits (the head), and the last indexTailBits/4 digits (the
// tail), so that an index area can keep the head of the numbers it was
// last given: a log's consecutive entries share it.
const indexTailBits = 16

// indexKeyHead is the FNV-1a state after prefix and the leading digits of
// IndexKey(prefix, i), where hi is i>>indexTailBits.
func indexKeyHead(prefix string, hi uint64) uint64 {
	h := fnvString(fnvOffset, prefix)
	for k := (indexDigits - indexTailBits/4) - 1; k >= 0; k-- {
		h = (h ^ uint64(hexDigits[(hi>>(4*k))&0xf])) * fnvPrime
	}
	return h
}

// indexKeyTail goes on from indexKeyHead with the last digits of i.
func indexKeyTail(h, i uint64) uint64 {
	for k := indexTailBits/4 - 1; k >= 0; k-- {
		h = (h ^ uint64(hexDigits[(i>>(4*k))&0xf])) * fnvPrime
	}
	return h
}

// fingerprint is indexFingerprint(a.prefix, i, value), with the head of
// the key's hash taken from the area's cache when i shares it.
func (a *indexArea) fingerprint(i uint64, value []byte) uint64 {
	if hi := i >> indexTailBits; !a.headOK || a.headNum != hi {
		a.headNum, a.head, a.headOK = hi, indexKeyHead(a.prefix, hi), true
	}
	return fnvValue(indexKeyTail(a.head, i), value)
}

func newStorage() *Storage { return &Storage{} }

// copy returns a copy of the store that shares its values (marked shared;
// s itself is never written again: see Env.ownStore).
func (s *Storage) copy() *Storage { return s.copyInto(nil) }

// copyInto is copy, reusing the block of spare, a store copied by copy
// that nothing refers to any more (see Sim.ForkInto), if it has one.
func (s *Storage) copyInto(spare *Storage) *Storage {
	if s.data == nil && len(s.small) <= len(storageBlock{}.entries) && s.fitsBlock() {
		var b *storageBlock
		if spare != nil && spare.blk != nil && spare != s {
			b = spare.blk
			// An index area's window holds 0 past its end, and its free
			// slots nothing.
			clear(b.logWin[:])
			clear(b.logSlots[:])
		} else {
			b = &storageBlock{}
		}
		b.s = Storage{small: append(b.entries[:0], s.small...), bytes: s.bytes, shared: true, fp: s.fp, fpOn: s.fpOn, spare: b.values[:0], blk: b, canon: s.canon}
		// The block also has room for an index area and a few of its
		// slots, whether the store has them yet or makes them later.
		b.s.logs = b.logs[:0]
		if len(s.logs) > 0 {
			a := s.logs[0]
			a.copyWindow(b.logWin[:], b.logSlots[:0])
			b.s.logs = append(b.s.logs, a)
		}
		return &b.s
	}
	c := &Storage{small: slices.Clone(s.small), data: maps.Clone(s.data), logs: slices.Clone(s.logs), bytes: s.bytes, shared: true, fp: s.fp, fpOn: s.fpOn, canon: s.canon}
	for k := range c.logs {
		a := &c.logs[k]
		a.copyWindow(make([]int32, a.w), make([]indexSlot, 0, a.n))
		a.far = maps.Clone(a.far)
	}
	return c
}

// copyWindow moves the area (a copy of another's fields) into arrays of
// its own: the window into mem (zeroed, at least as long), its entries
// into slots (empty, room for them), in window order with no free ones.
func (a *indexArea) copyWindow(mem []int32, slots []indexSlot) {
	old, oldSlots := a.window(), a.slots
	a.mem, a.off, a.slots, a.free = mem, 0, slots, nil
	for k, j := range old {
		if j != 0 {
			a.slots = append(a.slots, oldSlots[j-1])
			mem[k] = int32(len(a.slots))
		}
	}
}

// window is the window's part of mem.
func (a *indexArea) window() []int32 { return a.mem[a.off : a.off+a.w] }

// fitsBlock reports whether the store's index areas fit a storageBlock.
func (s *Storage) fitsBlock() bool {
	switch len(s.logs) {
	case 0:
		return true
	case 1:
		return s.logs[0].w <= len(storageBlock{}.logWin) && s.logs[0].far == nil
	}
	return false
}

func (s *Storage) find(key string) (int, bool) {
	lo, hi := 0, len(s.small)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.small[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.small) && s.small[lo].key == key
}

// area returns the index area of prefix, or nil.
func (s *Storage) area(prefix string) *indexArea {
	for k := range s.logs {
		if s.logs[k].prefix == prefix {
			return &s.logs[k]
		}
	}
	return nil
}

// get returns the slot at i and whether it is stored.
func (a *indexArea) get(i uint64) (indexSlot, bool) {
	if k := i - a.base; i >= a.base && k < uint64(a.w) {
		if j := a.mem[a.off+int(k)]; j != 0 {
			return a.slots[j-1], true
		}
		return indexSlot{}, false
	}
	v, ok := a.far[i]
	return v, ok
}

// place stores v at window offset k, in the slot k has or a new one.
func (a *indexArea) place(k uint64, v indexSlot) {
	at := &a.mem[a.off+int(k)]
	if j := *at; j != 0 {
		a.slots[j-1] = v
		return
	}
	var j int
	if n := len(a.free); n > 0 {
		j = int(a.free[n-1])
		a.free = a.free[:n-1]
		a.slots[j] = v
	} else {
		if len(a.slots) == cap(a.slots) {
			// Doubling, where append grows a large array by a quarter: a
			// log grows to its length once, copying as little as the
			// window does.
			a.slots = append(make([]indexSlot, 0, max(2*len(a.slots), 16)), a.slots...)
		}
		j = len(a.slots)
		if j >= indexSlotsMax {
			panic(fmt.Sprintf("storage: more than %d entries under prefix %q", indexSlotsMax, a.prefix))
		}
		a.slots = append(a.slots, v)
	}
	*at = int32(j + 1)
	a.n++
}

// set stores v (its value not nil) at i.
func (a *indexArea) set(i uint64, v indexSlot) {
	// k is i's offset in the window, meaningful when i >= base; offsets,
	// not ends, so that a window reaching the largest uint64 does not wrap.
	k, w := i-a.base, uint64(a.w)
	switch {
	case i >= a.base && k < w:
		a.place(k, v)
		return
	case a.n == 0:
		a.base, a.off, a.w, k, w = i, 0, 0, 0, 0
	case i >= a.base && (k-w <= indexGapMax || k < indexSparseMax*uint64(a.n+1)):
	default:
		if a.far == nil {
			a.far = make(map[uint64]indexSlot)
		}
		a.far[i] = v
		return
	}
	// The window grows to i: slots base+w..base+k, of which any number
	// stored in far moves in.
	a.reserve(int(k) + 1)
	a.w = int(k) + 1 // mem holds 0 past the window: the new numbers are holes
	if len(a.far) > 0 {
		for j := w; j < k; j++ {
			if x, ok := a.far[a.base+j]; ok {
				delete(a.far, a.base+j)
				a.place(j, x)
			}
		}
		delete(a.far, i) // v replaces it
	}
	a.place(k, v)
}

// reserve makes room for a window of need slots: it slides the window to
// the front of its array if that leaves a quarter of the array free (so
// that a log compacted at the front and appended at the back reuses one
// array), else moves it to an array twice as large.
func (a *indexArea) reserve(need int) {
	if a.off+need <= len(a.mem) {
		return
	}
	w := a.w
	if need <= len(a.mem)*3/4 {
		copy(a.mem, a.window())
		clear(a.mem[w : a.off+w]) // the old numbers past the new end
	} else {
		mem := make([]int32, max(2*need, 16))
		copy(mem, a.window())
		a.mem = mem
	}
	a.off = 0
}

// del removes i, and reports whether it was stored.
func (a *indexArea) del(i uint64) bool {
	if k := i - a.base; i >= a.base && k < uint64(a.w) {
		at := &a.mem[a.off+int(k)]
		j := *at
		if j == 0 {
			return false
		}
		*at = 0
		a.slots[j-1] = indexSlot{} // the value is the collector's now
		a.free = append(a.free, j-1)
		a.n--
		if a.n == 0 { // every slot is free: start again from the first
			a.slots, a.free = a.slots[:0], a.free[:0]
		}
		for a.w > 0 && a.mem[a.off] == 0 {
			a.w--
			a.base++
			a.off++
		}
		for a.w > 0 && a.mem[a.off+a.w-1] == 0 {
			a.w--
		}
		return true
	}
	if _, ok := a.far[i]; !ok {
		return false
	}
	delete(a.far, i)
	return true
}

// len is the number of stored keys in the area.
func (a *indexArea) len() int { return a.n + len(a.far) }

// each calls f with every stored number and value, in no set order.
func (a *indexArea) each(f func(i uint64, v []byte)) {
	for k, j := range a.window() {
		if j != 0 {
			f(a.base+uint64(k), a.slots[j-1].v)
		}
	}
	for i, v := range a.far {
		f(i, v.v)
	}
}

func (s *Storage) lookup(key string) ([]byte, bool) {
	if p, i, ok := splitIndexKey(key); ok {
		return s.lookupAt(p, i)
	}
	if s.data != nil {
		v, ok := s.data[key]
		return v, ok
	}
	if i, ok := s.find(key); ok {
		return s.small[i].value, true
	}
	return nil, false
}

func (s *Storage) lookupAt(prefix string, i uint64) ([]byte, bool) {
	if a := s.area(prefix); a != nil {
		v, ok := a.get(i)
		return v.v, ok
	}
	return nil, false
}

// set stores v (which the store now owns) under key, not an index key.
func (s *Storage) set(key string, v []byte) {
	if s.data != nil {
		s.data[key] = v
		return
	}
	i, ok := s.find(key)
	switch {
	case ok:
		s.small[i].value = v
		s.small[i].fp = s.newFP(key, v)
	case len(s.small) < storeSmallMax:
		s.small = slices.Insert(s.small, i, storeEntry{key: key, value: v, fp: s.newFP(key, v)})
	default:
		s.data = make(map[string][]byte, 2*storeSmallMax)
		for _, e := range s.small {
			s.data[e.key] = e.value
		}
		s.small = nil
		s.data[key] = v
	}
}

// Get returns a copy of the value stored under key.
func (s *Storage) Get(key string) ([]byte, bool) {
	v, ok := s.lookup(key)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v...), true
}

// GetAt is Get(IndexKey(prefix, i)) without making the key.
func (s *Storage) GetAt(prefix string, i uint64) ([]byte, bool) {
	v, ok := s.lookupAt(prefix, i)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v...), true
}

// Peek returns the value stored under key without copying it, for
// checkers that read stores after every event: the caller must not change
// it, nor keep it past the next event.
func (s *Storage) Peek(key string) ([]byte, bool) { return s.lookup(key) }

// PeekAt is Peek(IndexKey(prefix, i)) without making the key.
func (s *Storage) PeekAt(prefix string, i uint64) ([]byte, bool) { return s.lookupAt(prefix, i) }

// Has reports whether key is stored.
func (s *Storage) Has(key string) bool {
	_, ok := s.lookup(key)
	return ok
}

// HasAt is Has(IndexKey(prefix, i)) without making the key.
func (s *Storage) HasAt(prefix string, i uint64) bool {
	_, ok := s.lookupAt(prefix, i)
	return ok
}

// Keys returns the stored keys with the given prefix, in sorted order.
func (s *Storage) Keys(prefix string) []string {
	var out []string
	if s.data == nil {
		for _, e := range s.small {
			if strings.HasPrefix(e.key, prefix) {
				out = append(out, e.key)
			}
		}
	} else {
		for k := range s.data {
			if strings.HasPrefix(k, prefix) {
				out = append(out, k)
			}
		}
	}
	sorted := s.data == nil
	for k := range s.logs {
		a := &s.logs[k]
		if !strings.HasPrefix(a.prefix, prefix) && !strings.HasPrefix(prefix, a.prefix) {
			continue
		}
		a.each(func(i uint64, _ []byte) {
			if key := IndexKey(a.prefix, i); strings.HasPrefix(key, prefix) {
				out = append(out, key)
				sorted = false
			}
		})
	}
	if !sorted {
		slices.Sort(out)
	}
	return out
}

// Len is the number of stored keys.
func (s *Storage) Len() int {
	n := len(s.small)
	if s.data != nil {
		n = len(s.data)
	}
	for k := range s.logs {
		n += s.logs[k].len()
	}
	return n
}

// Bytes is the total size of stored values.
func (s *Storage) Bytes() int64 { return s.bytes }

// Fingerprint is a hash of the stored keys and values, in any order: a
// checker may skip re-reading a store whose fingerprint has not changed
// since it last looked. The first call hashes the whole store; from then
// on every write keeps it up to date and a call is O(1). A store a fork
// shares (frozen) is hashed again at each call instead, as nothing may
// write to it; its first copy (the first write of either side) is
// hashed once and kept.
func (s *Storage) Fingerprint() uint64 {
	if s.fpOn {
		return s.fp
	}
	if s.frozen {
		return s.fingerprintAll(false)
	}
	s.fp, s.fpOn = s.fingerprintAll(true), true
	return s.fp
}

// newFP is the part of fp of an entry being stored: entryFP while the
// store keeps its fingerprint, else 0 (not hashed at all).
func (s *Storage) newFP(key string, value []byte) uint64 {
	if !s.fpOn {
		return 0
	}
	return s.entryFP(key, value)
}

// entryFP is an entry's part of fp.
func (s *Storage) entryFP(key string, value []byte) uint64 {
	if s.canon != nil {
		var arr [64]byte
		value = s.canon(key, value, arr[:0])
	}
	return entryFingerprint(key, value)
}

// indexFP is entryFP(IndexKey(prefix, i), value).
func (s *Storage) indexFP(prefix string, i uint64, value []byte) uint64 {
	if s.canon != nil {
		return s.entryFP(IndexKey(prefix, i), value)
	}
	return indexFingerprint(prefix, i, value)
}

// setCanon sets canon and computes fp again with it, if the store keeps
// it (else the first Fingerprint hashes with canon).
func (s *Storage) setCanon(c StorageCanon) {
	s.canon = c
	if s.fpOn {
		s.fp = s.fingerprintAll(true)
	}
}

// fingerprintAll hashes every entry and returns the sum, what fp is when
// kept. With keep it also stores each entry's part beside it, for put and
// del to go on from: the store must not be frozen.
func (s *Storage) fingerprintAll(keep bool) uint64 {
	if keep && s.frozen {
		panic("storage: fingerprints kept in a store a fork shares")
	}
	var sum uint64
	for i := range s.small {
		e := &s.small[i]
		fp := s.entryFP(e.key, e.value)
		if keep {
			e.fp = fp
		}
		sum += fp
	}
	for k, v := range s.data {
		sum += s.entryFP(k, v) // a sum: the order does not matter
	}
	for k := range s.logs {
		a := &s.logs[k]
		for k, j := range a.window() {
			if j != 0 {
				v := &a.slots[j-1]
				fp := s.indexFP(a.prefix, a.base+uint64(k), v.v)
				if keep {
					v.fp = fp
				}
				sum += fp
			}
		}
		for i, v := range a.far {
			fp := s.indexFP(a.prefix, i, v.v)
			if keep {
				v.fp = fp
				a.far[i] = v
			}
			sum += fp
		}
	}
	return sum
}

// keep returns the store's own copy of value: written over old, the value
// it replaces (if any), where the store may; else in spare room or a new
// array. It is never nil.
func (s *Storage) keep(old []byte, had bool, value []byte) []byte {
	if had && cap(old) >= len(value) && !s.shared {
		old = old[:len(value)]
		copy(old, value)
		return old
	}
	if len(value) == 0 {
		return emptyValue
	}
	if n := len(s.spare); len(value) > cap(s.spare)-n {
		// A large store (a long log) takes its small values from chunks:
		// one allocation for many entries, freed once all of them are
		// deleted, which a log's compaction does in order. A small one
		// (a search's states) allocates each value, so that its copies
		// stay small.
		if s.bytes < storeChunkFrom || len(value) > storeChunkBytes/8 {
			return append([]byte(nil), value...)
		}
		s.spare = make([]byte, 0, storeChunkBytes)
	}
	n := len(s.spare)
	s.spare = append(s.spare, value...)
	return s.spare[n:len(s.spare):len(s.spare)]
}

// A store of at least storeChunkFrom bytes takes values of at most an
// eighth of storeChunkBytes from chunks of storeChunkBytes.
const (
	storeChunkFrom  = 4 << 10
	storeChunkBytes = 2 << 10
)

func (s *Storage) put(key string, value []byte) {
	if p, i, ok := splitIndexKey(key); ok {
		s.putAt(p, i, value)
		return
	}
	fp := s.newFP(key, value)
	if s.data == nil {
		// A small store finds the key once and keeps each entry's hash,
		// so that an overwrite (a Raft node's hard state, on most of its
		// steps) neither searches twice nor hashes the old value again.
		i, ok := s.find(key)
		if !ok && len(s.small) < storeSmallMax {
			s.small = slices.Insert(s.small, i, storeEntry{key: key, value: s.keep(nil, false, value), fp: fp})
			s.fp += fp
			s.bytes += int64(len(value))
			return
		}
		if ok {
			e := &s.small[i]
			s.fp += fp - e.fp
			s.bytes -= int64(len(e.value))
			e.value, e.fp = s.keep(e.value, true, value), fp
			s.bytes += int64(len(value))
			return
		}
	}
	s.fp += fp
	old, had := s.lookup(key)
	if had {
		s.fp -= s.newFP(key, old)
		s.bytes -= int64(len(old))
	}
	s.set(key, s.keep(old, had, value))
	s.bytes += int64(len(value))
}

func (s *Storage) putAt(prefix string, i uint64, value []byte) {
	a := s.area(prefix)
	if a == nil {
		a0 := indexArea{prefix: prefix}
		if s.blk != nil && len(s.logs) == 0 {
			a0.mem = s.blk.logWin[:]
			a0.slots = s.blk.logSlots[:0]
		}
		s.logs = append(s.logs, a0)
		a = &s.logs[len(s.logs)-1]
	}
	var fp uint64 // 0 while the store keeps no fingerprint
	switch {
	case !s.fpOn:
	case s.canon == nil:
		fp = a.fingerprint(i, value)
	default:
		fp = s.indexFP(prefix, i, value)
	}
	s.fp += fp
	old, had := a.get(i)
	if had {
		s.fp -= old.fp
		s.bytes -= int64(len(old.v))
	}
	a.set(i, indexSlot{v: s.keep(old.v, had, value), fp: fp})
	s.bytes += int64(len(value))
}

func (s *Storage) del(key string) bool {
	if p, i, ok := splitIndexKey(key); ok {
		return s.delAt(p, i)
	}
	old, ok := s.lookup(key)
	if !ok {
		return false
	}
	s.bytes -= int64(len(old))
	if s.data != nil {
		s.fp -= s.newFP(key, old)
		delete(s.data, key)
	} else {
		i, _ := s.find(key)
		s.fp -= s.small[i].fp
		s.small = slices.Delete(s.small, i, i+1)
	}
	return true
}

func (s *Storage) delAt(prefix string, i uint64) bool {
	a := s.area(prefix)
	if a == nil {
		return false
	}
	old, ok := a.get(i)
	if !ok {
		return false
	}
	s.fp -= old.fp
	s.bytes -= int64(len(old.v))
	a.del(i)
	return true
}
