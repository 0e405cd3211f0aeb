package match

import "strings"

// nicknameGroups are given names that stand for one another. The list is
// short on purpose: English and French diminutives that Jaro-Winkler misses
// ("bob" and "robert" score 0.0). Each line is one group.
var nicknameGroups = []string{
	"robert rob bob bobby robbie",
	"william will bill billy liam",
	"richard rick dick rich richie",
	"james jim jimmy jamie",
	"john jack johnny jon",
	"michael mike mick mickey",
	"thomas tom tommy",
	"joseph joe joey",
	"charles charlie chuck chas",
	"edward ed eddie ted ned",
	"henry harry hank",
	"margaret maggie meg peggy marge",
	"elizabeth liz beth betty lisa eliza lizzie",
	"catherine kate cathy katie kathy katherine",
	"jennifer jen jenny",
	"patricia pat patty trish",
	"alexander alex sandy xander",
	"alexandra alex sandra lexie",
	"christopher chris kit",
	"christine chris chrissy christina",
	"daniel dan danny",
	"david dave davey",
	"matthew matt matty",
	"anthony tony",
	"andrew andy drew",
	"benjamin ben benny",
	"samuel sam sammy",
	"samantha sam sammie",
	"nicholas nick nicky",
	"jonathan jon jonny",
	"stephen steve stevie steven",
	"timothy tim timmy",
	"susan sue susie suzanne",
	"deborah debbie deb",
	"rebecca becky becca",
	"victoria vicky tori",
	"jessica jess jessie",
	"joshua josh",
	"zachary zach zack",
	"jacqueline jackie jacquie",
	"frederick fred freddie",
	"francois francis frank",
	"guillaume will",
	"jeanne jeannette",
	"isabelle isa isabel bella",
	"emily em emmy",
	"abigail abby abbie",
	"madeline maddie madison",
	"nathan nate nathaniel",
	"lawrence larry laurie",
	"peter pete",
	"gregory greg",
	"kenneth ken kenny",
	"donald don donnie",
	"ronald ron ronnie",
	"douglas doug",
	"raymond ray",
	"eleanor ellie nell nora",
}

// nicknameIndex maps a name to the bit set of its groups (at most 64
// groups), so that "same nickname group" is one AND in the comparison loop.
var nicknameIndex = func() map[string]uint64 {
	if len(nicknameGroups) > 64 {
		panic("match: more than 64 nickname groups")
	}
	idx := map[string]uint64{}
	for g, line := range nicknameGroups {
		for _, n := range strings.Fields(line) {
			idx[n] |= 1 << uint(g)
		}
	}
	return idx
}()

// nicknameMask is the set of nickname groups of a normalised given name.
func nicknameMask(given string) uint64 { return nicknameIndex[given] }
