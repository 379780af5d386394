package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"custos/internal/config"
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

var apiClient = &http.Client{Timeout: 10 * time.Second}

// call sends a request to a running custos and decodes a JSON answer.
func (c client) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+c.addr+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Custos-Client", "cli")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach custos at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Error.Message)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	return json.Unmarshal(answer, out)
}
