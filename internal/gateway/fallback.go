package gateway

import (
	"context"
	"custos/internal/apierror"
	"net/http"
	"strings"
	"time"

	"custos/internal/config"
	"custos/internal/metrics"
)

// fallback is the upstream that serves a model while it cannot.
type fallback struct {
	cfg       *config.Fallback
	transport *http.Transport
	auth      http.Header
}

func newFallback(cfg *config.Fallback) *fallback {
	f := &fallback{cfg: cfg, transport: newFallbackTransport(), auth: http.Header{}}
	if cfg.APIKey != "" {
		f.auth.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	return f
}

// serveFallback forwards the request to the fallback with the model
// renamed and the fallback's own key in place of the client's.
func (g *Gateway) serveFallback(w http.ResponseWriter, r *http.Request, m *model, rm *metrics.Route, in inference, start time.Time) int {
	f := g.fallback
	name := m.cfg.ID
	if mapped, ok := f.cfg.Models[m.cfg.ID]; ok {
		name = mapped
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.Timeout)
	defer cancel()
	r.Header.Del("Authorization") // the client's key is for custos, not for the fallback
	rm.Fallbacks.Inc()
	res := forward(ctx, w, r, attempt{
		url:            f.cfg.URL + strings.TrimPrefix(r.URL.Path, "/v1"),
		body:           in.withModel(name),
		header:         f.auth,
		responseHeader: map[string]string{"X-Custos-Backend": "fallback"},
		transport:      f.transport,
	}, func() { rm.TTFB.Observe(time.Since(start).Seconds()) })
	switch res.outcome {
	case delivered:
		return res.status
	case clientGone:
		if r.Context().Err() == nil { // our own timeout, not the client
			e := apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.TypeServer, Code: "fallback_timeout",
				Message: "the fallback did not answer within " + f.cfg.Timeout.String()}
			e.Write(w)
			return e.Status
		}
		return clientClosedRequest
	}
	g.log.Warn("fallback failed", "model", m.cfg.ID, "err", res.err)
	e := apierror.Error{Status: http.StatusBadGateway, Type: apierror.TypeServer, Code: "fallback_unavailable",
		Message: "model `" + m.cfg.ID + "` cannot serve and the fallback failed: " + res.err.Error(), RetryAfter: 5 * time.Second}
	w.Header().Set("X-Custos-Backend", "fallback")
	e.Write(w)
	return e.Status
}
