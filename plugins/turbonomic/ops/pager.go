package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/tokenflow/tokenflow/sdk"
)

// Paging headers (vendors.md: Pagination).
const (
	headerNextCursor  = "X-Next-Cursor"
	headerTotalRecord = "X-Total-Record-Count"
)

// maxPages bounds one listing, so a server that never stops paging cannot loop us forever.
const maxPages = 100000

// pageParams are the params every list op takes.
var pageParams = []sdk.Field{
	{Name: "fetch_all", Type: sdk.Bool, Default: true, Doc: "follow x-next-cursor to the end; False returns one page and next_cursor"},
	{Name: "limit", Type: sdk.Int, Default: 0, Doc: "records per page (0 = the server's default page size)"},
	{Name: "cursor", Type: sdk.String, Default: "", Doc: "start at this cursor (a previous call's next_cursor)"},
}

// pageResults are the result fields every list op returns beside its list.
var pageResults = []sdk.Field{
	{Name: "next_cursor", Type: sdk.String, Doc: `cursor of the next page; "" when there is none`},
	{Name: "total", Type: sdk.Int, Doc: "x-total-record-count of the first page; -1 when the server sent none"},
	{Name: "pages", Type: sdk.Int, Doc: "requests made"},
}

// listing is the outcome of a paged request.
type listing struct {
	items []map[string]any
	next  string
	total int
	pages int
}

func (l *listing) result(name string, conv func(map[string]any) map[string]any) map[string]any {
	out := make([]map[string]any, 0, len(l.items))
	for _, it := range l.items {
		out = append(out, conv(it))
	}
	return map[string]any{name: out, "next_cursor": l.next, "total": l.total, "pages": l.pages}
}

// list sends a listing request and pages through it the way vmt-connect's Pager does: the
// same request again with cursor=<x-next-cursor> until a page comes without one. The total
// is x-total-record-count of the first page; when the cursor disappears before that many
// records arrived, the listing fails (VMTNextCursorMissingError) rather than returning a short
// list. With fetch_all False it returns one page and its next cursor.
func list(ctx context.Context, c *sdk.Call, what, method, path string, query url.Values, body any) (*listing, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = append([]string(nil), v...)
	}
	q.Set("disable_hateoas", "true")
	if n := c.Args.Int("limit"); n > 0 {
		q.Set("limit", strconv.FormatInt(n, 10))
	} else if n < 0 {
		return nil, sdk.InvalidArgument("limit", "must be 0 (server default) or positive, got %d", n)
	}
	start := c.Args.String("cursor")
	if start != "" {
		q.Set("cursor", start)
	}
	fetchAll := !c.Args.Has("fetch_all") || c.Args.Bool("fetch_all")
	out := &listing{total: -1}
	seen := map[string]bool{}
	for {
		resp, data, err := do(ctx, c, method, path, q, body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 200 || resp.StatusCode >= 300 {
			e := apiError(what, resp, data)
			if out.pages > 0 {
				e.Message += " (on page " + strconv.Itoa(out.pages+1) + ", after " + strconv.Itoa(len(out.items)) + " records)"
			}
			return nil, e
		}
		out.pages++
		items, err := decodeItems(data)
		if err != nil {
			return nil, sdk.Errorf(sdk.CodeInternal, "%s: decode page %d: %v", what, out.pages, err)
		}
		out.items = append(out.items, items...)
		if out.pages == 1 {
			if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get(headerTotalRecord))); err == nil {
				out.total = n
			}
		}
		next := strings.TrimSpace(resp.Header.Get(headerNextCursor))
		if next == "" {
			if start == "" && out.total > 0 && len(out.items) < out.total {
				return nil, sdk.Errorf(sdk.CodeUnavailable,
					"%s: the server stopped paging after %d of %d records: page %d came without an x-next-cursor header (the cursor may have expired). Nothing is returned rather than a short list; run the step again",
					what, len(out.items), out.total, out.pages)
			}
			return out, nil
		}
		if !fetchAll {
			out.next = next
			return out, nil
		}
		if seen[next] || next == q.Get("cursor") {
			return nil, sdk.Errorf(sdk.CodeInternal, "%s: the server sent cursor %q again on page %d; stopping rather than looping", what, next, out.pages)
		}
		if out.pages >= maxPages {
			return nil, sdk.Errorf(sdk.CodeInternal, "%s: still paging after %d pages; stopping", what, out.pages)
		}
		seen[next] = true
		q.Set("cursor", next)
	}
}

// decodeItems decodes a page: a JSON array of objects, or one object (vmt-connect wraps a
// dict in a list too).
func decodeItems(data []byte) ([]map[string]any, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if data[0] == '{' {
		var one map[string]any
		if err := dec.Decode(&one); err != nil {
			return nil, err
		}
		return []map[string]any{one}, nil
	}
	var many []map[string]any
	if err := dec.Decode(&many); err != nil {
		return nil, err
	}
	return many, nil
}

// snake converts a Turbonomic DTO (camelCase keys) to the snake_case form flows use,
// recursively: "memberUuidList" -> "member_uuid_list", "showSharedUserSC" ->
// "show_shared_user_sc".
func snake(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[snakeKey(k)] = snake(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = snake(e)
		}
		return out
	}
	return v
}

func snakeKey(k string) string {
	r := []rune(k)
	var b strings.Builder
	for i, ch := range r {
		if unicode.IsUpper(ch) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			acronymEnd := i > 0 && unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(ch))
			continue
		}
		b.WriteRune(ch)
	}
	return b.String()
}

func snakeMap(m map[string]any) map[string]any { return snake(m).(map[string]any) }

// getOne GETs a single object (or a list whose first element is wanted).
func getOne(ctx context.Context, c *sdk.Call, what, path string) (map[string]any, error) {
	resp, data, err := do(ctx, c, http.MethodGet, path, url.Values{"disable_hateoas": {"true"}}, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, apiError(what, resp, data)
	}
	items, err := decodeItems(data)
	if err != nil || len(items) == 0 {
		return nil, sdk.Errorf(sdk.CodeInternal, "%s: unexpected response body", what)
	}
	return items[0], nil
}
