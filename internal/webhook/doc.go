// Package webhook turns image push notifications into one event type, Push.
//
// Four sources are understood, each with its own authentication:
//
//   - Docker Hub repository webhooks (ParseDockerHub). Hub signs nothing; the
//     secret is a token in the URL, compared with CheckToken.
//   - CNCF distribution registry notifications (ParseRegistry): only manifest
//     pushes that carry a tag count. The registry sends configured headers,
//     so the Authorization header is compared with CheckAuthorization.
//   - GitHub "package" and "registry_package" events (ParseGitHub), signed
//     with X-Hub-Signature-256 over the raw body (VerifySignature).
//   - A generic JSON body {image, tag, digest} (ParseGeneric), signed with
//     X-Cutover-Signature-256 (same scheme as GitHub) or carrying a bearer
//     token.
//
// Receiver bundles the secrets and does body reading (with a size limit),
// authentication and parsing in the right order for an HTTP handler. Errors
// wrap ErrUnauthorized, ErrBadPayload (and ErrTooLarge) or ErrIgnored;
// StatusCode maps them to HTTP status codes. Nothing in this package logs,
// and no error message contains a secret, a token or a signature.
//
// Pushes can arrive more than once (multi-arch pushes, GitHub sending both
// event kinds, registry retries); Dedupe drops a push that repeats the last
// one seen for its tag (Push.Key).
package webhook
