package memory

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// waitLimit bounds every wait on a process; generous because the machines
// running the tests are shared and noisy.
const waitLimit = 20 * time.Second

// helperEnv makes the test binary the leader of TestGroupRSSOfARealGroup's
// process group instead of running tests.
const helperEnv = "CUSTOS_MEMORY_GROUP_HELPER"

// helperAlloc is what the helper allocates and touches on each request.
const helperAlloc = 64 << 20

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		runGroupHelper()
		return
	}
	os.Exit(m.Run())
}

// held keeps the helper's allocations reachable, so they stay resident.
var held [][]byte

// runGroupHelper starts a child, which joins its process group, prints the
// child's pid, then for each line read allocates helperAlloc bytes, writes
// to every page of them so they are resident, and prints "allocated". It
// ends with its standard input.
func runGroupHelper() {
	child := exec.Command("sleep", strconv.Itoa(int(3*waitLimit/time.Second)))
	if err := child.Start(); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(child.Process.Pid)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		b := make([]byte, helperAlloc)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
		fmt.Println("allocated")
	}
	child.Process.Kill()
	child.Wait()
}

// A real process group, as a backend runs in one: its leader and the
// leader's child are both counted, and the sum grows by what one of them
// allocates.
func TestGroupRSSOfARealGroup(t *testing.T) {
	leader := exec.Command(os.Args[0], "-test.run=^$")
	leader.Env = append(os.Environ(), helperEnv+"=1")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := leader.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := leader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := leader.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		exited := make(chan struct{})
		go func() {
			leader.Wait()
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(waitLimit):
			t.Errorf("the helper (pid %d) had not exited %v after SIGKILL", pgid, waitLimit)
		}
	})
	// Buffered beyond the few lines the helper prints, so the reader never
	// blocks once the test stops listening.
	lines := make(chan string, 16)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the helper exited before printing %s", what)
			}
			return line
		case <-time.After(waitLimit):
			t.Fatalf("the helper printed no %s within %v", what, waitLimit)
		}
		return ""
	}
	line := next("its child's pid")
	childPID, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("the helper printed %q instead of its child's pid", line)
	}

	members, err := groupMembers("/proc", pgid, int64(os.Getpagesize()))
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 2 || members[pgid] <= 0 || members[childPID] <= 0 {
		t.Fatalf("group %d has the resident sizes %v, want the leader %d and its child %d, both above 0",
			pgid, members, pgid, childPID)
	}
	before, err := GroupRSS(pgid)
	if err != nil {
		t.Fatal(err)
	}
	if child := members[childPID]; before <= child {
		t.Errorf("GroupRSS = %d, no more than the child's %d alone", before, child)
	}

	if _, err := fmt.Fprintln(stdin, "allocate"); err != nil {
		t.Fatal(err)
	}
	if line := next(`"allocated"`); line != "allocated" {
		t.Fatalf("the helper answered %q", line)
	}
	after, err := GroupRSS(pgid)
	if err != nil {
		t.Fatal(err)
	}
	// The leader's runtime may hand a little memory back meanwhile; most
	// of the allocation must show.
	if grew := after - before; grew < helperAlloc*7/8 {
		t.Errorf("GroupRSS grew by %s (from %s to %s) when the leader allocated and touched %s",
			FormatBytes(grew), FormatBytes(before), FormatBytes(after), FormatBytes(helperAlloc))
	}
}

// writeProc writes a fake proc(5) tree under root: each pid's stat and,
// where given, statm.
func writeProc(t *testing.T, root string, procs map[string][2]string) {
	t.Helper()
	for pid, files := range procs {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"stat", "statm"} {
			if files[i] == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(files[i]), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestGroupMembersOfAFakeProc(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, map[string][2]string{
		"1":   {"1 (init) S 0 1 1 0 -1 4194560 0 0\n", "5000 3000 1000 10 0 800 0\n"},
		"100": {"100 (llama-server) S 1 100 100 0 -1 4194304 0 0\n", "900000 250000 240000 5 0 9000 0\n"},
		// A command name with spaces and parentheses, in the group.
		"101": {"101 (worker ) 1 2) R 100 100 100 0 -1 0 0 0\n", "2000 500 100 5 0 300 0\n"},
		// Gone before its statm was read.
		"102": {"102 (exiting) S 100 100 100 0 -1 0 0 0\n", ""},
		"200": {"200 (other) S 1 200 200 0 -1 0 0 0\n", "4000 4000 0 1 0 100 0\n"},
		// Not a process, whatever it holds.
		"self": {"999 (self) S 1 100 100 0 -1 0 0 0\n", "9999 9999 0 0 0 0 0\n"},
	})
	if err := os.WriteFile(filepath.Join(root, "meminfo"), []byte(meminfoSample), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := groupMembers(root, 100, 4096)
	if want := map[int]int64{100: 250000 * 4096, 101: 500 * 4096}; err != nil || !maps.Equal(got, want) {
		t.Errorf("group 100: %v, %v; want %v", got, err, want)
	}
	if got, err := groupMembers(root, 1, 4096); err != nil || !maps.Equal(got, map[int]int64{1: 3000 * 4096}) {
		t.Errorf("group 1: %v, %v", got, err)
	}
	if got, err := groupMembers(root, 999, 4096); !errors.Is(err, ErrNoProcess) {
		t.Errorf("group 999, which has no process: %v, %v; want ErrNoProcess", got, err)
	}

	// A stat that cannot be read as one is an error, not a process skipped.
	writeProc(t, root, map[string][2]string{"300": {"300 no command name\n", "1 1 0 0 0 0 0\n"}})
	if got, err := groupMembers(root, 100, 4096); err == nil {
		t.Errorf("with a malformed stat: %v, want an error", got)
	}
}

// No process is in group -1: process group ids are not negative.
func TestGroupRSSOfNoGroup(t *testing.T) {
	if got, err := GroupRSS(-1); !errors.Is(err, ErrNoProcess) {
		t.Errorf("GroupRSS(-1) = %d, %v; want ErrNoProcess", got, err)
	}
}

func TestParseStatPgrp(t *testing.T) {
	cases := []struct {
		stat string
		want int
	}{
		// A real /proc/self/stat of cat.
		{"15109 (cat) R 15107 15107 10724 0 -1 4194304 100 0 1 0 0 0 0 0 20 0 1 0 983060 3133440 405 " +
			"18446744073709551615 94112491966464 94112491986345 140731418407584 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", 15107},
		{"7 (a (b) c) S 1 42 42", 42},
		{"8 () S 1 43 43", 43},
		{"9 (x) S 1 44", 44},
	}
	for _, c := range cases {
		if got, err := parseStatPgrp(c.stat); err != nil || got != c.want {
			t.Errorf("parseStatPgrp(%q) = %d, %v; want %d", c.stat, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "15109 cat R 1 2 3", "15109 (cat) R 15107", "15109 (cat) R 1 x 3"} {
		if got, err := parseStatPgrp(bad); err == nil {
			t.Errorf("parseStatPgrp(%q) = %d, want an error", bad, got)
		}
	}
}

func TestParseStatmResident(t *testing.T) {
	// A real /proc/self/statm of cat.
	if got, err := parseStatmResident("765 427 399 5 0 123 0\n"); err != nil || got != 427 {
		t.Errorf("parseStatmResident = %d, %v; want 427", got, err)
	}
	for _, bad := range []string{"", "765", "765 many 399", "765 -1 399"} {
		if got, err := parseStatmResident(bad); err == nil {
			t.Errorf("parseStatmResident(%q) = %d, want an error", bad, got)
		}
	}
}
