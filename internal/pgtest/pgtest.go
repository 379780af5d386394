// Package pgtest runs a real PostgreSQL server for tests: Debian's
// binaries, a fresh data folder under the test's temporary folder, owned
// by an unprivileged user because PostgreSQL refuses to run as root, and a
// free loopback port. A test can stop, kill and restart it on the same
// port and data, as an operator's restart or a crash would.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"custos/internal/freeport"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 30 * time.Second

// unprivileged is the user the server runs as when the tests run as root.
const unprivileged = 65534 // nobody

// Server is one PostgreSQL server of a test.
type Server struct {
	t       testing.TB
	bin     string // folder of initdb and postgres
	host    string // the address it listens on
	dir     string // the server's own folder: data, socket, log
	port    int
	cred    *syscall.Credential
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

// Options choose where the server listens.
type Options struct {
	// Host is the address the server listens on (default 127.0.0.1): an
	// address of the test's own network namespaces lets custos processes
	// in them reach it. Connections from any address are trusted: the
	// server lives as long as the test.
	Host string
}

// Start initializes a data folder and starts a server on it on
// 127.0.0.1, stopped when the test ends. It fails the test, never skips
// it, when PostgreSQL is not installed: `make test` installs it.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := launch(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	t.Cleanup(func() { s.Kill() })
	return s
}

// launch initializes a data folder under base and starts a server on it.
func launch(base string, o Options) (*Server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	s := &Server{bin: bin, host: o.Host}
	if s.dir, s.cred, err = ownedFolder(base); err != nil {
		return nil, err
	}
	s.logPath = filepath.Join(s.dir, "postgres.log")
	if err := s.initdb(); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if s.port, err = serverPorts.Take(s.host); err != nil {
			return nil, err
		}
		if err = s.start(); err == nil {
			return s, nil
		} else if attempt == 2 {
			return nil, err
		}
	}
}

// DSN is a connection string for the server's database "postgres", as
// the superuser custos, over TCP on the loopback port.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://custos@%s/postgres?sslmode=disable", net.JoinHostPort(s.host, strconv.Itoa(s.port)))
}

// Port is the server's TCP port; it is the same after a
// restart.
func (s *Server) Port() int { return s.port }

// CreateDatabase creates an empty database and returns its DSN, so tests
// of one server do not see each other's tables.
func (s *Server) CreateDatabase(name string) string {
	s.t.Helper()
	dsn, err := s.createDatabase(name)
	if err != nil {
		s.t.Fatal(err)
	}
	return dsn
}

func (s *Server) createDatabase(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		return "", fmt.Errorf("connecting to create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return strings.Replace(s.DSN(), "/postgres?", "/"+name+"?", 1), nil
}

// Stop shuts the server down and waits for it to exit. SIGINT is
// PostgreSQL's fast shutdown: it ends the sessions of connected clients,
// as a restart by an operator does (SIGTERM would wait for every client
// to leave).
func (s *Server) Stop() { s.signal(syscall.SIGINT) }

// Terminate sends SIGTERM, PostgreSQL's smart shutdown, and waits for the
// server to exit: it exits once its clients have disconnected.
func (s *Server) Terminate() { s.signal(syscall.SIGTERM) }

// Kill kills the server with SIGKILL, a crash, and waits for it to exit.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Restart starts the server again on the same port and data after Stop
// or Kill; it waits until the server accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	// After a crash, the old server's processes take a moment to notice
	// and release the data folder: a start that finds them retries.
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("restarting PostgreSQL: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		<-exited
		if s.t != nil {
			s.t.Errorf("PostgreSQL did not exit within %v of %v; killed", startTimeout, sig)
		}
	}
	if sig == syscall.SIGKILL {
		// Its backends exit when they notice the postmaster is gone; kill
		// them too, so nothing of a test outlives it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (s *Server) initdb() error {
	data := filepath.Join(s.dir, "data")
	cmd := exec.Command(filepath.Join(s.bin, "initdb"), "-D", data, "-U", "custos", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	s.prepare(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if s.host == "127.0.0.1" {
		return nil
	}
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = hba.WriteString("host all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n")
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Server) start() error {
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses="+s.host,
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=60", "-c", "shared_buffers=16MB",
		"-c", "dynamic_shared_memory_type=mmap")
	s.prepare(cmd)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr.Setpgid = true
	// A test binary that dies without its cleanups (a panic, a timeout)
	// takes the server with it: the kernel kills the server when the thread
	// that started it ends, and that thread is kept, locked, until the
	// server exits.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN())
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-exited:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("postgres exited while starting: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.signal(syscall.SIGKILL)
			return fmt.Errorf("postgres did not accept connections within %v: %v\n%s", startTimeout, err, s.logTail())
		}
	}
}

// prepare runs cmd as the server's user, in its folder, in the C locale.
func (s *Server) prepare(cmd *exec.Cmd) {
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + s.dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// ownedFolder makes the server's folder under base. Run as root, the
// folder belongs to the unprivileged user, and the folders above it let
// that user through.
func ownedFolder(base string) (string, *syscall.Credential, error) {
	dir := filepath.Join(base, "pg")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", nil, err
	}
	if os.Geteuid() != 0 {
		return dir, nil, nil
	}
	for p := base; p != "/" && p != "."; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return "", nil, err
		}
		if info.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, info.Mode().Perm()|0o011); err != nil {
				return "", nil, err
			}
		}
	}
	if err := os.Chown(dir, unprivileged, unprivileged); err != nil {
		return "", nil, err
	}
	return dir, &syscall.Credential{Uid: unprivileged, Gid: unprivileged}, nil
}

// findBinaries finds the folder holding initdb and postgres: on the PATH,
// else Debian's /usr/lib/postgresql/<version>/bin, the newest version.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(matches, func(a, b string) int { return version(b) - version(a) })
	for _, m := range matches {
		dir := filepath.Dir(m)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("PostgreSQL is not installed (no initdb on the PATH or in /usr/lib/postgresql/*/bin): " +
		"`make test` installs Debian's postgresql package, or run apt-get install postgresql")
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// serverPorts hands out the servers' ports, never one twice in a test binary (see freeport).
var serverPorts freeport.Pool
