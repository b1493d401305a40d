package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// sinkTemplate is the sink's template inside --config-dir; the collector
// under test has one per variant (variant.Template).
const sinkTemplate = "sink.yaml.tmpl"

// collectorParams fills the collector under test's template
// (e2e/collector*.yaml.tmpl).
type collectorParams struct {
	StorageDir string
	SimURL     string
	Email      string
	APIToken   string
	// OAuth: the receiver authenticates with the OAuth client
	// (OAuthClientID, OAuthClientSecret), not the API token, in the
	// templates that offer both (variant queue).
	OAuth                bool
	OAuthClientID        string
	OAuthClientSecret    string
	RequestTimeout       time.Duration
	SettleDelay          time.Duration
	InitialLookback      time.Duration
	MaxRequestsPerMinute int
	// MaxConcurrentRequests is the variant's max_concurrent_requests (0:
	// the receiver's default).
	MaxConcurrentRequests int
	SinkURL               string
	// The persistent sending queue's settings (variant queue).
	QueueConsumers    int
	BatchMinSize      int
	BatchFlushTimeout time.Duration
}

// sinkParams fills e2e/sink.yaml.tmpl.
type sinkParams struct {
	Endpoint string // host:port of the OTLP/HTTP receiver
	File     string
}

var templateFuncs = template.FuncMap{
	// q quotes a string as a YAML double-quoted scalar (JSON strings are
	// valid YAML).
	"q": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	},
	// d writes a duration as a Go duration string.
	"d": func(d time.Duration) string { return d.String() },
}

// renderConfig executes the template text with data. Unknown fields are
// errors.
func renderConfig(name, text string, data any) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("rendering template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// renderConfigFile renders dir/name with data into out.
func renderConfigFile(dir, name string, data any, out string) error {
	text, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("reading the config template (is --config-dir right?): %w", err)
	}
	b, err := renderConfig(name, string(text), data)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o600)
}

// emailVariant returns email with the case of its letters changed after
// the bits of n (n = 0: unchanged). The simulator compares emails without
// regard to case, as Zendesk does, but keys its Retry-After bookkeeping by
// the exact Authorization value. Each start of the collector under test
// uses its own variant, so a Retry-After sent to a process that was then
// SIGKILLed (and that a new process cannot know about) is not counted as a
// violation by the new process; a violation within one process still is.
func emailVariant(email string, n int) string {
	rs := []rune(email)
	bit := 0
	for i, r := range rs {
		if !unicode.IsLetter(r) || unicode.ToLower(r) == unicode.ToUpper(r) {
			continue
		}
		if bit < 63 && n&(1<<bit) != 0 {
			if unicode.IsUpper(r) {
				rs[i] = unicode.ToLower(r)
			} else {
				rs[i] = unicode.ToUpper(r)
			}
		}
		bit++
	}
	return string(rs)
}

// emailVariants is how many distinct variants emailVariant can make.
func emailVariants(email string) int {
	letters := 0
	for _, r := range email {
		if unicode.IsLetter(r) && unicode.ToLower(r) != unicode.ToUpper(r) {
			letters++
		}
	}
	if letters >= 30 {
		return 1 << 30
	}
	return 1 << letters
}

// isLoopbackURL reports whether u looks like http://127.0.0.1:port.
func isLoopbackURL(u string) bool {
	return strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasPrefix(u, "http://[::1]:") ||
		strings.HasPrefix(u, "http://localhost:")
}
