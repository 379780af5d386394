package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"custos/internal/api"
	"custos/internal/config"
	"custos/internal/store"
)

// target says which running custos to talk to, and with which admin token.
type target struct {
	addr, configPath, token *string
}

// targetFlags adds the flags that say which running custos to talk to.
func targetFlags(fs *flag.FlagSet) target {
	return target{
		addr:       fs.String("addr", "", "`host:port` of the running custos (default: $CUSTOS_ADDR, the config's listen, or "+config.DefaultListen+")"),
		configPath: fs.String("config", "", "read the listen address and admin token from this configuration `file`"),
		token:      fs.String("token", "", "admin bearer `token` (default: $CUSTOS_ADMIN_TOKEN, or the config's admin token)"),
	}
}

// client is a resolved target.
type client struct {
	addr, token string
}

// resolve picks the address and token of the running custos.
func (t target) resolve() (client, error) {
	c := client{addr: *t.addr, token: *t.token}
	if *t.configPath != "" {
		cfg, err := config.Load(*t.configPath)
		if err != nil {
			return c, err
		}
		if c.addr == "" {
			c.addr = cfg.Listen
		}
		if c.token == "" {
			c.token = cfg.Admin.Token
		}
	}
	if c.addr == "" {
		c.addr = os.Getenv("CUSTOS_ADDR")
	}
	if c.addr == "" {
		c.addr = config.DefaultListen
	}
	if c.token == "" {
		c.token = os.Getenv("CUSTOS_ADMIN_TOKEN")
	}
	return c, nil
}

// requestTimeout bounds one request to custos. It is well above the
// longest a control change takes on the server — its wait for its turn
// (api.ChangeWait), then one journal write, which waits for a store file
// another process holds locked up to store.BusyTimeout — so the CLI hears
// what happened to every change it sends.
const requestTimeout = 2 * (api.ChangeWait + store.BusyTimeout)

// retryWithin is how long a change keeps being sent again while custos
// answers that it cannot take it yet (its store is still opening, or
// busy): each such answer says the change was not applied.
const retryWithin = 30 * time.Second

var apiClient = &http.Client{Timeout: requestTimeout}

// call sends a request to a running custos and decodes a JSON answer. A
// POST always carries a JSON object, as custos's operator routes require.
func (c client) call(method, path string, in, out any) error {
	if in == nil && method == http.MethodPost {
		in = struct{}{}
	}
	var payload []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		payload = b
	}
	giveUp := time.Now().Add(retryWithin)
	for {
		status, retryAfter, err := c.send(method, path, payload, out)
		if status != http.StatusServiceUnavailable || retryAfter <= 0 || time.Now().Add(retryAfter).After(giveUp) {
			return err
		}
		time.Sleep(retryAfter)
	}
}

// send makes one request; for a 503 that says when to try again, it
// returns that delay with the error.
func (c client) send(method, path string, payload []byte, out any) (int, time.Duration, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequest(method, "http://"+c.addr+path, body)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("X-Custos-Client", "cli")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, 0, fmt.Errorf("custos at %s did not answer within %v: what it did with the request is unknown; see `custos status`", c.addr, requestTimeout)
		}
		return 0, 0, fmt.Errorf("cannot reach custos at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, 0, err
	}
	if resp.StatusCode >= 300 {
		var retry time.Duration
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && resp.StatusCode == http.StatusServiceUnavailable && isNotApplied(answer) {
			retry = time.Duration(secs) * time.Second
		}
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Error.Message != "" {
			return resp.StatusCode, retry, fmt.Errorf("%s: %s", resp.Status, e.Error.Message)
		}
		return resp.StatusCode, retry, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	return resp.StatusCode, 0, json.Unmarshal(answer, out)
}

// isNotApplied reports whether an error answer says a control change was
// refused unapplied for now, so sending it again is safe.
func isNotApplied(answer []byte) bool {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(answer, &e)
	return e.Error.Code == "state_store_warming" || e.Error.Code == "store_busy"
}
