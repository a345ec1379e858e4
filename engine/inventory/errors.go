package inventory

import (
	"fmt"
	"sort"
	"strings"
)

// maxShown is how many problems ErrorList.Error prints before summarising the
// rest: enough to fix a file in one pass, few enough to read.
const maxShown = 20

// Error is one problem in an inventory, at the node that caused it.
type Error struct {
	Pos string // "FILE:LINE"
	Msg string // what is wrong and what to do; never a credential value

	line int // for sorting problems into file order
}

func (e *Error) Error() string { return e.Pos + ": " + e.Msg }

// ErrorList holds every problem found in one inventory, in file order.
type ErrorList []*Error

// Error prints up to maxShown problems, one a line, then "and N more".
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == maxShown {
			fmt.Fprintf(&b, "\nand %d more", len(l)-maxShown)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find the first *Error of a list.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// err returns nil, the single *Error, or the list sorted into file order.
func (l ErrorList) err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	sort.SliceStable(l, func(i, j int) bool { return l[i].line < l[j].line })
	return l
}
