package rnvp

// Word tables for reading CRM address fields. All entries are in the folded
// form the tokenizer produces: upper-case ASCII, no punctuation.

// streetTypes are the full street-type labels (rnvp.md §2.1) recognised at
// the start of a street label. Multi-word types are matched greedily.
var streetTypes = map[string]bool{
	"ALLEE": true, "ALLEES": true, "AVENUE": true, "BOULEVARD": true, "CHEMIN": true,
	"CHAUSSEE": true, "CITE": true, "CLOS": true, "COUR": true, "COURS": true,
	"DOMAINE": true, "ESPLANADE": true, "FAUBOURG": true, "GALERIE": true, "HAMEAU": true,
	"IMPASSE": true, "LIEU DIT": true, "LOTISSEMENT": true, "MAIL": true, "MONTEE": true,
	"PARC": true, "PARVIS": true, "PASSAGE": true, "PLACE": true, "PLACETTE": true,
	"PLAINE": true, "PLATEAU": true, "PORT": true, "PORTE": true, "PROMENADE": true,
	"QUAI": true, "QUARTIER": true, "RESIDENCE": true, "ROND POINT": true, "ROUTE": true,
	"RUE": true, "RUELLE": true, "SENTE": true, "SENTIER": true, "SQUARE": true,
	"TRAVERSE": true, "VILLA": true, "VILLAGE": true, "VOIE": true, "CARREFOUR": true,
	"CORNICHE": true, "DESCENTE": true, "DIGUE": true, "ECART": true, "ENCLOS": true,
	"FORUM": true, "GRANDE RUE": true, "HALLE": true, "IMMEUBLE": true, "JARDIN": true,
	"JETEE": true, "LEVEE": true, "MARCHE": true, "PASSERELLE": true, "PERIPHERIQUE": true,
	"PETITE RUE": true, "PETITE ROUTE": true, "PETITE AVENUE": true, "PETITE ALLEE": true,
	"PETIT CHEMIN": true, "RAMPE": true, "REMPART": true, "ROCADE": true,
	"TERRASSE": true, "TERRE PLEIN": true, "VENELLE": true, "VIEUX CHEMIN": true,
	"VIEILLE ROUTE": true, "AUTOROUTE": true, "RACCOURCI": true, "BERGE": true,
	"BOUCLE": true, "BUTTE": true, "CALE": true, "CHALET": true, "CLOITRE": true,
	"COTEAU": true, "DARSE": true, "ENCLAVE": true, "ESPACE": true, "GRILLE": true,
	"ILOT": true, "MAS": true, "PATIO": true, "PAVILLON": true, "POTERNE": true,
	"POURTOUR": true, "RAIDILLON": true, "ROQUET": true, "ROTONDE": true, "TERTRE": true,
	"VALLEE": true, "VALLON": true, "VIADUC": true, "ANCIEN CHEMIN": true,
	"ANCIENNE ROUTE": true, "CHEMIN VICINAL": true, "CHEMIN RURAL": true,
	"CENTRE COMMERCIAL": true, "BOURG": true, "CHEMINEMENT": true, "GRAND RUE": true,
	"ZONE INDUSTRIELLE": true, "ZONE ARTISANALE": true, "ZONE D ACTIVITE": true,
	"ZONE D ACTIVITES": true, "ZONE D AMENAGEMENT CONCERTE": true, "ZONE": true,
	"ROUTE NATIONALE": true, "ROUTE DEPARTEMENTALE": true, "VOIE COMMUNALE": true,
}

// strongTypes start a street even in the middle of a field ("BAT B RUE X").
var strongTypes = map[string]bool{
	"RUE": true, "AVENUE": true, "BOULEVARD": true, "ALLEE": true, "IMPASSE": true,
	"CHEMIN": true, "ROUTE": true, "PLACE": true, "QUAI": true, "SQUARE": true,
	"COURS": true, "PASSAGE": true, "SENTIER": true, "FAUBOURG": true, "PROMENADE": true,
	"TRAVERSE": true, "RUELLE": true, "MONTEE": true, "ESPLANADE": true, "ROND POINT": true,
}

// typeVariants are the informal spellings users type at the start of a
// street label (rnvp.md §2.2, libpostal and addok-fr), expanded to the full
// type when the label then fits. Ambiguous codes (CAR, MAR, PTE alone, SEN,
// TER) are left out: they are never expanded (rnvp.md §2.5).
var typeVariants = map[string]string{
	"AV": "AVENUE", "AVE": "AVENUE", "AVN": "AVENUE", "AVEN": "AVENUE", "AVNUE": "AVENUE",
	"BD": "BOULEVARD", "BLD": "BOULEVARD", "BVD": "BOULEVARD", "BLVD": "BOULEVARD",
	"BOUL": "BOULEVARD", "BOULV": "BOULEVARD", "BDE": "BOULEVARD", "BL": "BOULEVARD",
	"R": "RUE", "RTE": "ROUTE", "RT": "ROUTE", "CHE": "CHEMIN", "CH": "CHEMIN",
	"CHEM": "CHEMIN", "CHM": "CHEMIN", "IMP": "IMPASSE", "PL": "PLACE", "PLCE": "PLACE",
	"ALL": "ALLEE", "AL": "ALLEE", "SQ": "SQUARE", "SQU": "SQUARE", "QU": "QUAI",
	"FG": "FAUBOURG", "FBG": "FAUBOURG", "FAUB": "FAUBOURG", "PROM": "PROMENADE",
	"CRS": "COURS", "PAS": "PASSAGE", "PSG": "PASSAGE", "SENT": "SENTIER",
	"TRAV": "TRAVERSE", "RPT": "ROND POINT", "RDPT": "ROND POINT", "LOT": "LOTISSEMENT",
	"LOTISS": "LOTISSEMENT", "RES": "RESIDENCE", "RESID": "RESIDENCE", "HAM": "HAMEAU",
	"VLA": "VILLA", "VGE": "VILLAGE", "VLGE": "VILLAGE", "CHS": "CHAUSSEE",
	"CHAU": "CHAUSSEE", "MTE": "MONTEE", "ESP": "ESPLANADE", "ESPL": "ESPLANADE",
	"PRV": "PARVIS", "CCAL": "CENTRE COMMERCIAL", "LD": "LIEU DIT", "LIEUDIT": "LIEU DIT",
	"GR": "GRANDE RUE", "PTR": "PETITE RUE", "GAL": "GALERIE", "IMM": "IMMEUBLE",
	"ZI": "ZONE INDUSTRIELLE", "ZA": "ZONE D ACTIVITE", "ZAC": "ZONE D AMENAGEMENT CONCERTE",
	"ZAE": "ZONE D ACTIVITE ECONOMIQUE", "ZAD": "ZONE D AMENAGEMENT DIFFERE",
	"ZUP": "ZONE A URBANISER EN PRIORITE", "RLE": "RUELLE", "VEN": "VENELLE",
	"CARR": "CARREFOUR", "CARF": "CARREFOUR", "RN": "ROUTE NATIONALE",
	"RD": "ROUTE DEPARTEMENTALE", "VC": "VOIE COMMUNALE", "CR": "CHEMIN RURAL",
}

// titleVariants are abbreviated titles and words expanded inside a street
// label when the label then fits (rnvp.md §2.3). They are only expanded
// after an article, the street type or another title, never as a name.
var titleVariants = map[string]string{
	"GAL": "GENERAL", "GL": "GENERAL", "GEN": "GENERAL", "GNL": "GENERAL", "GAL.": "GENERAL",
	"MAL": "MARECHAL", "MCHAL": "MARECHAL", "PDT": "PRESIDENT", "PRES": "PRESIDENT",
	"PRESID": "PRESIDENT", "DR": "DOCTEUR", "DOCT": "DOCTEUR", "CDT": "COMMANDANT",
	"CMDT": "COMMANDANT", "CMT": "COMMANDANT", "CNE": "CAPITAINE", "CPT": "CAPITAINE",
	"CNL": "COLONEL", "LT": "LIEUTENANT", "LTN": "LIEUTENANT", "SGT": "SERGENT",
	"ADJ": "ADJUDANT", "MGR": "MONSEIGNEUR", "PR": "PROFESSEUR", "PROF": "PROFESSEUR",
	"LTDV": "LIEUTENANT DE VAISSEAU", "MME": "MADAME", "MLLE": "MADEMOISELLE",
	"CDL": "CARDINAL", "EVQ": "EVEQUE", "PREF": "PREFET", "ING": "INGENIEUR",
}

// anywhereVariants are expanded wherever they stand in a street label:
// their abbreviation has a single meaning in French street names.
var anywhereVariants = map[string]string{
	"ST": "SAINT", "STE": "SAINTE", "STS": "SAINTS", "STES": "SAINTES", "ND": "NOTRE DAME",
	"GD": "GRAND", "GDE": "GRANDE", "GDS": "GRANDS", "GDES": "GRANDES",
}

// articles are the words after which a keyword is part of a name
// ("RUE DE LA RESIDENCE", "CHEMIN DU CHATEAU").
var articles = map[string]bool{
	"DE": true, "DU": true, "DES": true, "LA": true, "LE": true, "LES": true, "L": true,
	"D": true, "AU": true, "AUX": true,
}

// Complement keywords (rnvp.md §1.1, §3.8): the line they belong to and
// their full form.
type complement struct {
	line int
	full string
}

var complements = map[string]complement{
	// L2: inside the building, and care-of.
	"APPARTEMENT": {2, "APPARTEMENT"}, "APPT": {2, "APPARTEMENT"}, "APT": {2, "APPARTEMENT"},
	"APP": {2, "APPARTEMENT"}, "APPART": {2, "APPARTEMENT"}, "APPTS": {2, "APPARTEMENTS"},
	"ETAGE": {2, "ETAGE"}, "ETG": {2, "ETAGE"}, "ESCALIER": {2, "ESCALIER"},
	"ESC": {2, "ESCALIER"}, "ESCAL": {2, "ESCALIER"}, "COULOIR": {2, "COULOIR"},
	"LOGEMENT": {2, "LOGEMENT"}, "LOGT": {2, "LOGEMENT"}, "LGT": {2, "LOGEMENT"},
	"CHAMBRE": {2, "CHAMBRE"}, "PALIER": {2, "PALIER"}, "CHEZ": {2, "CHEZ"},
	"BAL": {2, "BAL"}, "SERVICE": {2, "SERVICE"}, "DEPARTEMENT": {2, "DEPARTEMENT"},
	"DIRECTION": {2, "DIRECTION"},
	"ATTN":      {2, "A L ATTENTION DE"},
	// L3: outside the door.
	"ENTREE": {3, "ENTREE"}, "BATIMENT": {3, "BATIMENT"}, "BAT": {3, "BATIMENT"},
	"BATIM": {3, "BATIMENT"}, "IMMEUBLE": {3, "IMMEUBLE"}, "IMM": {3, "IMMEUBLE"},
	"RESIDENCE": {3, "RESIDENCE"}, "RES": {3, "RESIDENCE"}, "RESID": {3, "RESIDENCE"},
	"TOUR": {3, "TOUR"}, "BLOC": {3, "BLOC"}, "HALL": {3, "HALL"}, "AILE": {3, "AILE"},
	"PAVILLON": {3, "PAVILLON"},
}

// zones are activity areas: line 3 under a street, the street line
// otherwise (rnvp.md §1.1).
var zones = map[string]string{
	"ZI": "ZONE INDUSTRIELLE", "ZA": "ZONE D ACTIVITE", "ZAC": "ZONE D AMENAGEMENT CONCERTE",
	"ZAE": "ZONE D ACTIVITE ECONOMIQUE", "ZAD": "ZONE D AMENAGEMENT DIFFERE",
	"ZUP": "ZONE A URBANISER EN PRIORITE", "ZONE": "ZONE", "PARC": "PARC",
	"TECHNOPOLE": "TECHNOPOLE", "TECHNOPARC": "TECHNOPARC", "CCIAL": "CENTRE COMMERCIAL",
	"CCAL": "CENTRE COMMERCIAL", "CENTRE": "CENTRE", "LOTISSEMENT": "LOTISSEMENT",
	"LOT": "LOTISSEMENT", "DOMAINE": "DOMAINE", "CITE": "CITE", "QUARTIER": "QUARTIER",
}

// boxes are the distribution services of line 5 (rnvp.md §1.4).
var boxes = map[string]string{
	"BP": "BP", "CS": "CS", "TSA": "TSA", "CP": "CP",
}

// indexWords are the repetition indices with their line-4 code (rnvp.md
// §1.3: "5 bis" is shortened to "5 B").
var indexWords = map[string]string{
	"BIS": "B", "TER": "T", "QUATER": "Q", "QUINQUIES": "C", "QUINQUIES.": "C",
}

// civilityWords start a person's name on lines 1 and 2.
var civilityStarts = map[string]bool{
	"M": true, "MR": true, "MONSIEUR": true, "MME": true, "MADAME": true, "MLLE": true,
	"MELLE": true, "MADEMOISELLE": true, "MM": true, "MMES": true, "MESSIEURS": true,
	"MESDAMES": true, "DR": true, "DOCTEUR": true, "ME": true, "MAITRE": true, "PR": true,
	"PROFESSEUR": true, "MGR": true, "MRS": true, "MS": true, "MISS": true,
}

// placeWords start a lieu-dit name typed without a street: "LE BOURG",
// "LES GRANGES", "HAMEAU DE…".
var placeWords = map[string]bool{
	"LE": true, "LA": true, "LES": true, "L": true, "HAMEAU": true, "LIEU": true,
	"MAS": true, "FERME": true, "DOMAINE": true, "CHATEAU": true, "MOULIN": true, "BOURG": true,
	"QUARTIER": true, "VILLAGE": true,
}
