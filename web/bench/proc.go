//go:build !js

package bench

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// This file reads Linux's /proc: the processes of one browser, their CPU time and resident memory. On
// other systems the readers find nothing and the figures that depend on them stay 0.

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on every Linux platform Go
// supports).
const clockTick = 0.01

type procInfo struct {
	pid, ppid int
	cpu       float64 // seconds of user and system time, all threads
	kind      string  // Chromium's --type= (renderer, gpu-process, utility, zygote, …); "" for the browser
	subType   string  // a utility's --utility-sub-type= (network.mojom.NetworkService, …)
	// webUI marks the renderer of Chromium's own UI (--top-chrome-webui), which headless Chromium starts
	// too; its start-up overlaps the first seconds of a run and is not the page's work.
	webUI bool
}

// Process classes of the CPU columns.
const (
	ClassBrowser  = "browser"  // the browser process: the UI thread, blob and file reads, IPC
	ClassRenderer = "renderer" // renderers: the page, its Workers, V8 and Blink
	ClassNetwork  = "network"  // the network service (a utility process): sockets and request bodies
	ClassGPU      = "gpu"      // the GPU process (software compositing when headless)
	ClassOther    = "other"    // zygotes, the storage service, other utilities and the browser's UI renderer
)

// class is the CPU column p counts in.
func (p procInfo) class() string {
	switch {
	case p.kind == "":
		return ClassBrowser
	case p.kind == "renderer" && !p.webUI:
		return ClassRenderer
	case p.kind == "gpu-process":
		return ClassGPU
	case p.kind == "utility" && strings.Contains(p.subType, "NetworkService"):
		return ClassNetwork
	}
	return ClassOther
}

// readStat parses /proc/<pid>/stat: the parent and the CPU time.
func readStat(pid int) (ppid int, cpu float64, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold anything; the fields after the last ')' are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is the state (field 3); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return ppid, (ut + st) * clockTick, true
}

// processKind reads the Chromium process fields of pid's command line (see parseCmdline).
func processKind(pid int) procInfo {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return procInfo{}
	}
	return parseCmdline(b)
}

// parseCmdline reads a Chromium command line: its --type=, its --utility-sub-type= and whether it is the
// UI's renderer.
func parseCmdline(b []byte) procInfo {
	return procInfo{kind: flagValue(b, "--type="), subType: flagValue(b, "--utility-sub-type="),
		webUI: bytes.Contains(b, []byte("--top-chrome-webui"))}
}

// flagValue is the value of a --name= flag in a command line read from /proc: arguments separated by NULs,
// or by spaces where a zygote child rewrote its command line into one string.
func flagValue(cmdline []byte, name string) string {
	if _, v, ok := bytes.Cut(cmdline, []byte(name)); ok {
		if j := bytes.IndexAny(v, " \x00"); j >= 0 {
			v = v[:j]
		}
		return string(v)
	}
	return ""
}

// processTree returns root and all its descendants.
func processTree(root int) map[int]procInfo {
	all := map[int]procInfo{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, cpu, ok := readStat(pid); ok {
			all[pid] = procInfo{pid: pid, ppid: ppid, cpu: cpu}
		}
	}
	out := map[int]procInfo{}
	var walk func(int)
	walk = func(pid int) {
		p, ok := all[pid]
		if !ok {
			return
		}
		k := processKind(pid)
		p.kind, p.subType, p.webUI = k.kind, k.subType, k.webUI
		out[pid] = p
		for _, c := range all {
			if c.ppid == pid {
				if _, seen := out[c.pid]; !seen {
					walk(c.pid)
				}
			}
		}
	}
	walk(root)
	return out
}

// residentBytes is VmRSS of pid, 0 when unknown.
func residentBytes(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// busyCPU is the CPU time, in seconds, that every core of the machine spent outside idle and I/O wait,
// from the first line of /proc/stat; 0 when unknown.
func busyCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	// user nice system idle iowait irq softirq steal …: all but idle (4) and iowait (5). Guest time is
	// already counted in user.
	var busy float64
	for i, v := range f[1:min(len(f), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy * clockTick
}

// settle waits until root and its descendants use less than idle cores over a window, for at most limit,
// and says whether they did.
func settle(root int, idle float64, window, limit time.Duration) bool {
	total := func() (cpu float64) {
		for _, p := range processTree(root) {
			cpu += p.cpu
		}
		return cpu
	}
	for end := time.Now().Add(limit); time.Now().Before(end); {
		c0 := total()
		time.Sleep(window)
		if (total()-c0)/window.Seconds() < idle {
			return true
		}
	}
	return false
}

// threadCPU is the CPU time, in ms, that the threads of root and its descendants have run, summed by
// process class and thread name ("renderer main", "renderer DedicatedWorker"), from each thread's
// se.sum_exec_runtime in /proc/<pid>/task/<tid>/sched: nanosecond figures, where stat's are 10 ms
// ticks, too coarse for a start-up of a few hundred ms. Threads that exited are not counted.
func threadCPU(root int) map[string]float64 {
	out := map[string]float64{}
	for pid, p := range processTree(root) {
		dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			ms, ok := sumExecRuntime(filepath.Join(dir, e.Name(), "sched"))
			if !ok {
				continue
			}
			// A process's main thread keeps the executable's name (chromium, chrome): "main" says what it is.
			group := "main"
			if e.Name() != strconv.Itoa(pid) {
				name, _ := os.ReadFile(filepath.Join(dir, e.Name(), "comm"))
				group = threadGroup(strings.TrimSpace(string(name)))
			}
			out[threadKey(p.class(), group)] += ms
		}
	}
	return out
}

// threadKey is threadCPU's key for a thread group of a process class, and keyClass the class back.
func threadKey(class, group string) string { return class + " " + group }

func keyClass(key string) string {
	class, _, _ := strings.Cut(key, " ")
	return class
}

// threadGroup is a thread's name without the number Chromium gives each thread of a pool.
func threadGroup(comm string) string {
	return cmp.Or(strings.TrimRight(comm, "0123456789"), comm)
}

// sumExecRuntime reads se.sum_exec_runtime (ms) from a /proc sched file.
func sumExecRuntime(file string) (float64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "se.sum_exec_runtime"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimLeft(v, " :")), 64)
			return f, err == nil
		}
	}
	return 0, false
}
