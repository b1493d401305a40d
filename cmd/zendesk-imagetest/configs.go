package main

import (
	"bytes"
	"strconv"
	"text/template"
)

// The configurations the test mounts at the image's default config path.
// Every address is on loopback: the containers run with --network host.

// sinkTemplate: the image as a sink, OTLP/HTTP in, a file exporter out to
// the mounted directory /out. It is never killed, so its file holds what
// the collector under test delivered.
var sinkTemplate = template.Must(template.New("sink").Funcs(funcs).Parse(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: {{q .Endpoint}}
exporters:
  file:
    path: /out/records.json
    format: json
    append: true
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`))

// collectorTemplate: the collector under test. Its checkpoint is on the
// image's volume (/var/lib/otelcol). Nothing between the receiver and the
// sink acknowledges early (no batch processor, no queue), so a page is
// checkpointed only once the sink has it.
var collectorTemplate = template.Must(template.New("collector").Funcs(funcs).Parse(`
extensions:
  file_storage:
    directory: /var/lib/otelcol/zendesk
    create_directory: true
receivers:
  zendesk_audit_logs:
    endpoint: {{q .SimURL}}
    email: {{q .Email}}
    api_token: {{q .APIToken}}
    poll_interval: 1s
    settle_delay: 5s
    initial_lookback: 24h
    page_size: {{.PageSize}}
    max_requests_per_minute: {{.RequestsPerMinute}}
    storage: file_storage
exporters:
  otlp_http:
    endpoint: {{q .SinkURL}}
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_interval: 1s
      max_elapsed_time: 0s
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [zendesk_audit_logs]
      exporters: [otlp_http]
`))

var funcs = template.FuncMap{"q": strconv.Quote}

type sinkParams struct {
	Endpoint string
}

type collectorParams struct {
	SimURL, Email, APIToken string
	SinkURL                 string
	PageSize                int
	RequestsPerMinute       int
}

func render(t *template.Template, params any) ([]byte, error) {
	var b bytes.Buffer
	err := t.Execute(&b, params)
	return b.Bytes(), err
}
