package sim

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// deepCopy returns a deep copy of the value v points to. It follows
// pointers, slices, maps and interfaces, keeps pointer aliasing (two
// pointers to one object stay two pointers to one copy), copies unexported
// fields, and shares what is immutable: strings, functions and messages
// (which the Process contract says are never mutated after sending).
// Slices that share a backing array are copied separately.
func deepCopy[T any](v *T) *T {
	c := copier{memo: map[memoKey]reflect.Value{}}
	var out *T
	// Copy the root as a pointer so that pointers back to it (an Env's
	// pointer to its run, say) land on the copy.
	c.copy(reflect.ValueOf(&out).Elem(), reflect.ValueOf(&v).Elem())
	return out
}

type memoKey struct {
	p uintptr
	t reflect.Type
}

type copier struct {
	memo map[memoKey]reflect.Value
}

var (
	messageType = reflect.TypeFor[Message]()
	flatCache   sync.Map // reflect.Type -> bool
)

// flat reports whether a value of type t can be copied by assignment: it
// holds nothing mutable behind a pointer.
func flat(t reflect.Type) bool {
	if v, ok := flatCache.Load(t); ok {
		return v.(bool)
	}
	flatCache.Store(t, false) // recursion guard: assume not flat
	r := computeFlat(t)
	flatCache.Store(t, r)
	return r
}

func computeFlat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String, reflect.Func:
		return true
	case reflect.Array:
		return flat(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if !flat(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

func settable(v reflect.Value) reflect.Value {
	if v.CanSet() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// copy copies src into dst; both are addressable values of one type.
func (c *copier) copy(dst, src reflect.Value) {
	t := src.Type()
	if flat(t) {
		settable(dst).Set(settable(src))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		key := memoKey{src.Pointer(), t}
		if p, ok := c.memo[key]; ok {
			settable(dst).Set(p)
			return
		}
		p := reflect.New(t.Elem())
		c.memo[key] = p
		c.copy(p.Elem(), src.Elem())
		settable(dst).Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := settable(src).Elem()
		if e.Type().Implements(messageType) || flat(e.Type()) {
			settable(dst).Set(settable(src))
			return
		}
		tmp := reflect.New(e.Type()).Elem()
		tmp.Set(e)
		n := reflect.New(e.Type()).Elem()
		c.copy(n, tmp)
		settable(dst).Set(n)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			c.copy(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := settable(src)
		n := reflect.MakeSlice(t, s.Len(), s.Cap())
		if flat(t.Elem()) {
			reflect.Copy(n, s)
		} else {
			for i := 0; i < s.Len(); i++ {
				c.copy(n.Index(i), s.Index(i))
			}
		}
		settable(dst).Set(n)
	case reflect.Array:
		for i := 0; i < t.Len(); i++ {
			c.copy(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		s := settable(src)
		n := reflect.MakeMapWithSize(t, s.Len())
		kt, vt := t.Key(), t.Elem()
		it := s.MapRange()
		for it.Next() {
			k := reflect.New(kt).Elem()
			kv := reflect.New(kt).Elem()
			kv.Set(it.Key())
			c.copy(k, kv)
			v := reflect.New(vt).Elem()
			vv := reflect.New(vt).Elem()
			vv.Set(it.Value())
			c.copy(v, vv)
			n.SetMapIndex(k, v)
		}
		settable(dst).Set(n)
	case reflect.Chan, reflect.UnsafePointer:
		settable(dst).Set(settable(src))
	default:
		panic(fmt.Sprintf("sim: cannot copy a %v", t))
	}
}
