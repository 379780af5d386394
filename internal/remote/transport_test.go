package remote

import (
	"testing"

	"custos/internal/config"
)

// Replicas discovered over https are reached by IP: their certificates
// are checked against the discover URL's name.
func TestDiscoveredHTTPSReplicasAreVerifiedAgainstTheName(t *testing.T) {
	m := config.Model{Remote: &config.Remote{Discover: "https://hosts.inference.svc:8443"}}
	if tr := newTransport(m, 4); tr.TLSClientConfig == nil || tr.TLSClientConfig.ServerName != "hosts.inference.svc" || tr.Proxy != nil {
		t.Fatalf("transport: %+v", tr.TLSClientConfig)
	}
	if tr := newTransport(config.Model{Remote: &config.Remote{URLs: []string{"https://a:1"}}}, 4); tr.TLSClientConfig != nil && tr.TLSClientConfig.ServerName != "" {
		t.Fatalf("listed replicas are verified against their own names, got %q", tr.TLSClientConfig.ServerName)
	}
}
