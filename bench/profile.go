package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"
)

// Profile is one pprof file written during the run and its top functions.
type Profile struct {
	Name string `json:"name"`
	File string `json:"file"`
	// Top are `go tool pprof -top` lines: flat, flat%, sum%, cum, cum%, function.
	Top   []string `json:"top"`
	Error string   `json:"error,omitempty"`
}

// profiler writes CPU and heap profiles of this process (worker, API, fakes and load
// generator together) into dir.
type profiler struct {
	dir   string
	log   *slog.Logger
	files []Profile
}

// cpu starts a CPU profile named name and returns the function that stops it.
func (p *profiler) cpu(name string) func() {
	path := filepath.Join(p.dir, name+".cpu.pprof")
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		p.log.Warn("CPU profile not taken", "name", name, "error", err)
		if f != nil {
			_ = f.Close()
		}
		p.files = append(p.files, Profile{Name: name + " (cpu)", File: path, Error: err.Error()})
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		p.files = append(p.files, Profile{Name: name + " (cpu)", File: path})
	}
}

// heap writes the in-use heap profile named name.
func (p *profiler) heap(name string) {
	path := filepath.Join(p.dir, name+".heap.pprof")
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		_ = f.Close()
	}
	pr := Profile{Name: name + " (heap in use)", File: path}
	if err != nil {
		pr.Error = err.Error()
	}
	p.files = append(p.files, pr)
}

// summarize fills each profile's top functions with `go tool pprof -top`.
func (p *profiler) summarize(ctx context.Context, n int) []Profile {
	for i := range p.files {
		pr := &p.files[i]
		if pr.Error != "" {
			continue
		}
		args := []string{"tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", n)}
		if strings.HasSuffix(pr.File, ".heap.pprof") {
			args = append(args, "-sample_index=inuse_space")
		}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		out, err := exec.CommandContext(cctx, "go", append(args, pr.File)...).Output()
		cancel()
		if err != nil {
			pr.Error = "go tool pprof: " + err.Error()
			continue
		}
		pr.Top = topLines(string(out), n)
	}
	return p.files
}

// topLines keeps the table rows of `go tool pprof -top` output (after its "flat"
// header), at most n.
func topLines(out string, n int) []string {
	var rows []string
	inTable := false
	for _, line := range strings.Split(out, "\n") {
		if !inTable {
			inTable = strings.Contains(line, "flat%") && strings.Contains(line, "cum%")
			continue
		}
		if strings.TrimSpace(line) == "" || len(rows) >= n {
			continue
		}
		rows = append(rows, strings.TrimSpace(line))
	}
	return rows
}
