package reports

// HoldParallelSlot takes the parallel slot until the returned func is called, so a
// test can run a report the sequential way.
func HoldParallelSlot() func() {
	parallelSlot <- struct{}{}
	return func() { <-parallelSlot }
}
