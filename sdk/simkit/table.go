package simkit

import (
	"fmt"
	"reflect"
	"strconv"
	"sync"
)

// Table is an in-memory collection of one vendor resource (service accounts,
// tokens), safe for concurrent handlers, in insertion order. T is a struct
// with a field named ID of an integer or string type: Insert assigns it, 1, 2,
// 3, ... for integers and a random UUID for strings, as most vendors do. The
// lookups answer errors a JSON handler (Base.HandleJSON) sends as they are:
// 404 for an unknown id, 409 for a clash.
//
//	tokens := simkit.NewTable[Token]("token")
//	t := tokens.Insert(Token{Name: "ci"})
//	t, err := tokens.Get(r.PathValue("id"))
type Table[T any] struct {
	what string
	id   []int // index of T's ID field
	str  bool  // the ID is a string

	mu   sync.Mutex
	rows []T
	next int64
}

// NewTable returns an empty table of what ("service account"), the word its
// errors use. It panics when T has no ID field of an integer or string type:
// a simulator's own mistake, seen by its first test.
func NewTable[T any](what string) *Table[T] {
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Struct {
		if f, ok := t.FieldByName("ID"); ok {
			switch f.Type.Kind() {
			case reflect.String:
				return &Table[T]{what: what, id: f.Index, str: true}
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				return &Table[T]{what: what, id: f.Index}
			}
		}
	}
	panic(fmt.Sprintf("simkit.NewTable[%s]: the row type needs a field ID of an int or string type", t))
}

func (t *Table[T]) idOf(v *T) reflect.Value { return reflect.ValueOf(v).Elem().FieldByIndex(t.id) }

func (t *Table[T]) key(v *T) string {
	if t.str {
		return t.idOf(v).String()
	}
	return strconv.FormatInt(t.idOf(v).Int(), 10)
}

// Insert adds v with a new ID and returns it as stored.
func (t *Table[T]) Insert(v T) T {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.insert(v)
}

func (t *Table[T]) insert(v T) T {
	t.next++
	if t.str {
		t.idOf(&v).SetString(RandomUUID())
	} else {
		t.idOf(&v).SetInt(t.next)
	}
	t.rows = append(t.rows, v)
	return v
}

// InsertUnique inserts v unless a row clashes with it (clashes reports true),
// in which case it answers a 409 error naming the resource and nothing is
// added. The check and the insert are one step, so two concurrent creates of
// the same name cannot both succeed.
func (t *Table[T]) InsertUnique(v T, clashes func(existing T) bool) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.rows {
		if clashes(r) {
			var zero T
			return zero, Errorf(409, "%s %s already exists with the same unique value", t.what, t.key(&r))
		}
	}
	return t.insert(v), nil
}

// Get returns the row whose ID is id (its decimal or string form, as in a URL
// path). A row that fails one of where (a token of another account) is not
// found either. Not found is a 404 error: "no such token 7".
func (t *Table[T]) Get(id string, where ...func(T) bool) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, err := t.find(id, where)
	if err != nil {
		var zero T
		return zero, err
	}
	return t.rows[i], nil
}

func (t *Table[T]) find(id string, where []func(T) bool) (int, error) {
rows:
	for i := range t.rows {
		if t.key(&t.rows[i]) != id {
			continue
		}
		for _, w := range where {
			if !w(t.rows[i]) {
				continue rows
			}
		}
		return i, nil
	}
	return -1, Errorf(404, "no such %s %s", t.what, id)
}

// Update runs fn on the row id (filtered by where, as Get) and stores what fn
// leaves unless fn fails; fn's error is returned as is. It must not change
// the ID.
func (t *Table[T]) Update(id string, fn func(*T) error, where ...func(T) bool) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, err := t.find(id, where)
	if err != nil {
		var zero T
		return zero, err
	}
	v := t.rows[i]
	if err := fn(&v); err != nil {
		var zero T
		return zero, err
	}
	t.rows[i] = v
	return v, nil
}

// Delete removes the row id (filtered by where, as Get) and returns it; an
// unknown id is Get's 404.
func (t *Table[T]) Delete(id string, where ...func(T) bool) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, err := t.find(id, where)
	if err != nil {
		var zero T
		return zero, err
	}
	v := t.rows[i]
	t.rows = append(t.rows[:i], t.rows[i+1:]...)
	return v, nil
}

// List returns the rows match accepts (all of them when match is nil), in
// insertion order. It is never nil, so it encodes as [] rather than null.
func (t *Table[T]) List(match func(T) bool) []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []T{}
	for _, r := range t.rows {
		if match == nil || match(r) {
			out = append(out, r)
		}
	}
	return out
}

// Len is the number of rows.
func (t *Table[T]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rows)
}
