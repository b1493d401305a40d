package zendesksim

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
)

// position is a keyset position in the total order of one cursor chain:
// created_at second, then the chain's tie key, then id.
type position struct {
	sec int64
	tie uint64
	id  int64
}

func comparePositions(a, b position) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	if c := cmp.Compare(a.tie, b.tie); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// tieKey orders records sharing a second: a hash of the chain's salt and
// the id (splitmix64 finaliser), so the order looks random and differs per
// salt.
func tieKey(salt uint64, id int64) uint64 {
	x := salt + uint64(id)*0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func positionOf(salt uint64, r *Record) position {
	return position{sec: r.sec(), tie: tieKey(salt, r.ID), id: r.ID}
}

// cursor is what page[after]/page[before] carry: the chain's salt and the
// position of a record (its tie key is recomputed from salt and id).
type cursor struct {
	salt uint64
	sec  int64
	id   int64
}

func (c cursor) position() position {
	return position{sec: c.sec, tie: tieKey(c.salt, c.id), id: c.id}
}

const cursorVersion = 1

// cursorLen is version byte + salt + sec + id + crc32.
const cursorLen = 1 + 8 + 8 + 8 + 4

var errBadCursor = errors.New("invalid cursor")

// encode renders the cursor as base64url (no padding) of a small binary
// struct with a checksum, so a garbled cursor is detected.
func (c cursor) encode() string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, c.salt)
	b = binary.BigEndian.AppendUint64(b, uint64(c.sec))
	b = binary.BigEndian.AppendUint64(b, uint64(c.id))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return cursor{}, errBadCursor
	}
	if crc32.ChecksumIEEE(b[:cursorLen-4]) != binary.BigEndian.Uint32(b[cursorLen-4:]) {
		return cursor{}, errBadCursor
	}
	return cursor{
		salt: binary.BigEndian.Uint64(b[1:]),
		sec:  int64(binary.BigEndian.Uint64(b[9:])),
		id:   int64(binary.BigEndian.Uint64(b[17:])),
	}, nil
}

// walkLocked returns up to n records matching f that lie strictly beyond
// from (nil: from the start) in the chain order defined by salt, going
// ascending or descending. It touches only the seconds it needs: a binary
// search to the start, then one second at a time.
func (s *Server) walkLocked(f *filter, salt uint64, from *position, asc bool, n int) []Record {
	out := make([]Record, 0, n)
	var group []keyed
	collect := func(lo, hi int, sec int64) {
		group = group[:0]
		for i := lo; i < hi; i++ {
			r := &s.recs[i]
			if !f.match(r) {
				continue
			}
			p := positionOf(salt, r)
			if from != nil && sec == from.sec {
				c := comparePositions(p, *from)
				if (asc && c <= 0) || (!asc && c >= 0) {
					continue
				}
			}
			group = append(group, keyed{p, i})
		}
		slices.SortFunc(group, func(a, b keyed) int {
			if asc {
				return comparePositions(a.pos, b.pos)
			}
			return comparePositions(b.pos, a.pos)
		})
		for _, k := range group {
			out = append(out, s.recs[k.idx]) // stored records are immutable
		}
	}
	if asc {
		i := 0
		if from != nil {
			i = s.lowerBoundSec(from.sec)
		}
		if f.hasRange {
			i = max(i, s.lowerBoundSec(f.start))
		}
		for i < len(s.recs) && len(out) < n {
			sec := s.recs[i].sec()
			if f.hasRange && sec > f.end {
				break
			}
			j := s.upperBoundSec(sec)
			collect(i, j, sec)
			i = j
		}
	} else {
		j := len(s.recs)
		if from != nil {
			j = s.upperBoundSec(from.sec)
		}
		if f.hasRange {
			j = min(j, s.upperBoundSec(f.end))
		}
		for j > 0 && len(out) < n {
			sec := s.recs[j-1].sec()
			if f.hasRange && sec < f.start {
				break
			}
			i := s.lowerBoundSec(sec)
			collect(i, j, sec)
			j = i
		}
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

type keyed struct {
	pos position
	idx int
}
