package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"time"
)

// Reference proxies: the bench binary, run with one of these flags, a
// listen address and a backend URL, serves a proxy instead of
// benchmarking, in a process of its own as custos is.
const (
	// reverseProxyFlag: httputil.ReverseProxy with its defaults.
	reverseProxyFlag = "-serve-reverse-proxy"
	// tcpRelayFlag: bytes copied between two sockets, no HTTP at all; what
	// any proxy in its own process costs at least.
	tcpRelayFlag = "-serve-tcp-relay"
)

// serveReverseProxy runs until killed: listen address, backend URL.
func serveReverseProxy(listen, backend string) error {
	u, err := url.Parse(backend)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	return http.Serve(ln, httputil.NewSingleHostReverseProxy(u))
}

// serveTCPRelay runs until killed: each accepted connection is relayed to
// a new connection to the backend.
func serveTCPRelay(listen, backend string) error {
	u, err := url.Parse(backend)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	for {
		client, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer client.Close()
			upstream, err := net.Dial("tcp", u.Host)
			if err != nil {
				return
			}
			defer upstream.Close()
			go func() { _, _ = io.Copy(upstream, client) }()
			_, _ = io.Copy(client, upstream)
		}()
	}
}

// referenceProxy is a reference proxy process.
type referenceProxy struct {
	url string
	cmd *exec.Cmd
}

// startReferenceProxy runs this binary as the proxy flag names, in front of backend.
func startReferenceProxy(flag, backend string) (*referenceProxy, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &referenceProxy{url: "http://" + addr, cmd: exec.Command(self, flag, addr, backend)}
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if resp, err := http.Get(p.url + "/health"); err == nil {
			resp.Body.Close()
			return p, nil
		}
	}
	p.stop()
	return nil, fmt.Errorf("the %s proxy did not answer within 10s", flag)
}

func (p *referenceProxy) stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
