package simkit

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Mount serves the table as a vendor's REST collection at path on b, the
// CRUD most token APIs are made of:
//
//	POST   path       the body decoded with Body, create run, an ID assigned -> 201 with the row
//	GET    path       -> 200 with the rows as a JSON array; ?NAME=VALUE keeps those whose field NAME is VALUE
//	GET    path/{id}  -> 200 with the row; 404
//	DELETE path/{id}  -> 204; 404
//
// T's `simkit` tags say the rest: required (Body refuses a zero value with
// 400), unique (a create clashing with a row's value is 409), once (answered
// by the create only, then cleared in the stored row: a secret shown once),
// path=NAME (set from the path's {NAME} on create, and a row whose value
// differs from the request's {NAME} is not there: a nested collection such as
// "/api/accounts/{account}/tokens"; do not call a parameter "id").
//
// create, when not nil, fills what the server computes (a login, an expiry, a
// secret) before the row is stored, or refuses the create with an error
// (Errorf for a vendor error). Routes Mount does not cover are Handle's or
// HandleJSON's.
func (t *Table[T]) Mount(b *Base, path string, create func(r *http.Request, v *T) error) {
	tags := tagsOf[T]()
	where := func(r *http.Request) func(T) bool {
		return func(v T) bool {
			rv := reflect.ValueOf(v)
			for name, idx := range tags.path {
				if fmt.Sprint(rv.FieldByIndex(idx).Interface()) != r.PathValue(name) {
					return false
				}
			}
			return true
		}
	}
	b.HandleJSON("POST "+path, func(r *http.Request) (any, error) {
		v, err := Body[T](r)
		if err != nil {
			return nil, err
		}
		rv := reflect.ValueOf(&v).Elem()
		for name, idx := range tags.path {
			if err := setString(rv.FieldByIndex(idx), r.PathValue(name)); err != nil {
				return nil, Errorf(http.StatusBadRequest, "{%s} %q: %v", name, r.PathValue(name), err)
			}
		}
		if create != nil {
			if err := create(r, &v); err != nil {
				return nil, err
			}
		}
		parent := where(r)
		stored, err := t.InsertUnique(t.clearOnce(v, tags), func(e T) bool {
			ev := reflect.ValueOf(e)
			return parent(e) && slices.ContainsFunc(tags.unique, func(idx []int) bool { return ev.FieldByIndex(idx).Equal(rv.FieldByIndex(idx)) })
		})
		if err != nil {
			return nil, err
		}
		t.idOf(&v).Set(t.idOf(&stored)) // the answer: the stored row and its once fields
		return Respond(http.StatusCreated, v), nil
	})
	b.HandleJSON("GET "+path, func(r *http.Request) (any, error) {
		in, query := where(r), r.URL.Query()
		return t.List(func(v T) bool {
			rv := reflect.ValueOf(v)
			for name, idx := range tags.json {
				if q, ok := query[name]; ok && fmt.Sprint(rv.FieldByIndex(idx).Interface()) != q[0] {
					return false
				}
			}
			return in(v)
		}), nil
	})
	b.HandleJSON("GET "+path+"/{id}", func(r *http.Request) (any, error) { return t.Get(r.PathValue("id"), where(r)) })
	b.HandleJSON("DELETE "+path+"/{id}", func(r *http.Request) (any, error) {
		_, err := t.Delete(r.PathValue("id"), where(r))
		return nil, err
	})
}

func (t *Table[T]) clearOnce(v T, tags rowTags) T {
	rv := reflect.ValueOf(&v).Elem()
	for _, idx := range tags.once {
		f := rv.FieldByIndex(idx)
		f.Set(reflect.Zero(f.Type()))
	}
	return v
}

// rowTags are the fields of a row type by `simkit` tag option.
type rowTags struct {
	unique, once [][]int
	path         map[string][]int
	json         map[string][]int // the fields a list filters on, by json name
}

func tagsOf[T any]() rowTags {
	tags := rowTags{path: map[string][]int{}, json: map[string][]int{}}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[T]()) {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); f.IsExported() && name != "-" && name != "" {
			tags.json[name] = f.Index
		}
		for opt := range strings.SplitSeq(f.Tag.Get("simkit"), ",") {
			switch {
			case opt == "unique":
				tags.unique = append(tags.unique, f.Index)
			case opt == "once":
				tags.once = append(tags.once, f.Index)
			case strings.HasPrefix(opt, "path="):
				tags.path[strings.TrimPrefix(opt, "path=")] = f.Index
			}
		}
	}
	return tags
}

// setString sets a string or integer field from a path value.
func setString(f reflect.Value, s string) error {
	if f.Kind() == reflect.String {
		f.SetString(s)
		return nil
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || !f.CanInt() {
		return fmt.Errorf("want an integer")
	}
	f.SetInt(n)
	return nil
}
