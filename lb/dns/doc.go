// Package dns is the dns router: it moves a stack's traffic by changing
// what a host name resolves to. Each color of a blue-green stack publishes
// its ports on an address of its own, so one DNS answer is one whole color.
//
// Two backends implement the same router methods as the proxy
// (EnsureRoute, RemoveRoute, CheckTargets, SetTargets, SetSplit, Targets,
// Status):
//
//   - Server is a built-in authoritative server for one zone (UDP and TCP),
//     run by `cutover serve`. A switch is visible to the next query; canary
//     splits are weighted per answer.
//   - Updater sends RFC 2136 dynamic updates, signed with TSIG, to an
//     external authoritative server such as BIND, and returns once that
//     server answers with the new addresses.
//
// Targets are "IP:port" strings, as for the proxy; answers carry the IP
// (A for IPv4, AAAA for IPv6). DNS cannot drain: resolvers and clients
// cache answers, often beyond their TTL. SetTargets returns once the new
// answer is served, and DrainDelay tells how long the targets that left
// must keep serving before they may be stopped.
package dns
