// Package match is Atrium's probabilistic record-linkage engine: it finds the
// records of a batch that describe the same person (or organisation) without a
// shared identifier, in memory, with the Fellegi–Sunter model that Splink and
// fastLink use.
//
// The pipeline is Run: records are normalised once (prepare), candidate pairs
// come from the union of blocking rules (block.go), each candidate pair is
// reduced to a comparison vector of levels (compare.go), m-probabilities and the
// match prior are estimated by EM, one session per blocking rule, while
// u-probabilities come from a seeded random sample of all pairs (em.go), every
// pair gets a match weight and a probability with its per-field contributions
// (model.go), and pairs above the auto-merge threshold are clustered with a
// guard against weak chains (cluster.go). Evaluate and EvaluateCSV score the
// clusters against a known truth; Generate and Bench make and time synthetic
// data. docs/dedupe.md explains the model for marketers and analysts.
//
// Invariants:
//   - A missing value is neutral: a comparison whose value is absent on either
//     side has level 0 and contributes a Bayes factor of exactly 1 (weight 0),
//     never agreement and never disagreement.
//   - Level 1 of every comparison is its strongest agreement; the last level is
//     disagreement. Only level 1 ("exact") may carry a term-frequency
//     adjustment.
//   - A pair's weight is the sum of its per-comparison contributions plus the
//     prior weight; Explain returns exactly those terms, so an explanation
//     always adds up to the score that drove the decision.
//   - Pairs that blocking never compared are unknown, not non-matches: the
//     clustering scores them before it judges a cluster.
//   - Given the same records, configuration and seed, Run returns the same
//     model, pairs and clusters, whatever the number of workers.
//
// Nothing here does I/O except ReadCSV, which reads from the io.Reader it is
// given. Run is safe for concurrent use on distinct inputs; a Result is
// read-only once returned.
package match
