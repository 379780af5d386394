package runner

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"custos/internal/llama/llamatest"
	"custos/internal/proctest"
)

// childRunnerEnv makes the test binary serve a runner on its own, as `custos runner` does, on the model it
// names (see startChildRunner): for the tests that look at the threads of a process that runs one runner.
const childRunnerEnv = "CUSTOS_TEST_CHILD_RUNNER_MODEL"

// serveAsChild runs one runner from the environment startChildRunner sets until SIGTERM, and returns the
// exit code.
func serveAsChild(model string) int {
	threads, _ := strconv.Atoi(os.Getenv("CUSTOS_TEST_CHILD_THREADS"))
	srv, err := New(Config{ModelPath: model, Threads: threads, Parallel: 1, LibDir: os.Getenv("CUSTOS_LLAMA_LIB_DIR"),
		LowerRuntimeMonitor: true}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", os.Getenv("CUSTOS_TEST_CHILD_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startChildRunner starts the test binary as a process of its own serving the test model with threads
// decoding threads, and returns its pid and base URL once it is ready; the test's cleanup stops it.
func startChildRunner(t *testing.T, threads int) (int, string) {
	t.Helper()
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childRunnerEnv+"="+model, "CUSTOS_TEST_CHILD_ADDR="+addr,
		"CUSTOS_TEST_CHILD_THREADS="+strconv.Itoa(threads), "CUSTOS_LLAMA_LIB_DIR="+llamatest.LibDir(t))
	output := &proctest.Buffer{}
	cmd.Stdout, cmd.Stderr = output, output
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the child runner did not stop within 20s of SIGTERM:\n%s", output.String())
		}
	})
	base := "http://" + addr
	if err := waitReady(base, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, output.String())
	}
	return cmd.Process.Pid, base
}
