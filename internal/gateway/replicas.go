package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"custos/internal/apierror"
	"custos/internal/intervention"
	"custos/internal/metrics"
	"custos/internal/remote"
	"custos/internal/supervisor"
)

// errEveryReplicaTried: the request failed on every ready replica.
var errEveryReplicaTried = errors.New("failed on every ready replica")

// serveReplicas sends a request that holds its slot to a remote model's
// replicas: each attempt to the one the model picks, never to one it
// already failed on. An attempt that fails before any byte reached the
// client — a connection refused or cut, the replica ejected while the
// attempt waited on it, or a 503 while another replica is ready — is
// tried on another replica; once every ready replica has failed it, the
// fallback takes it, or 502. Nothing is retried after bytes reached the
// client.
func (g *Gateway) serveReplicas(w http.ResponseWriter, r *http.Request, m *model, rm *metrics.Route, in inference, start time.Time, hold intervention.Hold, deadline time.Time, onFirstByte func()) result {
	ctx := r.Context()
	rs := m.replicas
	key := rs.Key(in.body)
	body := in.body
	if up := rs.UpstreamModel(); up != in.model {
		body = in.withModel(up)
	}
	var tried []*remote.Replica
	var picked *remote.Replica
	ready := func(snap supervisor.Snapshot) (string, bool, error) {
		if p, ok := rs.Pick(key, tried); ok {
			picked = p
			return p.URL(), true, nil
		}
		if snap.State == supervisor.StateReady && len(tried) > 0 {
			return "", false, errEveryReplicaTried
		}
		return "", false, nil
	}
	var lastErr error
	for attempts := 0; ; attempts++ {
		url, snap, err := g.backendFor(ctx, m, &deadline, hold, ready)
		switch {
		case errors.Is(err, errEveryReplicaTried):
			g.log.Warn("request failed on every ready replica", "model", m.cfg.ID, "attempts", attempts, "err", lastErr)
			if g.fallback != nil {
				return g.serveFallback(w, r, m, rm, in, start, hold)
			}
			return g.answer(w, in, apierror.Error{Status: http.StatusBadGateway, Type: apierror.TypeServer, Code: "backend_failed",
				Message: "every ready replica of model `" + m.cfg.ID + "` failed: " + lastErr.Error()})
		case err != nil:
			return g.noBackend(w, r, m, rm, in, start, hold, err, snap, unready{
				unhealthy: "no replica of model `" + m.cfg.ID + "` is ready",
				late:      "no replica of model `" + m.cfg.ID + "` became ready in time"})
		}
		rep := picked
		res := g.forwardToReplica(ctx, w, r, rep, attempt{url: upstreamURL(url, r.URL, ""), body: body, header: rs.Header(), transport: rs.Transport(),
			dropHeaders: clientCredentials, route: in.route, model: in.requestedModel(), retryUnavailable: rs.Spare(append(tried, rep))}, onFirstByte)
		switch res.outcome {
		case delivered, interrupted:
			rep.Done(res.status, nil)
			if res.outcome == interrupted {
				g.log.Warn("replica failed after the response began", "model", m.cfg.ID, "replica", rep.URL(), "err", res.err)
			}
			return res
		case clientGone:
			rep.Done(res.status, nil)
			return result{outcome: clientGone, status: clientClosedRequest}
		}
		rep.Done(res.status, res.err)
		tried, lastErr = append(tried, rep), res.err
		rm.Retries.Inc()
		g.log.Warn("replica failed before answering; trying another", "model", m.cfg.ID, "replica", rep.URL(), "attempt", attempts+1, "err", res.err)
		deadline = time.Now().Add(m.cfg.QueueTimeout)
	}
}

// forwardToReplica is one attempt on rep, abandoned if rep is ejected
// while it runs.
func (g *Gateway) forwardToReplica(ctx context.Context, w http.ResponseWriter, r *http.Request, rep *remote.Replica, a attempt, onFirstByte func()) result {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(rep.Context(), cancel)()
	return forward(actx, w, r, a, onFirstByte)
}
