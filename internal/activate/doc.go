// Package activate delivers segment membership changes to destinations
// (webhooks first) from a durable queue.
//
// Invariants:
//   - Every delivery is a row of the deliveries table written before any
//     attempt; its payload and idempotency key never change afterwards, so
//     every attempt and every replay of one logical change carries the same
//     key and the same body. The key is unique per destination: enqueueing
//     the same change twice writes one row.
//   - A row leaves "pending" only for "delivered" (a 2xx answer), "dead"
//     (a permanent refusal, or retries exhausted by attempts or age, with the
//     reason) or "excluded" (no current consent for the destination's
//     purpose, with the reason). Dead rows go back to pending only by an
//     explicit replay, which keeps the key.
//   - Each destination has its own worker goroutine, HTTP client, in-flight
//     limit and circuit: a slow or dead destination never delays another.
//   - Time comes from an injected Clock, so retries and outages can be
//     tested on a scaled clock.
package activate
