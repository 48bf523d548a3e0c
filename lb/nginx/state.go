package nginx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cutover/cutover/lb"
)

// stateMarker starts the first line of every route file: the route's state
// as JSON, so the files alone tell what nginx routes (a restarted cutover
// reads them back) and one rename updates configuration and state at once.
const stateMarker = "# cutover-state: "

// routeState is what one route file says.
type routeState struct {
	Route lb.Route `json:"route"`
	// Generation identifies the file's content among every route file in
	// the directory; each write takes a number above all of theirs.
	// nginx answers with it in X-Cutover-Generation.
	Generation uint64 `json:"generation"`
	// Targets receive requests in turn (SetTargets); unused with Split.
	Targets []string `json:"targets,omitempty"`
	// Split is a canary split (SetSplit), mapped to upstream weights.
	Split *lb.Split `json:"split,omitempty"`
}

// server is one upstream server line.
type server struct {
	addr   string
	weight int
}

// servers are the upstream's servers, in order.
func (s routeState) servers() []server {
	if s.Split != nil {
		return splitServers(*s.Split)
	}
	out := make([]server, len(s.Targets))
	for i, a := range s.Targets {
		out[i] = server{addr: a, weight: 1}
	}
	return out
}

// addrs are the targets that receive requests.
func (s routeState) addrs() []string {
	var out []string
	for _, sv := range s.servers() {
		out = append(out, sv.addr)
	}
	return out
}

// sameTargets reports whether s routes exactly like o (same servers and
// weights).
func (s routeState) sameTargets(o routeState) bool {
	return slices.Equal(s.servers(), o.servers())
}

// parseState reads the state line at the top of a route file.
func parseState(content []byte) (routeState, error) {
	line, _, _ := bytes.Cut(content, []byte("\n"))
	rest, ok := bytes.CutPrefix(line, []byte(stateMarker))
	if !ok {
		return routeState{}, fmt.Errorf("first line does not start with %q", strings.TrimSpace(stateMarker))
	}
	var s routeState
	if err := json.Unmarshal(rest, &s); err != nil {
		return routeState{}, fmt.Errorf("state line: %w", err)
	}
	if s.Route.Name == "" {
		return routeState{}, fmt.Errorf("state line: no route name")
	}
	return s, nil
}

// stateLine is the first line of a route file.
func stateLine(s routeState) (string, error) {
	b, err := json.Marshal(s) // escapes control characters: one line
	if err != nil {
		return "", err
	}
	return stateMarker + string(b), nil
}

// readRoute reads one route file; ok is false when it does not exist.
func readRoute(path string) (st routeState, content []byte, ok bool, err error) {
	content, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return routeState{}, nil, false, nil
	}
	if err != nil {
		return routeState{}, nil, false, err
	}
	st, err = parseState(content)
	if err != nil {
		return routeState{}, nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return st, content, true, nil
}

// readRoutes reads every route file in dir, by route name.
func readRoutes(dir string) (map[string]routeState, error) {
	paths, err := filepath.Glob(filepath.Join(dir, filePrefix+"*.conf"))
	if err != nil {
		return nil, err
	}
	out := make(map[string]routeState, len(paths))
	for _, p := range paths {
		if filepath.Base(p) == commonFile {
			continue
		}
		st, _, ok, err := readRoute(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // removed meanwhile
		}
		if want := baseName(st.Route.Name) + ".conf"; filepath.Base(p) != want {
			return nil, fmt.Errorf("%s: holds route %s, whose file is %s", p, st.Route.Name, want)
		}
		out[st.Route.Name] = st
	}
	return out, nil
}

// maxGeneration is the highest generation among the route files.
func maxGeneration(routes map[string]routeState) uint64 {
	var n uint64
	for _, st := range routes {
		n = max(n, st.Generation)
	}
	return n
}
