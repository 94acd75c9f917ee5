package sim

import (
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// swapHeap is the queue's heap as it was sifted before up and down carried
// the moving entry aside: a swap at every level. The queue must lay out
// its heap exactly as this does, since Fingerprint and Pending walk the
// array and a model checker's state counts depend on what they see.
type swapHeap []qent

func (h swapHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !before(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h swapHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && before(&h[r], &h[l]) {
			m = r
		}
		if !before(&h[m], &h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// TestQueueOrder: under random pushes (many at the same time), pops,
// removals and forks (a copy heapified again, as Fork does when it drops
// void timers), the queue pops in the order of a sorted reference list,
// (At, ID), keeps its heap laid out as the swapping sift did, and hands
// back each event's own payload.
func TestQueueOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q queue
		var ref []qent // pending (at, id), kept sorted
		var swap swapHeap
		nextID := EventID(1)
		sameLayout := func(op string) {
			require.Equal(t, len(swap), len(q.heap), "%s: length", op)
			for i := range swap {
				a, b := swap[i], q.heap[i]
				require.True(t, a.at == b.at && a.id == b.id, "%s: heap[%d] is (%v,%d), the swapping sift has (%v,%d)", op, i, b.at, b.id, a.at, a.id)
			}
		}
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for range steps {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5: // push; few distinct times, so ids break many ties
				at := Time(rapid.IntRange(0, 20).Draw(t, "at"))
				id := nextID
				nextID++
				ev := q.pushNew(at, id)
				ev.Kind, ev.Timer.Arg = KindTimer, int64(id)
				ref = append(ref, qent{at: at, id: id})
				slices.SortFunc(ref, cmpQent)
				swap = append(swap, qent{at: at, id: id})
				swap.up(len(swap) - 1)
				sameLayout("push")
			case op < 8: // pop
				if len(ref) == 0 {
					continue
				}
				ev := q.pop()
				require.Equal(t, ref[0].at, ev.At, "pop: time")
				require.Equal(t, ref[0].id, ev.ID, "pop: id")
				require.Equal(t, int64(ev.ID), ev.Timer.Arg, "pop: event %d came back with another's payload", ev.ID)
				ref = ref[1:]
				n := len(swap) - 1
				swap[0] = swap[n]
				swap = swap[:n]
				if n > 0 {
					swap.down(0)
				}
				sameLayout("pop")
			case op < 9: // remove an arbitrary pending event
				if len(ref) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(q.heap)-1).Draw(t, "i")
				id := q.heap[i].id
				ev := q.remove(i)
				require.Equal(t, id, ev.ID, "remove: wrong event")
				require.Equal(t, int64(id), ev.Timer.Arg, "remove: payload")
				ref = slices.DeleteFunc(ref, func(e qent) bool { return e.id == id })
				n := len(swap) - 1
				if i != n {
					swap[i] = swap[n]
					swap = swap[:n]
					swap.down(i)
					swap.up(i)
				} else {
					swap = swap[:n]
				}
				sameLayout("remove")
			default: // fork: rebuild the heap from a shuffled copy, as Fork does
				perm := rapid.Permutation(q.heap).Draw(t, "perm")
				c := queue{heap: perm, slab: slices.Clone(q.slab), free: slices.Clone(q.free)}
				swap = swapHeap(slices.Clone(perm))
				for i := len(c.heap)/2 - 1; i >= 0; i-- {
					c.down(i)
					swap.down(i)
				}
				q = c
				sameLayout("fork")
			}
			for i := 1; i < len(q.heap); i++ {
				require.False(t, before(&q.heap[i], &q.heap[(i-1)/2]), "heap order broken at %d", i)
			}
		}
	})
}

func cmpQent(a, b qent) int {
	switch {
	case before(&a, &b):
		return -1
	case before(&b, &a):
		return 1
	}
	return 0
}

// TestMoveEventMovesEveryField: moveEvent copies Event field by field, so
// a field added to Event must be added there too. Every field (nested
// ones too) is set to a value that is not zero, and the move must deliver
// the whole event and leave the source zero, as a freed slot must be.
func TestMoveEventMovesEveryField(t *testing.T) {
	var src Event
	fillNonZero(t, reflect.ValueOf(&src).Elem(), "Event")
	want := src
	var dst Event
	moveEvent(&dst, &src)
	require.Equal(t, want, dst, "moveEvent left a field behind")
	require.True(t, reflect.ValueOf(src).IsZero(), "moveEvent left the source not zero: %+v", src)
}

// fillNonZero sets every leaf field of v, exported or not, to something
// other than its zero value.
func fillNonZero(t *testing.T, v reflect.Value, path string) {
	v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem() // settable even if unexported
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillNonZero(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("x")
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Interface:
		v.Set(reflect.ValueOf(&pingMsg{Hop: 1}))
	default:
		t.Fatalf("%s: fillNonZero does not know %v; teach it", path, v.Kind())
	}
	require.False(t, v.IsZero(), "%s still zero", path)
}
