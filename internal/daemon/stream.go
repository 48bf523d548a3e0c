package daemon

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/cutover/cutover/internal/daemon/api"
	"github.com/cutover/cutover/internal/deploy"
)

// writeTimeout bounds one line's write, so a client that stops reading
// cannot stall the deploy that reports to it.
const writeTimeout = 10 * time.Second

// stream writes an operation's events as NDJSON lines and then its result.
// It is the operation's Observer: safe for concurrent use, and never
// blocking for longer than writeTimeout. Once the client is gone or the
// handler has returned (detach), events are dropped: the operation goes on.
type stream struct {
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	enc    *json.Encoder
	closed bool
}

var _ deploy.Observer = (*stream)(nil)

func newStream(w http.ResponseWriter) *stream {
	w.Header().Set("Content-Type", api.ContentNDJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	s := &stream{w: w, rc: http.NewResponseController(w), enc: json.NewEncoder(w)}
	s.mu.Lock()
	s.flush()
	s.mu.Unlock()
	return s
}

// Event writes one event line.
func (s *stream) Event(e deploy.Event) {
	s.write(api.Line{Event: &e})
}

// finish writes the result line; nothing is written after it.
func (s *stream) finish(res api.Result) {
	s.write(api.Line{Result: &res})
	s.detach()
}

// detach stops writing; the handler is about to return.
func (s *stream) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

func (s *stream) write(line api.Line) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.enc.Encode(line); err != nil {
		s.closed = true // the client is gone; the operation is not
		return
	}
	s.flush()
}

// flush sends what is buffered; the caller holds mu.
func (s *stream) flush() {
	if err := s.rc.Flush(); err != nil {
		s.closed = true
	}
}
