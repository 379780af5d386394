// Package netns gives tests several hosts on one machine: each host is a
// network namespace with its own address, joined to the others by a veth
// pair on a bridge, so that a test can run real processes "on" a host, cut
// a host's link and bring it back. Only tests import it; it needs root and
// iproute2's `ip`.
//
// The bridge lives in the root namespace and holds the network's first
// address (Network.Gateway): the test process and whatever it runs outside
// the hosts on that address (a PostgreSQL server, say) reach every host
// directly, and the hosts reach them, with no extra hop to set up. Nothing routes the test
// subnet anywhere else: there is no forwarding and no NAT.
//
// Where namespaces cannot be made (not root, no `ip`), New falls back to
// 127.0.0.x addresses in the test's own namespace and says so in the test
// log; links cannot be cut there, and tests that need that skip.
package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Names of everything a Network makes start with these prefixes followed
// by its tag (the process id and a sequence number in hex), so that runs
// in parallel never collide and a later run can tell a dead run's
// leftovers from a live run's objects.
const (
	nsPrefix     = "custos-" // namespaces: custos-<tag>-<host>
	bridgePrefix = "cnb"     // the bridge: cnb<tag>
	linkPrefix   = "cnv"     // a host's link on the bridge: cnv<tag><index>
	peerPrefix   = "cnp"     // its other end before it moves into the host
)

// subnetPrefix is the test networks' 10.213.N.0/24 range: private, and
// unlikely to be in use on a developer's machine or a CI runner.
const subnetPrefix = "10.213."

var sequence atomic.Uint32

// Network is a set of hosts on one bridge.
type Network struct {
	// Gateway is the bridge's address in the root namespace: where the
	// hosts reach the test process.
	Gateway  string
	tag      string
	bridge   string
	hosts    map[string]*Host
	isolated bool
}

// Host is one network namespace with its own address.
type Host struct {
	// Name is the name New was given.
	Name string
	// Addr is the host's IPv4 address (no port).
	Addr string
	ns   string // namespace name; "" in the fallback
	link string // the root-namespace end of its veth pair

	mu   sync.Mutex
	cmds []*exec.Cmd // every command made for the host, killed at cleanup
}

// New makes a network with one host per name, and removes it all when
// the test ends, whether it passed or not. Leftovers of earlier runs that
// died before their cleanup are removed first.
func New(t testing.TB, names ...string) *Network {
	t.Helper()
	n := &Network{tag: fmt.Sprintf("%x%02x", os.Getpid(), sequence.Add(1)%256), hosts: map[string]*Host{}}
	if err := canMakeNamespaces(nsPrefix + n.tag + "-probe"); err != nil {
		t.Logf("netns: cannot make network namespaces (%v); falling back to 127.0.0.x addresses in the test's namespace, where links cannot be cut", err)
		for i, name := range names {
			n.hosts[name] = &Host{Name: name, Addr: fmt.Sprintf("127.0.0.%d", 10+i)}
		}
		n.Gateway = "127.0.0.1"
		return n
	}
	n.isolated = true
	n.bridge = bridgePrefix + n.tag
	t.Cleanup(n.remove)
	subnet, err := n.makeBridge()
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	for i, name := range names {
		h := &Host{Name: name, Addr: fmt.Sprintf("%s%d.%d", subnetPrefix, subnet, 10+i),
			ns: nsPrefix + n.tag + "-" + name, link: fmt.Sprintf("%s%s%02x", linkPrefix, n.tag, i)}
		n.hosts[name] = h // before it exists, so that cleanup removes a half-made host
		if err := n.addHost(h, fmt.Sprintf("%s%s%02x", peerPrefix, n.tag, i)); err != nil {
			t.Fatalf("netns: host %s: %v", name, err)
		}
	}
	t.Logf("netns: hosts %v on %s (%s%d.0/24, gateway %s)", names, n.bridge, subnetPrefix, subnet, n.Gateway)
	return n
}

// Isolated reports whether the hosts are real namespaces (false in the
// 127.0.0.x fallback).
func (n *Network) Isolated() bool { return n.isolated }

// Host returns the host of that name; it fails the test if there is none.
func (n *Network) Host(t testing.TB, name string) *Host {
	t.Helper()
	h, ok := n.hosts[name]
	if !ok {
		t.Fatalf("netns: no host %q", name)
	}
	return h
}

// Command is exec.CommandContext run inside the host's namespace. `ip
// netns exec` enters the namespace and then executes the command in its
// own place, so the Process is the command itself: signals sent to it
// (SIGKILL, SIGSTOP) reach the program, not a wrapper.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if h.ns == "" {
		cmd = exec.CommandContext(ctx, name, args...)
	} else {
		cmd = exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.ns, name}, args...)...)
	}
	h.mu.Lock()
	h.cmds = append(h.cmds, cmd)
	h.mu.Unlock()
	return cmd
}

// killCommands kills every command made for the host that was started.
// `ip netns pids` alone would miss one started a moment before cleanup
// that has not entered the namespace yet, and it would then run on in a
// namespace nobody can name.
func (h *Host) killCommands() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cmd := range h.cmds {
		if cmd.Process != nil {
			_ = cmd.Process.Kill() // ErrProcessDone for one already waited for
		}
	}
}

// Cut takes the host's link down: its packets go nowhere, as when a cable
// is pulled; connections to and from it time out rather than fail at once.
func (h *Host) Cut(t testing.TB) {
	t.Helper()
	h.setLink(t, "down")
}

// Restore brings the host's link back up.
func (h *Host) Restore(t testing.TB) {
	t.Helper()
	h.setLink(t, "up")
}

func (h *Host) setLink(t testing.TB, state string) {
	t.Helper()
	if h.ns == "" {
		t.Skip("netns: cutting a link needs network namespaces, which this machine cannot make")
	}
	if err := ip("link", "set", h.link, state); err != nil {
		t.Fatalf("netns: host %s link %s: %v", h.Name, state, err)
	}
}

// canMakeNamespaces says why namespaces cannot be made, or nil: it makes
// one named probe and removes it (root in a container without the
// capability to make namespaces cannot).
func canMakeNamespaces(probe string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return err
	}
	if err := ip("netns", "add", probe); err != nil {
		return err
	}
	return ip("netns", "delete", probe)
}

func (n *Network) addHost(h *Host, peer string) error {
	steps := [][]string{
		{"netns", "add", h.ns},
		{"link", "add", h.link, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", h.ns},
		{"-n", h.ns, "link", "set", peer, "name", "eth0"},
		{"-n", h.ns, "addr", "add", h.Addr + "/24", "dev", "eth0"},
		{"-n", h.ns, "link", "set", "eth0", "up"},
		{"-n", h.ns, "link", "set", "lo", "up"},
		{"link", "set", h.link, "master", n.bridge},
		{"link", "set", h.link, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes the hosts (killing what still runs in them) and the
// bridge. Deleting a namespace deletes the veth pair with it.
func (n *Network) remove() {
	for _, h := range n.hosts {
		h.killCommands()
		killInside(h.ns)
		_ = ip("netns", "delete", h.ns)
	}
	_ = ip("link", "delete", n.bridge)
}

// killInside kills what still runs in namespace ns: processes a test
// started on one of its own hosts and did not stop, which would keep the
// namespace alive after its name is gone.
func killInside(ns string) {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}

// ip runs iproute2's ip with a deadline, returning its output in the error.
func ip(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
