package zendesksim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

const (
	maxPageSize = 100
	// offsetCap is Zendesk's limit on offset pagination: page*per_page.
	offsetCap = 10000
)

// isCursorMode: cursor pagination is chosen by any page[...] parameter.
func isCursorMode(q url.Values) bool {
	return q.Has("page[size]") || q.Has("page[after]") || q.Has("page[before]")
}

// isOversize reports a page[size] or per_page above 100.
func isOversize(q url.Values) bool {
	for _, key := range []string{"page[size]", "per_page"} {
		if v := last(q, key); v != nil {
			if n, err := strconv.Atoi(*v); err == nil && n > maxPageSize {
				return true
			}
		}
	}
	return false
}

// parseSize parses a positive page size parameter, clamped to 100.
func parseSize(q url.Values, key string) (int, *apiError) {
	vs, ok := q[key]
	if !ok {
		return maxPageSize, nil
	}
	n, err := strconv.Atoi(vs[len(vs)-1])
	if err != nil || n < 1 {
		return 0, invalidPagination(key + " must be a positive integer (at most 100 records are returned)")
	}
	return min(n, maxPageSize), nil
}

func (s *Server) handleList(r *http.Request) response {
	q := r.URL.Query()
	f, aerr := parseFilter(q)
	if aerr != nil {
		return aerr.response()
	}
	if isCursorMode(q) {
		return s.listCursor(r, q, &f)
	}
	return s.listOffset(r, q, &f)
}

// cursorPage is a cursor page without its audit_logs (see pageResponse).
type cursorPage struct {
	Meta struct {
		HasMore      bool    `json:"has_more"`
		AfterCursor  *string `json:"after_cursor"`
		BeforeCursor *string `json:"before_cursor"`
	} `json:"meta"`
	Links struct {
		Next *string `json:"next"`
		Prev *string `json:"prev"`
	} `json:"links"`
}

func (s *Server) listCursor(r *http.Request, q url.Values, f *filter) response {
	size, aerr := parseSize(q, "page[size]")
	if aerr != nil {
		return aerr.response()
	}
	asc := false
	if vs, ok := q["sort"]; ok {
		switch vs[len(vs)-1] {
		case "created_at":
			asc = true
		case "-created_at":
		default:
			return invalidValue("sort must be created_at or -created_at").response()
		}
	}
	after, before := last(q, "page[after]"), last(q, "page[before]")
	if after != nil && before != nil {
		return invalidPagination("page[after] and page[before] cannot be combined").response()
	}
	backward := before != nil
	var cur *cursor
	if raw := cmpOr(after, before); raw != nil {
		c, err := decodeCursor(*raw)
		if err != nil {
			return invalidPagination("page[after] or page[before] is not a valid cursor").response()
		}
		cur = &c
	}

	s.mu.Lock()
	var salt uint64
	var from *position
	if cur != nil {
		salt = cur.salt
		p := cur.position()
		from = &p
	} else {
		salt = s.saltRNG.Uint64()
	}
	recs := s.walkLocked(f, salt, from, asc != backward, size+1)
	s.mu.Unlock()

	hasMore := len(recs) > size
	if hasMore {
		recs = recs[:size]
	}
	if backward {
		slices.Reverse(recs)
	}

	var page cursorPage
	page.Meta.HasMore = hasMore
	if len(recs) > 0 {
		first, lastRec := &recs[0], &recs[len(recs)-1]
		ac := cursor{salt: salt, sec: lastRec.sec(), id: lastRec.ID}.encode()
		bc := cursor{salt: salt, sec: first.sec(), id: first.ID}.encode()
		page.Meta.AfterCursor, page.Meta.BeforeCursor = &ac, &bc
		link := func(key, val string) *string {
			v := cloneValues(q)
			v.Del("page[after]")
			v.Del("page[before]")
			v.Set(key, val)
			u := s.linkBase(r) + r.URL.Path + "?" + v.Encode()
			return &u
		}
		if backward || hasMore {
			page.Links.Next = link("page[after]", ac)
		}
		if (backward && hasMore) || (!backward && cur != nil) {
			page.Links.Prev = link("page[before]", bc)
		}
	}
	return pageResponse(requestBase(r), recs, page)
}

// pageResponse renders {"audit_logs":[...], ...fields of rest} with the
// records rendered once, not re-encoded.
func pageResponse(base string, recs []Record, rest any) response {
	tail, err := json.Marshal(rest)
	if err != nil {
		return textResponse(http.StatusInternalServerError, "text/plain; charset=utf-8", err.Error())
	}
	body := make([]byte, 0, 512*len(recs)+len(tail)+16)
	body = append(body, `{"audit_logs":[`...)
	for i := range recs {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, renderRecord(base, &recs[i])...)
	}
	body = append(body, ']')
	if len(tail) > 2 { // tail is {...}: splice its fields in
		body = append(body, ',')
		body = append(body, tail[1:]...)
	} else {
		body = append(body, '}')
	}
	return response{
		status:  http.StatusOK,
		header:  http.Header{"Content-Type": {jsonContentType}},
		body:    body,
		records: len(recs),
	}
}

func cmpOr(a, b *string) *string {
	if a != nil {
		return a
	}
	return b
}

func cloneValues(q url.Values) url.Values {
	v := make(url.Values, len(q))
	for k, vs := range q {
		v[k] = slices.Clone(vs)
	}
	return v
}

// offsetPage is an offset page without its audit_logs (see pageResponse).
type offsetPage struct {
	NextPage     *string `json:"next_page"`
	PreviousPage *string `json:"previous_page"`
	Count        int     `json:"count"`
}

func (s *Server) listOffset(r *http.Request, q url.Values, f *filter) response {
	page := 1
	if v, ok := q["page"]; ok {
		n, err := strconv.Atoi(v[len(v)-1])
		if err != nil || n < 1 {
			return invalidPagination("page must be a positive integer").response()
		}
		page = n
	}
	perPage, aerr := parseSize(q, "per_page")
	if aerr != nil {
		return aerr.response()
	}
	if v, ok := q["sort_by"]; ok && v[len(v)-1] != "created_at" {
		return invalidValue("sort_by must be created_at").response()
	}
	asc := false
	if v, ok := q["sort_order"]; ok {
		switch v[len(v)-1] {
		case "asc":
			asc = true
		case "desc":
		default:
			return invalidValue("sort_order must be asc or desc").response()
		}
	}
	if page > offsetCap/perPage {
		return invalidPagination("Offset pagination is limited to the first 10000 records. Use cursor pagination instead.").response()
	}

	s.mu.Lock()
	recs, count := s.offsetPageLocked(f, asc, (page-1)*perPage, perPage)
	s.mu.Unlock()

	out := offsetPage{Count: count}
	link := func(n int) *string {
		v := cloneValues(q)
		v.Set("page", strconv.Itoa(n))
		u := s.linkBase(r) + r.URL.Path + "?" + v.Encode()
		return &u
	}
	if page*perPage < count {
		out.NextPage = link(page + 1)
	}
	if page > 1 {
		out.PreviousPage = link(page - 1)
	}
	return pageResponse(requestBase(r), recs, out)
}

// offsetPageLocked returns the records at [offset, offset+limit) of the
// matching records in offset order, and the number of matching records.
// Only the seconds overlapping the page are sorted.
func (s *Server) offsetPageLocked(f *filter, asc bool, offset, limit int) ([]Record, int) {
	lo, hi := 0, len(s.recs)
	if f.hasRange {
		lo = s.lowerBoundSec(f.start)
		hi = max(lo, s.upperBoundSec(f.end))
	}
	var (
		out   []Record
		group []keyed
		count int
	)
	visit := func(i, j int) {
		group = group[:0]
		for k := i; k < j; k++ {
			if f.match(&s.recs[k]) {
				group = append(group, keyed{idx: k})
			}
		}
		if count+len(group) > offset && count < offset+limit {
			for g := range group {
				group[g].pos = positionOf(s.offsetSalt, &s.recs[group[g].idx])
			}
			slices.SortFunc(group, func(a, b keyed) int {
				if asc {
					return comparePositions(a.pos, b.pos)
				}
				return comparePositions(b.pos, a.pos)
			})
			from, to := max(offset-count, 0), min(offset+limit-count, len(group))
			for _, k := range group[from:to] {
				out = append(out, s.recs[k.idx]) // stored records are immutable
			}
		}
		count += len(group)
	}
	if asc {
		for i := lo; i < hi; {
			j, sec := i+1, s.recs[i].sec()
			for j < hi && s.recs[j].sec() == sec {
				j++
			}
			visit(i, j)
			i = j
		}
	} else {
		for j := hi; j > lo; {
			i, sec := j-1, s.recs[j-1].sec()
			for i > lo && s.recs[i-1].sec() == sec {
				i--
			}
			visit(i, j)
			j = i
		}
	}
	return out, count
}
