package browser

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/proctest"
)

// A remote model's row shows each replica with its state, offers no load,
// unload or logs (custos runs no process for it), and shows the replica
// ejected once its server is killed.
func TestRemoteModelRowShowsItsReplicas(t *testing.T) {
	addr := proctest.FreeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	server := exec.Command(bins.Standin, "--host", host, "--port", port)
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })

	c := startCustos(t, fmt.Sprintf("models:\n  far:\n    backend: remote\n    urls: [\"http://%s\"]\n"+
		"    health_interval: 200ms\n    health_timeout: 150ms\n    unhealthy_after: 2\n", addr))
	b := newBrowser(t, 1280, 900)
	b.open(c, "far")
	replica := `document.querySelector('#models tr[data-model="far"] .replica')`
	b.waitJS("the replica ready in the row", 20*time.Second,
		replica+` && `+replica+`.textContent.includes("ready") && `+replica+`.textContent.includes(`+fmt.Sprintf("%q", addr)+`)`)
	buttons := eval[string](b, "reading the row's buttons",
		`[...document.querySelectorAll('#models tr[data-model="far"] button')].map((b) => b.textContent).join(",")`)
	if buttons != "Pause,Re-probe" {
		t.Fatalf("a remote model's actions: %s, want Pause,Re-probe", buttons)
	}

	if err := server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitJS("the replica ejected in the row", 20*time.Second, replica+`.textContent.includes("ejected")`)
}
