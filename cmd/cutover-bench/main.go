// Command cutover-bench runs cutover's benchmarks against the local Docker
// engine and prints their figures. Speed targets live here, as printed
// figures, not in timed tests.
//
//	cutover-bench rolling [-runs N]
//	cutover-bench proxy [-duration D] [-connections N]
//	cutover-bench zero-downtime [-switches N] [-rollbacks N] [-rolling N]
//	cutover-bench trigger [-pushes N] [-acks N] [-debounce D]
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// benchmark runs with its own arguments and prints its figures to out.
type benchmark struct {
	run   func(ctx context.Context, out io.Writer, args []string) error
	short string
}

var benchmarks = map[string]benchmark{
	"rolling":       {runRolling, "time a 10-replica, batch-2, start-first rolling release and its overhead"},
	"proxy":         {runProxy, "throughput and latency of the built-in proxy against direct and nginx (wrk)"},
	"dns":           {runDNS, "DNS router: switch-to-answer delay (built-in server, RFC 2136 to BIND) and weighted answer shares"},
	"zero-downtime": {runZeroDowntime, "count failed requests through the proxy while releases switch, and time the switches"},
	"trigger":       {runTrigger, "push to a real registry → deploy start through the daemon's hooks; the hooks' answer time"},
}

func main() { os.Exit(run()) }

func run() int {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		usage(os.Stderr)
		return 2
	}
	b, ok := benchmarks[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "cutover-bench: unknown benchmark %q\n", os.Args[1])
		usage(os.Stderr)
		return 2
	}

	// The first Ctrl-C cancels the benchmark, which then cleans up; a
	// second one kills the process at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		fmt.Fprintln(os.Stderr, "cutover-bench: interrupted, cleaning up (interrupt again to quit without cleaning up)")
		cancel()
	}()

	if err := b.run(ctx, os.Stdout, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "cutover-bench %s: %v\n", os.Args[1], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cutover-bench BENCHMARK [flags]   (BENCHMARK -h lists its flags)")
	fmt.Fprintln(w, "benchmarks:")
	names := make([]string, 0, len(benchmarks))
	for name := range benchmarks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, benchmarks[name].short)
	}
}
