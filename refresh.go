package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/go-json-experiment/json"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// refreshTokenKey is the storage key of the refresh token the receiver
// rotated to last (oauth.refresh_token), next to the checkpoint.
const refreshTokenKey = "zendesk_audit_logs.oauth_refresh_token"

// storedRefresh is what refreshTokenKey holds. Zendesk invalidates a
// refresh token once used, so after the first renewal the configured one
// is worthless and a restart needs the current one. Configured is a hash
// of the configured token: when the user configures a new one (after
// authorizing again), it wins over the stored one.
type storedRefresh struct {
	Configured string `json:"configured"`
	Current    string `json:"current"`
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// startRefreshToken returns the refresh token to start with: the one
// stored, unless the configuration names another since.
func (r *logsReceiver) startRefreshToken(ctx context.Context, configured string) string {
	b, err := r.storage.Get(ctx, refreshTokenKey)
	if err != nil {
		r.logger.Error("The stored OAuth refresh token cannot be read; using the configured one", zap.Error(err))
		return configured
	}
	var st storedRefresh
	if b == nil || json.Unmarshal(b, &st) != nil || st.Current == "" {
		return configured
	}
	if st.Configured != hashToken(configured) {
		r.logger.Info("The configured OAuth refresh token changed: using it instead of the stored one")
		return configured
	}
	return st.Current
}

// saveRefreshToken keeps the refresh token Zendesk rotated to in st, the
// storage client opened at Start. It runs inside the token request,
// before the new access token is used: a crash after it keeps the current
// token; a crash between Zendesk's answer and this write loses it
// (authorize again then), and so does a rotation that ends after Shutdown
// closed st (the error says so).
func (r *logsReceiver) saveRefreshToken(st storage.Client, configured, current string) {
	b, err := json.Marshal(storedRefresh{Configured: hashToken(configured), Current: current})
	if err == nil {
		err = st.Set(context.Background(), refreshTokenKey, b)
	}
	if err != nil {
		r.logger.Error("The rotated OAuth refresh token could not be stored: after a restart the receiver will hold a refresh token Zendesk no longer accepts",
			zap.Error(err))
	}
}
