package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
)

// QueueOptions describe a run of the persistent-queue pipeline.
type QueueOptions struct {
	// Dir is file_storage's directory; it must exist and be empty.
	Dir string
	// FSync is file_storage's fsync.
	FSync bool
	// Pages of Page are pushed, one ConsumeLogs call each, as the
	// receiver does.
	Pages int
	Page  plog.Logs
}

// extensionsHost is a component.Host with extensions.
type extensionsHost map[component.ID]component.Component

func (h extensionsHost) GetExtensions() map[component.ID]component.Component { return h }

// checkpointValue stands for the receiver's stored checkpoint: a second
// and the ids delivered in it, a few hundred bytes of JSON.
var checkpointValue = []byte(`{"v":1,"second":"2026-11-26T15:29:00Z","ids":[` +
	`498483,498484,498485,498486,498487,498488,498489,498490,498491,498492,498493,498494,498495,498496,498497,498498]}`)

// DrainPersistentQueue measures the storage path of the production
// pipeline of the README, after the receiver's decode: for each page, a
// ConsumeLogs call into an exporter built with exporterhelper, whose
// sending queue is persisted in file_storage and batches (num_consumers 1,
// batch min_size 1000, flush_timeout 1s), then the receiver's checkpoint
// written to the same file_storage, as the receiver does once ConsumeLogs
// returned. The exporter's push counts the records; the run ends when
// every record of every page was pushed. The CPU and wall time span from
// the first ConsumeLogs to the last record pushed; setting up and closing
// the storage are left out.
func DrainPersistentQueue(ctx context.Context, o QueueOptions) (DrainResult, error) {
	n := o.Pages * o.Page.LogRecordCount()
	if n == 0 {
		return DrainResult{}, errors.New("no records to push")
	}
	fsf := filestorage.NewFactory()
	fsID := component.NewID(fsf.Type())
	fsCfg := fsf.CreateDefaultConfig().(*filestorage.Config)
	fsCfg.Directory = o.Dir
	fsCfg.FSync = o.FSync
	if err := fsCfg.Validate(); err != nil {
		return DrainResult{}, err
	}
	tel := componenttest.NewNopTelemetrySettings()
	ext, err := fsf.Create(ctx, extension.Settings{ID: fsID, TelemetrySettings: tel, BuildInfo: component.NewDefaultBuildInfo()}, fsCfg)
	if err != nil {
		return DrainResult{}, err
	}
	host := extensionsHost{fsID: ext}
	if err := ext.Start(ctx, host); err != nil {
		return DrainResult{}, err
	}
	defer func() { _ = ext.Shutdown(context.WithoutCancel(ctx)) }()

	receiverID := component.MustNewID("zendesk_audit_logs")
	ckpt, err := ext.(storage.Extension).GetClient(ctx, component.KindReceiver, receiverID, "")
	if err != nil {
		return DrainResult{}, err
	}
	defer func() { _ = ckpt.Close(context.WithoutCancel(ctx)) }()

	qCfg := exporterhelper.NewDefaultQueueConfig()
	qCfg.StorageID = &fsID
	qCfg.NumConsumers = 1
	bCfg := exporterhelper.NewDefaultBatchConfig()
	bCfg.FlushTimeout = time.Second
	bCfg.MinSize = 1000
	qCfg.Batch = configoptional.Some(bCfg)
	if err := qCfg.Validate(); err != nil {
		return DrainResult{}, err
	}
	counter := NewCounter(n)
	exp, err := exporterhelper.NewLogs(ctx,
		exporter.Settings{ID: component.MustNewID("otlp_http"), TelemetrySettings: tel, BuildInfo: component.NewDefaultBuildInfo()},
		&struct{}{}, counter.ConsumeLogs, exporterhelper.WithQueue(configoptional.Some(qCfg)))
	if err != nil {
		return DrainResult{}, err
	}
	if err := exp.Start(ctx, host); err != nil {
		return DrainResult{}, err
	}
	defer func() { _ = exp.Shutdown(context.WithoutCancel(ctx)) }()

	runtime.GC()
	cpu0, err := ProcessCPU()
	if err != nil {
		return DrainResult{}, err
	}
	t0 := time.Now()
	for i := range o.Pages {
		if err := exp.ConsumeLogs(ctx, o.Page); err != nil {
			return DrainResult{}, fmt.Errorf("page %d: ConsumeLogs: %w", i, err)
		}
		if err := ckpt.Set(ctx, "checkpoint", checkpointValue); err != nil {
			return DrainResult{}, fmt.Errorf("page %d: checkpoint: %w", i, err)
		}
	}
	select {
	case <-counter.Done():
	case <-time.After(time.Minute):
		return DrainResult{}, fmt.Errorf("timed out with %d of %d records pushed", counter.Count(), n)
	case <-ctx.Done():
		return DrainResult{}, ctx.Err()
	}
	wall := time.Since(t0)
	cpu1, err := ProcessCPU()
	if err != nil {
		return DrainResult{}, err
	}
	return DrainResult{Records: counter.Count(), CPU: cpu1 - cpu0, Wall: wall}, nil
}
