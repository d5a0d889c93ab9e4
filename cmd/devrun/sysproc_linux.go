package main

import "syscall"

// childAttrs makes each child die with devrun, even if devrun itself is killed.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
