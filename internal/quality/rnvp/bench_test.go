package rnvp

import "testing"

var benchAddresses = [][]string{
	{"M. Jean Delhourme", "chez Mireille Copeau, appt 2", "Entrée A, Bât. Jonquille", "25, rue de l'Église", "Caudos", "33380 Mios"},
	{"5 bis, av. des Fleurs", "06000 Nice"},
	{"Mme Claire Martin", "12 rue de la République", "3e étage", "42000", "Saint-Étienne"},
	{"12 rue Bourgmayer", "1000", "Bourg en Bresse"},
	{"3 bd du Maréchal Jean-Marie de Lattre de Tassigny", "75016 Paris"},
	{"1 Boulevard du Général Martial Valin", "Paris XV"},
	{"3 rue des Lilas", "34000 Montpelier"},
}

// BenchmarkNormalize measures RNVP with reference validation on a mix of
// the worked cases (one address per op).
func BenchmarkNormalize(b *testing.B) {
	Normalize(benchAddresses[0]) // load the base outside the timing
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Normalize(benchAddresses[i%len(benchAddresses)])
	}
}

func BenchmarkAbbreviate(b *testing.B) {
	Abbreviate("BOULEVARD DU MARECHAL JEAN MARIE DE LATTRE DE TASSIGNY", 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Abbreviate("BOULEVARD DU MARECHAL JEAN MARIE DE LATTRE DE TASSIGNY", 32)
	}
}
