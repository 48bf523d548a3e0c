//go:build !unix

package nginx

import "context"

// lockDir is a no-op where flock does not exist: only one cutover process
// may use a directory there.
func lockDir(context.Context, string) (func(), error) { return func() {}, nil }
