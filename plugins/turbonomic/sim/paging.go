package sim

import (
	"net/http"
	"strconv"
)

// Paging headers.
const (
	HeaderNextCursor  = "X-Next-Cursor"
	HeaderTotalRecord = "X-Total-Record-Count"
)

// paged answers one page of items: limit (capped at the maximum page size; the default page
// size without it) items from the offset the cursor names, with x-next-cursor when more
// remain and x-total-record-count always. Callers hold s.mu.
func paged[T any](s *Sim, r *http.Request, items []T) reply {
	q := r.URL.Query()
	limit := s.pageSize
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			return badRequest("Invalid limit " + l + ": it must be a positive number")
		}
		limit = min(n, s.maxPageSize)
	}
	off := 0
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > len(items) {
			return badRequest("Invalid cursor " + c)
		}
		off = n
	}
	end := min(off+limit, len(items))
	page := append([]T{}, items[off:end]...)
	rp := respond(http.StatusOK, page)
	rp.header = http.Header{}
	rp.header.Set(HeaderTotalRecord, strconv.Itoa(len(items)))
	if end < len(items) {
		pageNo := off/limit + 1
		if s.loseCursor == pageNo {
			s.loseCursor = 0
		} else {
			rp.header.Set(HeaderNextCursor, strconv.Itoa(end))
		}
	}
	return rp
}
