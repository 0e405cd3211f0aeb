package ingest

import (
	"hash/fnv"
	"math"
)

// dedupHash is the 64-bit key of (source, messageId) stored with each event.
func dedupHash(sourceID, messageID string) int64 {
	h := fnv.New64a()
	h.Write([]byte(sourceID))
	h.Write([]byte{0})
	h.Write([]byte(messageID))
	return int64(h.Sum64())
}

// bloom is a scalable Bloom filter of dedup hashes: a "no" is certain, a
// "maybe" is confirmed against the store. Memory stays about 3 bytes per
// stored message, whatever the table's size.
type bloom struct {
	layers []*bloomLayer
}

type bloomLayer struct {
	bits  []uint64
	m     uint64
	k     int
	n     int
	limit int
}

// Each layer aims at a one-in-100,000 false-positive rate at capacity, so
// confirming a "maybe" against the table stays rare.
const bloomBitsPerKey, bloomK = 24, 16

func newBloomLayer(capacity int) *bloomLayer {
	m := uint64(capacity * bloomBitsPerKey)
	m = (m + 63) &^ 63
	return &bloomLayer{bits: make([]uint64, m/64), m: m, k: bloomK, limit: capacity}
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func (l *bloomLayer) add(h uint64) {
	a, b := mix(h), mix(h^0x9e3779b97f4a7c15)|1
	for i := 0; i < l.k; i++ {
		bit := (a + uint64(i)*b) % l.m
		l.bits[bit>>6] |= 1 << (bit & 63)
	}
	l.n++
}

func (l *bloomLayer) has(h uint64) bool {
	a, b := mix(h), mix(h^0x9e3779b97f4a7c15)|1
	for i := 0; i < l.k; i++ {
		bit := (a + uint64(i)*b) % l.m
		if l.bits[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

func newBloom(expected int) *bloom {
	c := 1 << 20
	for c < expected*2 && c < math.MaxInt32 {
		c *= 2
	}
	return &bloom{layers: []*bloomLayer{newBloomLayer(c)}}
}

func (b *bloom) add(h int64) {
	last := b.layers[len(b.layers)-1]
	if last.n >= last.limit {
		last = newBloomLayer(last.limit * 2)
		b.layers = append(b.layers, last)
	}
	last.add(uint64(h))
}

func (b *bloom) has(h int64) bool {
	for _, l := range b.layers {
		if l.has(uint64(h)) {
			return true
		}
	}
	return false
}
