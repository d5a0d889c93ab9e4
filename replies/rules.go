package replies

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Claims a reply may make, for a collector to confirm: never applied on their own.
const (
	ClaimPaid     = "paid"
	ClaimDisputed = "disputed"
)

// Rule flags a claim when its pattern matches the customer's own words and its
// negation does not match the same sentence.
type Rule struct {
	Name   string // "en:already paid"
	Claim  string
	Locale string // en, de, ja
	match  *regexp.Regexp
	unless *regexp.Regexp // nil: no negation
}

// The rules, per locale. Every reply is read with all of them: the customer's locale
// is not in the ledger, and people answer in the language they write.
var rules = []Rule{
	// English.
	rule("en:paid", ClaimPaid, "en", `(?i)\b(already|have|has|had|was|were|been|just|we|i)\s+(been\s+)?(paid|settled)\b|\bpaid\s+(it|this|that|in full|the invoice|the balance|yesterday|today|last week|on)\b|\bpayment\s+(was|has been|had been)\s+(made|sent)\b|\b(sent|made|wired|transferred)\s+(the|a|our|my)\s+payment\b|\bproof of payment\b|\bremittance advice\b`,
		`(?i)\b(not|n't|never|yet to|unable to|cannot|can't)\b[^.!?\n]{0,20}\b(paid|settled|payment|pay)\b`),
	rule("en:disputed", ClaimDisputed, "en", `(?i)\bdisput(e|es|ed|ing)\b|\b(did not|didn't|never)\s+(order|receive|get|sign)\b|\bnever\s+(received|ordered|arrived)\b|\b(not|never)\s+(been\s+)?(received|delivered)\b|\b(wrong|incorrect|duplicate)\s+(invoice|amount|bill|charge)\b|\b(invoice|amount|bill|charge)\s+is\s+(wrong|incorrect)\b|\b(do not|don't)\s+owe\b|\brefuse\s+to\s+pay\b|\b(damaged|defective|faulty)\b`,
		`(?i)\bno\s+dispute\b|\b(not|don't|do not)\s+(want to\s+)?dispute\b`),
	// German.
	rule("de:paid", ClaimPaid, "de", `(?i)\b(bereits|schon|längst|gestern|heute)\s+(be)?zahlt\b|\b(habe|haben|hat|wurde|ist|sind)\s+([a-zäöüß]+\s+){0,3}(bezahlt|beglichen|überwiesen)\b|(?:^|\P{L})überwiesen\b|\bzahlung\s+(ist\s+)?(erfolgt|veranlasst|angewiesen)\b|\bzahlungsnachweis\b|(?:^|\P{L})überweisungsbeleg\b`,
		`(?i)\b(nicht|noch nicht|nie|kein(e|en)?)\b[^.!?\n]{0,30}\b(bezahlt|beglichen|überwiesen|zahlung)\b`),
	rule("de:disputed", ClaimDisputed, "de", `(?i)\bwiderspr(uch|eche|echen)\b|\bbestreite(n)?\b|\breklamation\b|\b(nie|nicht)\s+(bestellt|erhalten|geliefert|angekommen)\b|\b(falsche|fehlerhafte)\s+(rechnung|betrag|abrechnung)\b|\b(rechnung|betrag)\s+(ist\s+)?(falsch|fehlerhaft)\b|\b(beschädigt|defekt|mangelhaft)\b`,
		`(?i)\bkein(en)?\s+widerspruch\b`),
	// Japanese: no word boundaries; negation is in the verb ending, so a negated
	// statement does not match the affirmative patterns.
	rule("ja:paid", ClaimPaid, "ja", `支払い?済|支払いました|お支払いしました|振り?込みました|振込済|入金しました|入金済|送金しました|決済しました|支払いを完了`, ``),
	rule("ja:disputed", ClaimDisputed, "ja", `異議|誤り|間違い|身に覚えが(ない|ありません)|(受け取って|届いて|注文して)(いない|いません|おりません)|納得(できない|できません|いたしかねます)|不良品|破損`, ``),
}

func rule(name, claim, locale, match, unless string) Rule {
	r := Rule{Name: name, Claim: claim, Locale: locale, match: regexp.MustCompile(match)}
	if unless != "" {
		r.unless = regexp.MustCompile(unless)
	}
	return r
}

// Rules returns the rule set, for documentation and tests.
func Rules() []Rule { return slices.Clone(rules) }

// Finding is a claim a rule found, with the words that made it.
type Finding struct {
	Claim string `json:"claim"`
	Rule  string `json:"rule"`
	// Quote is the sentence the rule matched, at most 200 characters.
	Quote string `json:"quote"`
}

// Says reads what the customer wrote (their subject and Fresh text) and returns each
// claim at most once, in the order paid, disputed: a rule's match counts unless its
// negation matches the same sentence ("we have not paid yet" claims nothing).
func Says(subject, text string) []Finding {
	var out []Finding
	sentences := splitSentences(subject + "\n" + text)
	for _, claim := range []string{ClaimPaid, ClaimDisputed} {
	rules:
		for _, r := range rules {
			if r.Claim != claim {
				continue
			}
			for _, s := range sentences {
				if r.match.MatchString(s) && (r.unless == nil || !r.unless.MatchString(s)) {
					out = append(out, Finding{Claim: claim, Rule: r.Name, Quote: clip(s, 200)})
					break rules
				}
			}
		}
	}
	return out
}

// splitSentences cuts text at sentence ends (., !, ?, 。, ！, ？) and line breaks.
func splitSentences(text string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(text, func(r rune) bool {
		return r == '\n' || r == '.' || r == '!' || r == '?' || r == '。' || r == '！' || r == '？'
	}) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// quoteHeaders start the quoted original under a reply, in the mail clients'
// languages: everything from such a line on is not the customer's.
var quoteHeaders = regexp.MustCompile(`(?im)^\s*(-{2,}\s*(original message|ursprüngliche nachricht|元のメッセージ)\s*-{2,}|on\s.{1,200}\swrote:|am\s.{1,200}\sschrieb\s.{0,100}:|.{1,200}\s(wrote|schrieb):\s*$|.{1,100}(のメッセージ|さんは書きました)[:：]?\s*$|from:\s.+$|von:\s.+$|差出人[:：].*$|_{5,}\s*$)`)

// Fresh is the part of a reply's text the customer wrote: the text above the quoted
// original ("On ... wrote:", "-----Original Message-----", "Am ... schrieb ...:",
// a From: header block), without lines quoted with ">".
func Fresh(text string) string {
	if loc := quoteHeaders.FindStringIndex(text); loc != nil {
		text = text[:loc[0]]
	}
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), ">") {
			continue
		}
		b.WriteString(line)
	}
	return strings.TrimSpace(b.String())
}

// InvoiceRefs returns the ids of invoices (among known, a customer's invoice ids)
// that subject or text names as a whole word, in the order of known. Case does not
// matter.
func InvoiceRefs(subject, text string, known []string) []string {
	hay := strings.ToLower(subject + "\n" + text)
	var out []string
	for _, id := range known {
		needle := strings.ToLower(id)
		if needle == "" || slices.Contains(out, id) {
			continue
		}
		for from := 0; ; {
			i := strings.Index(hay[from:], needle)
			if i < 0 {
				break
			}
			start, end := from+i, from+i+len(needle)
			if !idChar(hay, start-1) && !idChar(hay, end) {
				out = append(out, id)
				break
			}
			from = start + 1
		}
	}
	return out
}

// idChar reports whether the byte at i of s could continue an invoice id.
func idChar(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
