package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"custos/internal/apierror"
	"custos/internal/config"
	"custos/internal/intervention"
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

// url is where the fallback serves the client's path: its URL ends in
// /v1, which a /v1 path shares; one of llama-server's own paths (/infill)
// lies beside it.
func (f *fallback) url(u *url.URL) string {
	if strings.HasPrefix(u.Path, "/v1/") {
		return upstreamURL(f.cfg.URL, u, "/v1")
	}
	return upstreamURL(strings.TrimSuffix(strings.TrimSuffix(f.cfg.URL, "/"), "/v1"), u, "")
}

// serveFallback forwards the request to the fallback with the model
// renamed and the fallback's own key in place of the client's. A pause
// holds it first, as any request that has not reached an upstream.
func (g *Gateway) serveFallback(w http.ResponseWriter, r *http.Request, m *model, rm *metrics.Route, in inference, start time.Time, hold intervention.Hold) result {
	if g.pause.Blocks(m.cfg.ID) {
		if err := g.pause.Wait(r.Context(), m.cfg.ID, hold); err != nil {
			return g.refuse(w, in, m, err)
		}
	}
	f := g.fallback
	name := m.cfg.ID
	if mapped, ok := f.cfg.Models[m.cfg.ID]; ok {
		name = mapped
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.Timeout)
	defer cancel()
	rm.Fallbacks.Inc()
	res := forward(ctx, w, r, attempt{
		url:            f.url(r.URL),
		body:           in.withModel(name),
		header:         f.auth,
		dropHeaders:    clientCredentials, // the client's key is for custos, not for the fallback
		responseHeader: map[string]string{"X-Custos-Backend": "fallback"},
		transport:      f.transport,
		route:          in.route,
		model:          in.requestedModel(),
	}, func() { rm.TTFB.Observe(time.Since(start).Seconds()) })
	switch res.outcome {
	case delivered:
		return res
	case interrupted:
		g.log.Warn("fallback failed after the response began", "model", m.cfg.ID, "err", res.err)
		return res
	case clientGone:
		return result{outcome: clientGone, status: clientClosedRequest}
	}
	w.Header().Set("X-Custos-Backend", "fallback")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return g.answer(w, in, apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.TypeServer, Code: "fallback_timeout",
			Message: "the fallback did not answer within " + f.cfg.Timeout.String()})
	}
	g.log.Warn("fallback failed", "model", m.cfg.ID, "err", res.err)
	return g.answer(w, in, apierror.Error{Status: http.StatusBadGateway, Type: apierror.TypeServer, Code: "fallback_unavailable",
		Message: "model `" + m.cfg.ID + "` cannot serve and the fallback failed: " + res.err.Error(), RetryAfter: 5 * time.Second})
}
