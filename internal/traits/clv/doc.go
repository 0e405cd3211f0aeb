// Package clv estimates customer lifetime value from purchase histories with the
// "buy till you die" models of Fader, Hardie and Lee:
//
//   - BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
//     how often a customer buys while alive and how likely they are still alive;
//   - Pareto/NBD (Schmittlein, Morrison & Colombo 1987): the older model BG/NBD
//     approximates, with a continuous-time dropout;
//   - Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
//     curves"): the expected value of a customer's future orders;
//   - CLV: discounted sum of expected purchases times expected order value over a
//     horizon, as the lifetimes library's customer_lifetime_value computes it.
//
// The package is pure computation: it reads no database and no files. Callers
// turn orders into per-customer summaries with Summarize, fit the models on the
// summaries and score customers with the fitted models.
//
// Invariants:
//   - Times inside the models are in one unit, the one passed to Summarize
//     (weeks throughout Atrium, as in the papers). Parameters fitted in one unit
//     are meaningless in another: α and β scale with the unit.
//   - A "purchase" is a calendar day (UTC) with at least one order: orders of the
//     same day are merged, as the papers do with the CDNOW data.
//   - Fitted models are plain values; every method on them is safe for
//     concurrent use.
//   - Fits are deterministic: the same summaries give the same parameters,
//     whatever the number of CPUs (partial sums are added in a fixed order).
package clv
