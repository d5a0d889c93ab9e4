package fakeprovider

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// parseActivityQuery compiles the subset of SendGrid's Email Activity query language
// the fake understands: conditions joined by AND, each one of
//
//	field = "value"          field != "value"
//	unique_args['key'] = "value"
//	last_event_time BETWEEN TIMESTAMP "t1" AND TIMESTAMP "t2"
//	last_event_time >|>=|<|<=|= TIMESTAMP "t"
//
// with field one of msg_id, to_email, from_email, subject and status, and times in
// RFC 3339. An empty query matches everything. Anything else is an error, so a client
// bug shows up as a 400 instead of a silently wrong answer.
func parseActivityQuery(q string) (func(Message) bool, error) {
	toks, err := lexQuery(q)
	if err != nil {
		return nil, err
	}
	p := &queryParser{toks: toks}
	var conds []func(Message) bool
	for p.more() {
		if len(conds) > 0 && !p.keyword("AND") {
			return nil, fmt.Errorf("expected AND at %q", p.peek().text)
		}
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	return func(m Message) bool {
		for _, c := range conds {
			if !c(m) {
				return false
			}
		}
		return true
	}, nil
}

type tokKind int

const (
	tokIdent tokKind = iota
	tokString
	tokSymbol
)

type token struct {
	kind tokKind
	text string
}

func lexQuery(q string) ([]token, error) {
	var toks []token
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '"' || r == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, errors.New("unterminated string")
			}
			toks = append(toks, token{tokString, b.String()})
			i = j + 1
		case r == '_' || unicode.IsLetter(r):
			j := i
			for j < len(rs) && (rs[j] == '_' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			toks = append(toks, token{tokIdent, string(rs[i:j])})
			i = j
		case strings.ContainsRune("[]=", r):
			toks = append(toks, token{tokSymbol, string(r)})
			i++
		case strings.ContainsRune("!<>", r):
			if i+1 < len(rs) && rs[i+1] == '=' {
				toks = append(toks, token{tokSymbol, string(rs[i : i+2])})
				i += 2
			} else if r == '!' {
				return nil, errors.New("unexpected '!'")
			} else {
				toks = append(toks, token{tokSymbol, string(r)})
				i++
			}
		default:
			return nil, fmt.Errorf("unexpected character %q", r)
		}
	}
	return toks, nil
}

type queryParser struct {
	toks []token
	pos  int
}

func (p *queryParser) more() bool { return p.pos < len(p.toks) }

func (p *queryParser) peek() token {
	if !p.more() {
		return token{tokSymbol, "end of query"}
	}
	return p.toks[p.pos]
}

func (p *queryParser) next(kind tokKind) (string, bool) {
	if !p.more() || p.toks[p.pos].kind != kind {
		return "", false
	}
	p.pos++
	return p.toks[p.pos-1].text, true
}

func (p *queryParser) keyword(k string) bool {
	t := p.peek()
	if t.kind == tokIdent && strings.EqualFold(t.text, k) {
		p.pos++
		return true
	}
	return false
}

func (p *queryParser) symbol(s string) bool {
	t := p.peek()
	if t.kind == tokSymbol && t.text == s {
		p.pos++
		return true
	}
	return false
}

func (p *queryParser) timestamp() (time.Time, error) {
	if !p.keyword("TIMESTAMP") {
		return time.Time{}, fmt.Errorf("expected TIMESTAMP at %q", p.peek().text)
	}
	s, ok := p.next(tokString)
	if !ok {
		return time.Time{}, errors.New("expected a quoted time after TIMESTAMP")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad TIMESTAMP %q: want RFC 3339", s)
	}
	return t, nil
}

func (p *queryParser) condition() (func(Message) bool, error) {
	field, ok := p.next(tokIdent)
	if !ok {
		return nil, fmt.Errorf("expected a field name at %q", p.peek().text)
	}
	if strings.EqualFold(field, "last_event_time") {
		return p.timeCondition()
	}
	var get func(Message) (string, bool)
	fold := false
	switch strings.ToLower(field) {
	case "msg_id":
		get = func(m Message) (string, bool) { return m.ActivityID, true }
	case "to_email":
		get, fold = func(m Message) (string, bool) { return m.To, true }, true
	case "from_email":
		get, fold = func(m Message) (string, bool) { return m.From, true }, true
	case "subject":
		get = func(m Message) (string, bool) { return m.Subject, true }
	case "status":
		get = func(m Message) (string, bool) { return m.Status, true }
	case "unique_args":
		if !p.symbol("[") {
			return nil, errors.New("expected [ after unique_args")
		}
		key, ok := p.next(tokString)
		if !ok || !p.symbol("]") {
			return nil, errors.New("expected unique_args['key']")
		}
		get = func(m Message) (string, bool) { v, ok := m.CustomArgs[key]; return v, ok }
	default:
		return nil, fmt.Errorf("unsupported field %q", field)
	}
	neg := false
	switch {
	case p.symbol("="):
	case p.symbol("!="):
		neg = true
	default:
		return nil, fmt.Errorf("expected = or != after %s", field)
	}
	want, ok := p.next(tokString)
	if !ok {
		return nil, fmt.Errorf("expected a quoted value after %s", field)
	}
	return func(m Message) bool {
		v, present := get(m)
		eq := present && (v == want || fold && strings.EqualFold(v, want))
		return eq != neg
	}, nil
}

func (p *queryParser) timeCondition() (func(Message) bool, error) {
	// Times in the API have second resolution.
	at := func(m Message) time.Time { return m.Received.Truncate(time.Second) }
	if p.keyword("BETWEEN") {
		from, err := p.timestamp()
		if err != nil {
			return nil, err
		}
		if !p.keyword("AND") {
			return nil, errors.New("expected AND in BETWEEN")
		}
		to, err := p.timestamp()
		if err != nil {
			return nil, err
		}
		return func(m Message) bool { t := at(m); return !t.Before(from) && !t.After(to) }, nil
	}
	ops := map[string]func(a, b time.Time) bool{
		"=":  func(a, b time.Time) bool { return a.Equal(b) },
		">":  func(a, b time.Time) bool { return a.After(b) },
		">=": func(a, b time.Time) bool { return !a.Before(b) },
		"<":  func(a, b time.Time) bool { return a.Before(b) },
		"<=": func(a, b time.Time) bool { return !a.After(b) },
	}
	op, ok := p.next(tokSymbol)
	if !ok || ops[op] == nil {
		return nil, errors.New("expected BETWEEN or a comparison after last_event_time")
	}
	t, err := p.timestamp()
	if err != nil {
		return nil, err
	}
	cmp := ops[op]
	return func(m Message) bool { return cmp(at(m), t) }, nil
}
