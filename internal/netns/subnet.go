package netns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// makeBridge sweeps dead runs' leftovers, picks a /24 of the test range
// that no address of this machine is in, and gives it to a new bridge. It
// holds a file lock throughout, so two runs starting at once neither pick
// the same subnet nor sweep each other.
func (n *Network) makeBridge() (subnet int, err error) {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "custos-netns.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return 0, err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	sweep()
	addrs, err := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	if err != nil {
		return 0, fmt.Errorf("listing addresses: %v", err)
	}
	start := os.Getpid() % 250
	for i := range 250 {
		candidate := 1 + (start+i)%250
		if strings.Contains(string(addrs), fmt.Sprintf(" %s%d.", subnetPrefix, candidate)) {
			continue
		}
		n.Gateway = fmt.Sprintf("%s%d.1", subnetPrefix, candidate)
		for _, s := range [][]string{
			{"link", "add", n.bridge, "type", "bridge"},
			{"addr", "add", n.Gateway + "/24", "dev", n.bridge},
			{"link", "set", n.bridge, "up"},
		} {
			if err := ip(s...); err != nil {
				return 0, err
			}
		}
		return candidate, nil
	}
	return 0, fmt.Errorf("every subnet of %s0.0/16 is in use", subnetPrefix)
}

// sweep removes namespaces and links left by runs whose process is gone
// (killed before their cleanup ran). A live run's objects are left alone.
func sweep() {
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			rest, ok := strings.CutPrefix(name, nsPrefix)
			tag, _, found := strings.Cut(rest, "-")
			if ok && found && !ownerAlive(tag) {
				killInside(name)
				_ = ip("netns", "delete", name)
			}
		}
	}
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(fields[1], ":"), "@")
		var tag string
		switch {
		case strings.HasPrefix(name, bridgePrefix):
			tag = name[len(bridgePrefix):]
		case strings.HasPrefix(name, linkPrefix) && len(name) > len(linkPrefix)+2:
			tag = name[len(linkPrefix) : len(name)-2]
		default:
			continue
		}
		if !ownerAlive(tag) {
			_ = ip("link", "delete", name)
		}
	}
}

// ownerAlive reports whether the process named in a tag (pid in hex, then
// two hex digits of sequence) still runs. A tag it cannot read is taken
// as alive: it may not be ours.
func ownerAlive(tag string) bool {
	if len(tag) < 3 {
		return true
	}
	pid, err := strconv.ParseUint(tag[:len(tag)-2], 16, 31)
	if _, seqErr := strconv.ParseUint(tag[len(tag)-2:], 16, 8); err != nil || seqErr != nil || pid == 0 {
		return true
	}
	err = syscall.Kill(int(pid), 0)
	return err == nil || err == syscall.EPERM
}
