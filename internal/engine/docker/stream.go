package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/pkg/jsonmessage"
)

// readJSONStream consumes a pull or build progress stream to EOF, handing
// each message to fn. An error reported in the stream (errorDetail, or the
// legacy error field) ends it and is returned: the engine sends those with
// HTTP 200 once streaming has started.
func readJSONStream(r io.Reader, fn func(jsonmessage.JSONMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading the engine's progress stream: %w", err)
		}
		if err := streamError(m); err != nil {
			return err
		}
		if fn != nil {
			fn(m)
		}
	}
}

// streamError returns the error a message carries, if any.
func streamError(m jsonmessage.JSONMessage) error {
	//lint:ignore SA1019 ErrorMessage is deprecated but engines still send it alongside errorDetail.
	legacy := m.ErrorMessage
	if m.Error == nil && legacy == "" {
		return nil
	}
	je := &jsonmessage.JSONError{Message: legacy}
	if m.Error != nil {
		je.Code = m.Error.Code
		if m.Error.Message != "" {
			je.Message = m.Error.Message
		}
	}
	if je.Message == "" {
		je.Message = fmt.Sprintf("the engine reported an error without a message (code %d)", je.Code)
	}
	return je
}
