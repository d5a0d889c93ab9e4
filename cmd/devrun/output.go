package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// prefixed returns a writer that copies lines to stderr behind "[name] ".
func prefixed(name string) io.Writer {
	r, w := io.Pipe()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			fmt.Fprintf(os.Stderr, "[%s] %s\n", name, sc.Text())
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return w
}
