// Package deploytest holds the tests of what deploy/ ships: the Kubernetes
// manifests (decoded strictly into the k8s.io/api types, their collector
// configuration validated by the built collector, their invariants
// checked) and the many-accounts configuration (two accounts against two
// simulators, through a restart; with its persistent queue and OTLP
// exporter against an OTLP sink, through graceful restarts and a full
// queue, each record exactly once), the collector's own metrics (every
// receiver series names its receiver) and the alert rules of
// deploy/monitoring (promtool shows each firing for its failure on scrapes
// of the built collector, none on a healthy run; the PrometheusRule is
// generated from them). It lives in the tools' module so that
// k8s.io/api never reaches the receiver's module.
package deploytest
