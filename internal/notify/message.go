package notify

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Title is the one-line summary of an event, used as the Slack
// notification text and the email subject:
// "hello: release 3 failed after 6.1s (rolling)".
func Title(e Event) string {
	var what string
	switch e.Kind {
	case KindStart:
		what = "started"
	case KindSuccess:
		what = "succeeded"
	case KindFailure:
		what = "failed"
	case KindRollback:
		what = "was rolled back"
	default:
		what = e.Kind
	}
	s := fmt.Sprintf("%s: release %d %s", e.Stack, e.Release, what)
	if e.Duration > 0 && e.Kind != KindStart {
		if e.Kind == KindSuccess {
			s += " in " + roundDuration(e.Duration).String()
		} else {
			s += " after " + roundDuration(e.Duration).String()
		}
	}
	if e.Strategy != "" {
		s += " (" + e.Strategy + ")"
	}
	return oneLine(s)
}

// field is one labelled value of a message.
type field struct{ label, value string }

// fields returns the event's details in display order, leaving out what is
// empty. Images and the reason are separate (they may span lines).
func fields(e Event) []field {
	var fs []field
	add := func(label, value string) {
		if value != "" {
			fs = append(fs, field{label, value})
		}
	}
	add("Stack", e.Stack)
	add("Release", fmt.Sprint(e.Release))
	add("Strategy", e.Strategy)
	add("Trigger", e.Trigger)
	if e.Duration > 0 {
		add("Duration", roundDuration(e.Duration).String())
	}
	return fs
}

// imageLines returns "service image" pairs sorted by service.
func imageLines(e Event) [][2]string {
	var out [][2]string
	for _, svc := range slices.Sorted(maps.Keys(e.Images)) {
		out = append(out, [2]string{svc, e.Images[svc]})
	}
	return out
}

// formatTime is how messages show the event's time.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// Text is the plain-text body of an event (the email body):
//
//	Stack:     hello
//	Release:   3
//	…
//	Images:
//	  web     myorg/web:1.4.3
//	Reason:
//	  container hello-web-1 is unhealthy
func Text(e Event) string {
	var b strings.Builder
	b.WriteString(Title(e))
	b.WriteString("\n\n")
	for _, f := range fields(e) {
		fmt.Fprintf(&b, "%-10s %s\n", f.label+":", f.value)
	}
	if !e.Time.IsZero() {
		fmt.Fprintf(&b, "%-10s %s\n", "Time:", formatTime(e.Time))
	}
	if imgs := imageLines(e); len(imgs) > 0 {
		width := 0
		for _, l := range imgs {
			width = max(width, len(l[0]))
		}
		b.WriteString("Images:\n")
		for _, l := range imgs {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, l[0], l[1])
		}
	}
	if e.Reason != "" {
		b.WriteString("Reason:\n")
		for line := range strings.Lines(strings.TrimRight(e.Reason, "\n")) {
			b.WriteString("  " + strings.TrimRight(line, "\r\n") + "\n")
		}
	}
	b.WriteString("\n-- \ncutover\n")
	return b.String()
}

// oneLine replaces line breaks (for subjects and titles).
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")), " ")
}
