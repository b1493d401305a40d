package zendesksim

// Schema drift: with Options.MistypedFraction, that fraction of the
// records the simulator generates (backlog, bursts and live arrivals)
// carries one documented field with a value of another JSON type, the
// kinds below in turn. The value is set in Record.Extra, which replaces
// the field in the JSON; filters still use the record's own fields.

// MistypedKind is a field a mistyped record carries with an unexpected
// type, and the JSON type it is sent as.
type MistypedKind struct{ Field, JSONType string }

// MistypedKinds returns the kinds of mistyped fields, in the order the
// simulator cycles through them. id and created_at are not among them: a
// record without them cannot be placed by a reader that keeps its
// position, and such records are a test of their own.
func MistypedKinds() []MistypedKind {
	return []MistypedKind{
		{"actor_id", "string"},   // "system"
		{"source_id", "string"},  // "n/a"
		{"action", "array"},      // [action, "bulk"]
		{"ip_address", "object"}, // {"v4": ip}
	}
}

// mistypeLocked gives r one field of an unexpected type, with the
// probability MistypedFraction. It draws from its own random source, so
// the records themselves are those of the same seed without it.
func (s *Server) mistypeLocked(r *Record) {
	if s.mistypedFraction <= 0 || s.mistypedRNG.Float64() >= s.mistypedFraction {
		return
	}
	kinds := MistypedKinds()
	kind := kinds[s.mistypedNext%len(kinds)]
	s.mistypedNext++
	var v any
	switch kind.Field {
	case "actor_id":
		v = "system"
	case "source_id":
		v = "n/a"
	case "action":
		v = []string{r.Action, "bulk"}
	case "ip_address":
		ip := "203.0.113.9"
		if r.IPAddress != nil {
			ip = *r.IPAddress
		}
		v = map[string]string{"v4": ip}
	}
	if r.Extra == nil {
		r.Extra = make(map[string]any, 1)
	}
	r.Extra[kind.Field] = v
}
