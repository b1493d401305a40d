package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/bench"
)

var kubernetesDir = filepath.Join(repoRoot, "deploy", "kubernetes")

// strictDecoder decodes the core and apps types and fails on unknown or
// duplicate fields.
func strictDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(scheme))
	require.NoError(t, appsv1.AddToScheme(scheme))
	require.NoError(t, batchv1.AddToScheme(scheme))
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// yamlDocuments splits a file into its YAML documents.
func yamlDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// plainManifests are the objects of deploy/kubernetes/*.yaml, decoded
// strictly.
type plainManifests struct {
	configMaps   []*corev1.ConfigMap
	services     []*corev1.Service
	statefulSets []*appsv1.StatefulSet
	cronJobs     []*batchv1.CronJob
}

func decodePlainManifests(t *testing.T) plainManifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	dec := strictDecoder(t)
	var m plainManifests
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		docs, err := yamlDocuments(data)
		require.NoError(t, err, f)
		for i, doc := range docs {
			obj, gvk, err := dec.Decode(doc, nil, nil)
			require.NoError(t, err, "%s document %d", f, i+1)
			switch o := obj.(type) {
			case *corev1.ConfigMap:
				m.configMaps = append(m.configMaps, o)
			case *corev1.Service:
				m.services = append(m.services, o)
			case *appsv1.StatefulSet:
				m.statefulSets = append(m.statefulSets, o)
			case *batchv1.CronJob:
				m.cronJobs = append(m.cronJobs, o)
			default:
				t.Fatalf("%s document %d: a %s, which this test does not check", f, i+1, gvk)
			}
		}
	}
	return m
}

func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	typo := []byte("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: x\nspec:\n  replica: 1\n")
	_, _, err := strictDecoder(t).Decode(typo, nil, nil)
	require.Error(t, err)
	assert.True(t, runtime.IsStrictDecodingError(err), "%v", err)
	assert.ErrorContains(t, err, `unknown field "spec.replica"`)
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := decodePlainManifests(t)
	assert.Len(t, m.configMaps, 1)
	assert.Len(t, m.services, 1)
	assert.Len(t, m.statefulSets, 1)
	assert.Len(t, m.cronJobs, 1)
}

// workload is what the StatefulSet and the operator's resource have in
// common: the collector's configuration and the pod around it.
type workload struct {
	name          string
	replicas      *int32
	config        string
	env           []corev1.EnvVar
	mounts        []corev1.VolumeMount
	claims        []corev1.PersistentVolumeClaim
	podSecurity   *corev1.PodSecurityContext
	security      *corev1.SecurityContext
	resources     corev1.ResourceRequirements
	configMounted bool // the configuration file is a mounted ConfigMap (the operator mounts its own)
}

func TestStatefulSet(t *testing.T) {
	m := decodePlainManifests(t)
	require.Len(t, m.statefulSets, 1)
	sts := m.statefulSets[0]
	pod := sts.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]

	// The configuration: the ConfigMap mounted where --config points.
	config := configFromMount(t, m.configMaps, pod.Volumes, c.VolumeMounts, configArg(t, c))

	checkWorkload(t, workload{
		name: sts.Name, replicas: sts.Spec.Replicas, config: config, env: c.Env, mounts: c.VolumeMounts,
		claims: sts.Spec.VolumeClaimTemplates, podSecurity: pod.SecurityContext, security: c.SecurityContext,
		resources: c.Resources, configMounted: true,
	})

	// Probes on the health_check extension's port.
	port := healthCheckPort(t, config)
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		require.NotNil(t, p, "no %s probe", name)
		require.NotNil(t, p.HTTPGet, "the %s probe is not an HTTP GET", name)
		assert.Equal(t, port, containerPort(t, c, p.HTTPGet.Port.String()), "the %s probe's port", name)
	}

	// The collector's metrics, for the alert rules: served on the pod's
	// address at a container port named metrics that the Service exposes,
	// at the level that shows the exporter's queue.
	reader := dig(parseConfig(t, config), "service", "telemetry", "metrics")
	require.NotNil(t, reader, "the configuration serves no metrics")
	assert.Equal(t, "detailed", dig(reader, "level"))
	readers, _ := dig(reader, "readers").([]any)
	require.Len(t, readers, 1)
	prom := dig(readers[0], "pull", "exporter", "prometheus")
	assert.Equal(t, "${env:POD_IP}", dig(prom, "host"))
	assert.EqualValues(t, containerPort(t, c, "metrics"), dig(prom, "port"))

	// The Service the StatefulSet names is headless and selects its pods.
	var svc *corev1.Service
	for _, s := range m.services {
		if s.Name == sts.Spec.ServiceName {
			svc = s
		}
	}
	require.NotNil(t, svc, "no Service %q (spec.serviceName)", sts.Spec.ServiceName)
	assert.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP)
	assert.True(t, slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "metrics" && p.TargetPort.String() == "metrics" }),
		"the Service exposes no metrics port")
	assert.Equal(t, sts.Spec.Selector.MatchLabels, svc.Spec.Selector)
	assert.Equal(t, sts.Spec.Selector.MatchLabels, sts.Spec.Template.Labels)
	assert.False(t, *pod.AutomountServiceAccountToken, "the collector needs no Kubernetes API token")
}

// operatorCollector mirrors the part of the OpenTelemetry Operator's
// opentelemetry.io/v1beta1 OpenTelemetryCollector that the example uses,
// with the operator's JSON names; the embedded Kubernetes types are
// k8s.io/api's. Decoding is strict: a field this mirror lacks fails the
// test and must be added here, checked against the operator's API
// (apis/v1beta1 of github.com/open-telemetry/opentelemetry-operator).
type operatorCollector struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   operatorMetadata  `json:"metadata"`
	Spec       operatorSpec      `json:"spec"`
	Status     map[string]string `json:"status,omitempty"`
}

type operatorMetadata struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

type operatorSpec struct {
	Mode                                 string                                                  `json:"mode"`
	Replicas                             *int32                                                  `json:"replicas,omitempty"`
	Image                                string                                                  `json:"image,omitempty"`
	ImagePullPolicy                      corev1.PullPolicy                                       `json:"imagePullPolicy,omitempty"`
	TerminationGracePeriodSeconds        *int64                                                  `json:"terminationGracePeriodSeconds,omitempty"`
	PodSecurityContext                   *corev1.PodSecurityContext                              `json:"podSecurityContext,omitempty"`
	SecurityContext                      *corev1.SecurityContext                                 `json:"securityContext,omitempty"`
	Resources                            corev1.ResourceRequirements                             `json:"resources,omitempty"`
	Env                                  []corev1.EnvVar                                         `json:"env,omitempty"`
	LivenessProbe                        *operatorProbe                                          `json:"livenessProbe,omitempty"`
	ReadinessProbe                       *operatorProbe                                          `json:"readinessProbe,omitempty"`
	VolumeMounts                         []corev1.VolumeMount                                    `json:"volumeMounts,omitempty"`
	VolumeClaimTemplates                 []corev1.PersistentVolumeClaim                          `json:"volumeClaimTemplates,omitempty"`
	PersistentVolumeClaimRetentionPolicy *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy `json:"persistentVolumeClaimRetentionPolicy,omitempty"`
	Config                               map[string]any                                          `json:"config"`
}

// operatorProbe: the operator makes the probe's handler from the
// health_check extension; only the timings are given.
type operatorProbe struct {
	InitialDelaySeconds *int32 `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds      *int32 `json:"timeoutSeconds,omitempty"`
	PeriodSeconds       *int32 `json:"periodSeconds,omitempty"`
	SuccessThreshold    *int32 `json:"successThreshold,omitempty"`
	FailureThreshold    *int32 `json:"failureThreshold,omitempty"`
}

func TestOperatorCollector(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(kubernetesDir, "operator", "opentelemetrycollector.yaml"))
	require.NoError(t, err)
	var oc operatorCollector
	require.NoError(t, yaml.UnmarshalStrict(data, &oc))
	assert.Equal(t, "opentelemetry.io/v1beta1", oc.APIVersion)
	assert.Equal(t, "OpenTelemetryCollector", oc.Kind)
	assert.Equal(t, "statefulset", oc.Spec.Mode)
	require.NotNil(t, oc.Spec.LivenessProbe, "no liveness probe settings")
	require.NotNil(t, oc.Spec.ReadinessProbe, "no readiness probe settings")
	healthCheckPort(t, mustYAML(t, oc.Spec.Config)) // the operator's probes need the extension

	config := mustYAML(t, oc.Spec.Config)
	checkWorkload(t, workload{
		name: oc.Metadata.Name, replicas: oc.Spec.Replicas, config: config, env: oc.Spec.Env, mounts: oc.Spec.VolumeMounts,
		claims: oc.Spec.VolumeClaimTemplates, podSecurity: oc.Spec.PodSecurityContext, security: oc.Spec.SecurityContext,
		resources: oc.Spec.Resources,
	})

	// One configuration, two ways to deploy it.
	m := decodePlainManifests(t)
	require.Len(t, m.configMaps, 1)
	assert.Equal(t, parseConfig(t, m.configMaps[0].Data["config.yaml"]), parseConfig(t, config),
		"the operator's config differs from the ConfigMap's")
}

// checkWorkload checks the invariants of a collector deployment and
// validates its configuration with the built collector.
func checkWorkload(t *testing.T, w workload) {
	t.Helper()
	require.NotNil(t, w.replicas, "%s: replicas must be given (1)", w.name)
	assert.Equal(t, int32(1), *w.replicas, "%s: two replicas would read the same accounts twice", w.name)

	cfg := parseConfig(t, w.config)
	claimed := func(dir string) bool {
		for _, m := range w.mounts {
			if !isClaim(w.claims, m.Name) || m.ReadOnly {
				continue
			}
			if rel, err := filepath.Rel(m.MountPath, dir); err == nil && !strings.HasPrefix(rel, "..") {
				return true
			}
		}
		return false
	}
	storageOnClaim := func(what, id string) {
		typ, _, _ := strings.Cut(id, "/")
		require.Equal(t, "file_storage", typ, "%s: %s uses storage %q, not a file_storage extension", w.name, what, id)
		dir, _ := dig(cfg, "extensions", id, "directory").(string)
		require.NotEmpty(t, dir, "%s: the extension %s has no directory", w.name, id)
		assert.True(t, claimed(dir), "%s: %s's storage directory %s is not on a volume claim", w.name, what, dir)
	}

	// Every account: its checkpoint on the claim, its token from a Secret.
	receivers, _ := cfg["receivers"].(map[string]any)
	accounts := 0
	for id := range receivers {
		if typ, _, _ := strings.Cut(id, "/"); typ != "zendesk_audit_logs" {
			continue
		}
		accounts++
		storage, _ := dig(cfg, "receivers", id, "storage").(string)
		require.NotEmpty(t, storage, "%s: %s has no storage: its checkpoint would be lost on restart", w.name, id)
		storageOnClaim(id, storage)
		for _, key := range []string{"api_token", "oauth_token"} {
			if v, ok := dig(cfg, "receivers", id, key).(string); ok {
				checkSecretValue(t, w, id+"."+key, v)
			}
		}
		if v, ok := dig(cfg, "receivers", id, "oauth", "client_secret").(string); ok {
			checkSecretValue(t, w, id+".oauth.client_secret", v)
		}
	}
	require.NotZero(t, accounts, "%s: no zendesk_audit_logs receiver", w.name)

	// The exporter's queue is persistent, on the claim too.
	queues := 0
	exporters, _ := cfg["exporters"].(map[string]any)
	for id := range exporters {
		if storage, ok := dig(cfg, "exporters", id, "sending_queue", "storage").(string); ok {
			queues++
			storageOnClaim(id+"'s sending_queue", storage)
		}
	}
	assert.NotZero(t, queues, "%s: no exporter has a persistent sending_queue", w.name)

	// No secret in an environment variable's plain value.
	secretName := regexp.MustCompile(`(?i)token|secret|password|key`)
	for _, e := range w.env {
		if secretName.MatchString(e.Name) {
			assert.Empty(t, e.Value, "%s: %s is given in plain text", w.name, e.Name)
			assert.True(t, e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil, "%s: %s does not come from a Secret", w.name, e.Name)
		}
	}

	// Not root, read-only root filesystem, limits.
	require.NotNil(t, w.podSecurity, "%s: no pod securityContext", w.name)
	assert.True(t, w.podSecurity.RunAsNonRoot != nil && *w.podSecurity.RunAsNonRoot, "%s: runAsNonRoot", w.name)
	assert.True(t, w.podSecurity.RunAsUser != nil && *w.podSecurity.RunAsUser != 0, "%s: runAsUser", w.name)
	assert.True(t, w.podSecurity.FSGroup != nil, "%s: fsGroup (the claim must be writable by the collector's group)", w.name)
	require.NotNil(t, w.security, "%s: no container securityContext", w.name)
	assert.True(t, w.security.ReadOnlyRootFilesystem != nil && *w.security.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", w.name)
	assert.True(t, w.security.AllowPrivilegeEscalation != nil && !*w.security.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation", w.name)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		assert.Contains(t, w.resources.Requests, r, "%s: requests.%s", w.name, r)
	}
	assert.Contains(t, w.resources.Limits, corev1.ResourceMemory, "%s: limits.memory", w.name)

	// The configuration passes the built collector's validate.
	collector := builtCollector(t)
	env := map[string]string{}
	for _, name := range envRefs(w.config) {
		env[name] = "validate-" + strings.ToLower(name)
	}
	env["POD_IP"] = "127.0.0.1"
	validate(t, collector, w.config, env)
}

// checkSecretValue: a token is a whole ${env:NAME} reference, and NAME
// comes from a Secret.
func checkSecretValue(t *testing.T, w workload, what, value string) {
	t.Helper()
	m := envRef.FindStringSubmatch(value)
	require.True(t, m != nil && m[0] == value, "%s: %s is not an ${env:...} reference: a token in plain text", w.name, what)
	for _, e := range w.env {
		if e.Name == m[1] {
			require.NotNil(t, e.ValueFrom, "%s: %s (for %s) has no valueFrom", w.name, e.Name, what)
			require.NotNil(t, e.ValueFrom.SecretKeyRef, "%s: %s (for %s) does not come from a Secret", w.name, e.Name, what)
			return
		}
	}
	t.Errorf("%s: %s refers to %s, which the container's env does not set", w.name, what, m[1])
}

func isClaim(claims []corev1.PersistentVolumeClaim, name string) bool {
	for _, c := range claims {
		if c.Name == name {
			return true
		}
	}
	return false
}

// configFromMount finds the file at path in the ConfigMap volume mounted
// over it.
func configFromMount(t *testing.T, cms []*corev1.ConfigMap, volumes []corev1.Volume, mounts []corev1.VolumeMount, path string) string {
	t.Helper()
	for _, m := range mounts {
		rel, err := filepath.Rel(m.MountPath, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		for _, v := range volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			for _, cm := range cms {
				if cm.Name == v.ConfigMap.Name {
					cfg, ok := cm.Data[rel]
					require.True(t, ok, "the ConfigMap %s has no key %s", cm.Name, rel)
					return cfg
				}
			}
			t.Fatalf("the volume %s mounts the ConfigMap %s, which is not in the manifests", v.Name, v.ConfigMap.Name)
		}
	}
	t.Fatalf("no ConfigMap is mounted over %s", path)
	return ""
}

// healthCheckPort is the port of the health_check extension, which must be
// enabled.
func healthCheckPort(t *testing.T, config string) int32 {
	t.Helper()
	cfg := parseConfig(t, config)
	endpoint, _ := dig(cfg, "extensions", "health_check", "endpoint").(string)
	require.NotEmpty(t, endpoint, "no health_check extension with an endpoint")
	enabled, _ := dig(cfg, "service", "extensions").([]any)
	assert.Contains(t, enabled, "health_check", "health_check is not in service.extensions")
	i := strings.LastIndexByte(endpoint, ':')
	require.Positive(t, i, "health_check endpoint %q has no port", endpoint)
	port, err := strconv.ParseInt(endpoint[i+1:], 10, 32)
	require.NoError(t, err, "health_check endpoint %q", endpoint)
	return int32(port)
}

// containerPort resolves a probe's port (a number or a port's name).
func containerPort(t *testing.T, c corev1.Container, port string) int32 {
	t.Helper()
	if n, err := strconv.ParseInt(port, 10, 32); err == nil {
		return int32(n)
	}
	for _, p := range c.Ports {
		if p.Name == port {
			return p.ContainerPort
		}
	}
	t.Fatalf("the container has no port named %q", port)
	return 0
}

func parseConfig(t *testing.T, config string) map[string]any {
	t.Helper()
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(config), &cfg))
	return cfg
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// dig walks nested maps by keys; nil when a key is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// configArg is the path the container's --config=PATH argument names.
func configArg(t *testing.T, c corev1.Container) string {
	t.Helper()
	path := ""
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		}
	}
	require.NotEmpty(t, path, "the container has no --config=PATH argument")
	return path
}

// The capacity runs with the shipped memory settings (`benchsummary
// --accounts-shipped-memory`, README "Running many accounts") run the
// StatefulSet's: its memory_limiter, GOMEMLIMIT and memory limit.
func TestBenchShippedMemoryIsTheStatefulSets(t *testing.T) {
	m := decodePlainManifests(t)
	require.Len(t, m.statefulSets, 1)
	pod := m.statefulSets[0].Spec.Template.Spec
	c := pod.Containers[0]
	cfg := parseConfig(t, configFromMount(t, m.configMaps, pod.Volumes, c.VolumeMounts, configArg(t, c)))
	assert.EqualValues(t, bench.ShippedMemoryLimiterMiB, dig(cfg, "processors", "memory_limiter", "limit_mib"))
	assert.EqualValues(t, bench.ShippedMemoryLimiterSpikeMiB, dig(cfg, "processors", "memory_limiter", "spike_limit_mib"))
	gomemlimit := ""
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			gomemlimit = e.Value
		}
	}
	assert.Equal(t, bench.ShippedGOMEMLIMIT, gomemlimit)
	limit := c.Resources.Limits[corev1.ResourceMemory]
	assert.Equal(t, bench.ShippedMemoryLimit, limit.String())
}
