package wordpress

import (
	"regexp"
	"strings"
)

var (
	loginTags     = regexp.MustCompile(`<[^>]*>`)
	loginOctets   = regexp.MustCompile(`%[a-fA-F0-9]{2}`)
	loginEntities = regexp.MustCompile(`&.+?;`)
	loginSpaces   = regexp.MustCompile(`\s+`)
	loginAccents  = strings.NewReplacer(
		"À", "A", "Á", "A", "Â", "A", "Ã", "A", "Ä", "A", "Å", "A", "Æ", "AE", "Ç", "C",
		"È", "E", "É", "E", "Ê", "E", "Ë", "E", "Ì", "I", "Í", "I", "Î", "I", "Ï", "I",
		"Ð", "D", "Ñ", "N", "Ò", "O", "Ó", "O", "Ô", "O", "Õ", "O", "Ö", "O", "Ø", "O",
		"Ù", "U", "Ú", "U", "Û", "U", "Ü", "U", "Ý", "Y", "Þ", "TH", "ß", "s",
		"à", "a", "á", "a", "â", "a", "ã", "a", "ä", "a", "å", "a", "æ", "ae", "ç", "c",
		"è", "e", "é", "e", "ê", "e", "ë", "e", "ì", "i", "í", "i", "î", "i", "ï", "i",
		"ð", "d", "ñ", "n", "ò", "o", "ó", "o", "ô", "o", "õ", "o", "ö", "o", "ø", "o",
		"ù", "u", "ú", "u", "û", "u", "ü", "u", "ý", "y", "þ", "th", "ÿ", "y",
		"Ł", "L", "ł", "l", "Œ", "OE", "œ", "oe", "Š", "S", "š", "s", "Ž", "Z", "ž", "z",
	)
)

// SanitizeLogin turns s into a login WordPress accepts, like sanitize_user($s, true):
// tags, %XX octets and HTML entities are removed, common Latin accents are folded
// (é -> e), every character outside a-z A-Z 0-9 space _ . - @ is dropped, and
// whitespace is trimmed and collapsed. The result may be empty.
func SanitizeLogin(s string) string {
	s = loginTags.ReplaceAllString(s, "")
	s = loginAccents.Replace(s)
	s = loginOctets.ReplaceAllString(s, "")
	s = loginEntities.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == ' ', r == '_', r == '.', r == '-', r == '@':
			return r
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		}
		return -1
	}, s)
	return loginSpaces.ReplaceAllString(strings.TrimSpace(s), " ")
}
