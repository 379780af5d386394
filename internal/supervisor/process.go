package supervisor

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"custos/internal/freeport"
)

// maxLineBytes bounds one kept output line; the rest of a longer line is
// dropped but still read, so the backend never blocks on a full pipe.
const maxLineBytes = 8 << 10

// process is one running backend: the leader of its own process group.
type process struct {
	cmd *exec.Cmd
	pid int
	// exited receives cmd.Wait's result once, as soon as the leader exits.
	exited chan error
	// outputDone is closed when both output streams reached end of file,
	// that is when every process of the group has closed them.
	outputDone chan struct{}
}

// backendPorts hands out the ports of this custos's backend processes, so two backends starting at once are
// never given one port and the probes of one never reach the other. A program outside custos may still take
// a port before the backend binds it; the backend then fails to bind, exits, and the next start picks
// another port.
var backendPorts = &freeport.Pool{}

// startProcess runs argv in its own process group, so a stop or kill reaches
// the backend's children too, with the parent-death signal set so the
// backend dies with custos even when custos is SIGKILLed. Each line of its
// stdout and stderr is passed to onLine.
//
// The pipes are created here rather than by os/exec so that cmd.Wait returns
// as soon as the leader exits: os/exec would also wait for the copying
// goroutines, that is for every child still holding the pipe, and a crash
// would go unnoticed while an orphan lives.
//
// Pdeathsig fires when the OS thread that forked dies, not the process; Go
// only ends threads of goroutines that exit while locked to their thread,
// which the run loop never does.
func startProcess(argv, env []string, onLine func(stream, line string)) (*process, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	// The child has its own copies of the write ends; ours must go, or the
	// readers would never see end of file.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan error, 1), outputDone: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Go(func() { readLines(outR, "stdout", onLine) })
	readers.Go(func() { readLines(errR, "stderr", onLine) })
	go func() {
		readers.Wait()
		close(p.outputDone)
	}()
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// readLines passes every line of r to onLine until end of file, then closes r.
func readLines(r *os.File, stream string, onLine func(stream, line string)) {
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return
		}
		line := string(chunk)
		for isPrefix {
			if _, isPrefix, err = br.ReadLine(); err != nil {
				break
			}
		}
		onLine(stream, line)
		if err != nil {
			return
		}
	}
}

// signalGroup sends sig to every process of the backend's group. A group
// that is already gone is not an error.
func (p *process) signalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// exitReason is the text of LastExit for a cmd.Wait result:
// "exit status 1", "signal: killed", or "exit status 0".
func exitReason(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
