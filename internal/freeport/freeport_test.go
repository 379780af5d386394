package freeport

import (
	"errors"
	"net"
	"strconv"
	"testing"
)

// scripted is a kernel that names the given ports in turn.
func scripted(ports ...int) func(string) (int, error) {
	return func(string) (int, error) {
		if len(ports) == 0 {
			return 0, errors.New("script ended")
		}
		port := ports[0]
		ports = ports[1:]
		return port, nil
	}
}

// The kernel may name a port again before the server it went to has bound it; the pool asks again.
func TestTakeNeverHandsOutAPortTwice(t *testing.T) {
	p := &Pool{Listen: scripted(5000, 5000, 5001)}
	first, err := p.Take("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.Take("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if first != 5000 || second != 5001 {
		t.Fatalf("took %d then %d, want 5000 then 5001", first, second)
	}
}

func TestReleasedPortIsHandedOutAgain(t *testing.T) {
	p := &Pool{Listen: scripted(5000, 5000)}
	first, _ := p.Take("127.0.0.1")
	p.Release(first)
	if again, err := p.Take("127.0.0.1"); err != nil || again != first {
		t.Fatalf("after release: %d, %v; want %d", again, err, first)
	}
}

func TestTakeGivesUpWhenTheKernelKeepsNamingHeldPorts(t *testing.T) {
	repeats := make([]int, attempts+1)
	for i := range repeats {
		repeats[i] = 5000
	}
	p := &Pool{Listen: scripted(repeats...)}
	if _, err := p.Take("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if port, err := p.Take("127.0.0.1"); err == nil {
		t.Fatalf("took %d, a port already handed out", port)
	}
}

func TestTakeReportsTheKernelsError(t *testing.T) {
	p := &Pool{}
	if _, err := p.Take("192.0.2.1"); err == nil {
		t.Fatal("took a port on an address this machine does not have")
	}
}

// On the real kernel, the ports handed out are distinct and free to bind.
func TestKernelPortsAreDistinctAndBindable(t *testing.T) {
	var p Pool
	seen := map[int]bool{}
	for range 200 {
		port, err := p.Take("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d handed out but not bindable: %v", port, err)
		}
		l.Close()
	}
}
