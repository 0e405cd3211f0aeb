package quality

import "testing"

var benchEmails = []string{"jean.dupont@gmail.com", "Marie.Martin@Orange.fr", "contact@textiles-lyonnais.fr",
	"pierre.durand+promo@hotmail.fr", "sophie@gmial.com", " eric.petit@free.fr ", "x@yopmail.com"}
var benchPhones = []string{"06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "+33 (0)1 42 68 53 00",
	"0033612345678", "612345678", "01.42.68.53.00", "0690 12 34 56", "01 42 68 53 00 poste 214"}
var benchNames = [][2]string{{"JEAN-PIERRE", "DE LA FONTAINE"}, {"marie", "martin"}, {"Sophie", "Le Goff"}, {"ÉRIC", "LEMAÎTRE"}}
var benchFull = []string{"M. Jean DUPONT", "DUPONT Jean", "Mme Marie-Thérèse de La Fontaine", "martin sophie"}

func BenchmarkEmail(b *testing.B) {
	Email(benchEmails[0])
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Email(benchEmails[i%len(benchEmails)])
	}
}

func BenchmarkPhone(b *testing.B) {
	Phone(benchPhones[0], "FR")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Phone(benchPhones[i%len(benchPhones)], "FR")
	}
}

func BenchmarkName(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		n := benchNames[i%len(benchNames)]
		Name(n[0], n[1])
	}
}

func BenchmarkFullName(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		FullName(benchFull[i%len(benchFull)])
	}
}

func BenchmarkCivility(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Civility("M. et Mme")
	}
}

// BenchmarkContact is one generated-like contact: e-mail, phone, name and
// civility, as atrium bench quality runs them.
func BenchmarkContact(b *testing.B) {
	Email(benchEmails[0])
	Phone(benchPhones[0], "FR")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Email(benchEmails[i%len(benchEmails)])
		Phone(benchPhones[i%len(benchPhones)], "FR")
		if i%4 == 0 {
			FullName(benchFull[i%len(benchFull)])
		} else {
			n := benchNames[i%len(benchNames)]
			Name(n[0], n[1])
		}
		Civility("M.")
	}
}
