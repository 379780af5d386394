package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
	"custos/internal/proctest"
)

func TestVersionPrintsAVersionAndExits0(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bins.Custos, "version").Output()
	if err != nil {
		t.Fatalf("custos version: %v", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 2 || fields[0] != "custos" {
		t.Fatalf("custos version printed %q, want \"custos VERSION\"", out)
	}
}

// The quick start, `custos serve --model FILE.gguf`, needs no
// configuration file: it must serve the model and stop cleanly on SIGTERM.
func TestServeModelFlagAnswersChatAndExits0OnSIGTERM(t *testing.T) {
	model, err := engineModel()
	if err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	cmd := exec.Command(bins.Custos, "serve", "--model", model, "--listen", addr)
	// The store goes to the XDG state folder by default: keep it in the test's folder.
	cmd.Env = append(os.Environ(), "CUSTOS_LLAMA_LIB_DIR="+llamatest.LibDir(t), "XDG_STATE_HOME="+t.TempDir())
	output := &proctest.Buffer{}
	cmd.Stdout, cmd.Stderr = output, output
	// Once custos has exited, its output is waited for no longer than this.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	reaped := false // the exit status was already taken from exited
	t.Cleanup(func() {
		if !reaped {
			cmd.Process.Kill()
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				t.Errorf("custos (pid %d) not reaped within 30s of SIGKILL", cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("custos output (last 16 KiB):\n%s", proctest.Tail(output.String(), 16<<10))
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for !answers(addr, "/readyz") {
		select {
		case err := <-exited:
			reaped = true
			t.Fatalf("custos exited before ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("custos serve --model not ready within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := proctest.Post(context.Background(), inferenceClient, "http://"+addr+"/v1/chat/completions",
		`{"model":"default","max_tokens":8,"messages":[{"role":"user","content":"hello there"}]}`)
	if r.Err != nil || r.Status != 200 || !strings.Contains(string(r.Body), `"choices"`) {
		t.Fatalf("chat: %v", r)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		reaped = true
		if err != nil {
			t.Fatalf("custos exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("custos did not exit within 30s of SIGTERM")
	}
}

// answers reports whether GET path on addr answers 200.
func answers(addr, path string) bool {
	resp, err := proctest.Client.Get("http://" + addr + path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
