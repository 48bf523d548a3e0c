package lb

import (
	"errors"
	"net/http"
)

// retryable reports whether a request that failed on one target with err
// may go to another one:
//
//   - the target could not be connected to (the request was never sent):
//     any method, as long as none of its body was read;
//   - any other error before the response headers, for an idempotent
//     method without a body (nothing the target may have done can be
//     doubled).
//
// Each active target is tried at most once.
func retryable(req *http.Request, body *requestBody, err error) bool {
	var de *dialError
	if errors.As(err, &de) {
		return body.n == 0
	}
	return req.ContentLength == 0 && idempotent(req.Method)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut,
		http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}
