package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/cutover/cutover/internal/deploy"
)

// newProgress picks the renderer: a terminal gets colored lines with
// elapsed time and pull/build progress on one updating line; anything else
// gets plain timestamped lines; json gets one JSON event per line.
func newProgress(w io.Writer, format string) deploy.Observer {
	if format == "json-events" {
		return &jsonProgress{enc: json.NewEncoder(w)}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" {
		return &ttyProgress{w: w, start: time.Now()}
	}
	return &plainProgress{w: w}
}

type plainProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *plainProgress) Event(e deploy.Event) {
	if e.Status == "progress" {
		return // too chatty for logs; the outcome line follows
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s\n", e.Time.UTC().Format(time.RFC3339), describe(e))
}

type jsonProgress struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (p *jsonProgress) Event(e deploy.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.enc.Encode(e)
}

type ttyProgress struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	pending bool // an updating line is on screen
}

const (
	ansiReset = "\x1b[0m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	clearLine = "\r\x1b[2K"
)

func (p *ttyProgress) Event(e deploy.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := fmt.Sprintf("%s[%5.1fs]%s ", ansiDim, time.Since(p.start).Seconds(), ansiReset)
	if e.Status == "progress" {
		msg := e.Message
		if e.Total > 0 {
			msg += fmt.Sprintf(" %d%%", e.Current*100/e.Total)
		}
		if len(msg) > 70 {
			msg = msg[:70]
		}
		fmt.Fprintf(p.w, "%s%s%s %s %s", clearLine, elapsed, e.Action, e.Target, msg)
		p.pending = true
		return
	}
	if p.pending {
		fmt.Fprint(p.w, clearLine)
		p.pending = false
	}
	color := ""
	switch e.Status {
	case "failed", "aborted", "warning":
		color = ansiRed
	case "done", "active":
		color = ansiGreen
	}
	if e.Kind == deploy.KindRelease {
		color += ansiBold
	}
	fmt.Fprintf(p.w, "%s%s%s%s\n", elapsed, color, describe(e), ansiReset)
}

// describe renders an event as one line of text.
func describe(e deploy.Event) string {
	var b strings.Builder
	switch e.Kind {
	case deploy.KindRelease:
		fmt.Fprintf(&b, "release %d of %s: %s", e.Release, e.Stack, e.Status)
	case deploy.KindMessage:
		fmt.Fprintf(&b, "%s: %s", e.Status, e.Message)
		return b.String()
	default:
		fmt.Fprintf(&b, "%-14s %s %s", e.Action, e.Target, e.Status)
		if e.Cause != "" && e.Status == "started" {
			fmt.Fprintf(&b, " (%s)", e.Cause)
		}
	}
	if e.Error != "" {
		first, _, _ := strings.Cut(e.Error, "\n")
		fmt.Fprintf(&b, ": %s", first)
	}
	return b.String()
}
