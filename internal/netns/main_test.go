package netns

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"
)

// The test binary doubles as the programs the tests run on hosts:
// a small HTTP server, and a client that fetches one URL.
const (
	serveEnv = "CUSTOS_NETNS_TEST_SERVE" // listen address; answers "hello from <addr>"
	getEnv   = "CUSTOS_NETNS_TEST_GET"   // URL; exit 0 on a 200 within a second
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		err := http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "hello from %s", addr)
		}))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if url := os.Getenv(getEnv); url != "" {
		resp, err := (&http.Client{Timeout: time.Second}).Get(url)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, resp.Status)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
