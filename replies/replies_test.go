package replies

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/dunwell/dunwell/webhooks"
)

func TestReplyAddress(t *testing.T) {
	key := "C-42/email/2026-12-07/1"
	addr := Address("accounts@acme.example", key)
	require.Equal(t, "accounts+"+Tag(key)+"@acme.example", addr)
	require.Len(t, Tag(key), TagLength)
	tag, ok := TagOf("accounts@acme.example", strings.ToUpper(addr))
	require.True(t, ok)
	require.Equal(t, Tag(key), tag)
	for _, a := range []string{"accounts@acme.example", "other+" + Tag(key) + "@acme.example",
		"accounts+" + Tag(key) + "@evil.example", "accounts+xyz@acme.example", "accounts+" + Tag(key) + "0@acme.example"} {
		_, ok := TagOf("accounts@acme.example", a)
		require.False(t, ok, a)
	}
	require.Equal(t, "accounts@acme.example", Address("accounts@acme.example", ""), "no key, no tag")
	require.Equal(t, "not-an-address", Address("not-an-address", key))
}

// TestSays is the rule table: what each locale's customers write, and what the
// rules make of it. Negated statements and the quoted reminder claim nothing.
func TestSays(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string // claims
		rule string   // the first finding's rule, when any
	}{
		// English.
		{"Hi, we already paid this last Friday.", []string{ClaimPaid}, "en:paid"},
		{"The invoice has been paid, see the attached remittance advice", []string{ClaimPaid}, "en:paid"},
		{"I sent the payment yesterday by wire", []string{ClaimPaid}, "en:paid"},
		{"Payment was made on Dec 1.", []string{ClaimPaid}, "en:paid"},
		{"We have not paid yet, sorry.", nil, ""},
		{"I haven't paid because of cash flow; can we talk?", nil, ""},
		{"We never received the goods.", []string{ClaimDisputed}, "en:disputed"},
		{"This is the wrong amount, we agreed on 900.", []string{ClaimDisputed}, "en:disputed"},
		{"We dispute this invoice.", []string{ClaimDisputed}, "en:disputed"},
		{"No dispute, just late. Will pay Friday.", nil, ""},
		{"We paid it, but the second invoice is a duplicate invoice.", []string{ClaimPaid, ClaimDisputed}, "en:paid"},
		{"Thanks, will pay next week.", nil, ""},
		// German.
		{"Die Rechnung wurde bereits bezahlt.", []string{ClaimPaid}, "de:paid"},
		{"Wir haben den Betrag gestern überwiesen.", []string{ClaimPaid}, "de:paid"},
		{"Überwiesen am 3.12., Beleg anbei", []string{ClaimPaid}, "de:paid"},
		{"Wir haben noch nicht bezahlt.", nil, ""},
		{"Die Ware ist nie angekommen, wir bestreiten die Forderung.", []string{ClaimDisputed}, "de:disputed"},
		{"Der Betrag ist falsch.", []string{ClaimDisputed}, "de:disputed"},
		{"Kein Widerspruch, wir zahlen nächste Woche.", nil, ""},
		// Japanese.
		{"先週お支払いしました。", []string{ClaimPaid}, "ja:paid"},
		{"12月1日に振り込みました", []string{ClaimPaid}, "ja:paid"},
		{"まだ支払っていません。", nil, ""},
		{"商品を受け取っていません。", []string{ClaimDisputed}, "ja:disputed"},
		{"請求金額に誤りがあります。", []string{ClaimDisputed}, "ja:disputed"},
		{"来週支払います。", nil, ""},
	} {
		got := Says("Re: Invoice INV-1", c.text)
		var claims []string
		for _, f := range got {
			claims = append(claims, f.Claim)
		}
		require.Equal(t, c.want, claims, c.text)
		if c.rule != "" {
			require.Equal(t, c.rule, got[0].Rule, c.text)
			require.NotEmpty(t, got[0].Quote, c.text)
		}
	}
	require.Equal(t, []Finding{{Claim: ClaimPaid, Rule: "en:paid", Quote: "Already paid"}}, Says("Already paid", ""), "the subject counts")
	for _, r := range Rules() {
		require.Contains(t, []string{"en", "de", "ja"}, r.Locale, r.Name)
	}
}

func TestFresh(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"We paid.\n\nOn Mon, 7 Dec 2026 at 10:00, Acme <ar@acme.example> wrote:\n> If you have already paid, ignore this.", "We paid."},
		{"Wird geprüft.\n\nAm 07.12.2026 um 10:00 schrieb Acme <ar@acme.example>:\n> Bitte zahlen Sie.", "Wird geprüft."},
		{"Thanks\n-----Original Message-----\nFrom: Acme\nSubject: overdue", "Thanks"},
		{"Top line\n> quoted\nbottom line", "Top line\nbottom line"},
		{"確認します。\n\n2026年12月7日(月) 10:00 Acme <ar@acme.example>:\n> お支払いください", "確認します。\n\n2026年12月7日(月) 10:00 Acme <ar@acme.example>:"},
	} {
		require.Equal(t, c.want, Fresh(c.text), c.text)
	}
	require.Empty(t, Says("Re: reminder", Fresh("Will call you.\n\nOn Mon, Acme wrote:\n> If you have already paid, please ignore this.")),
		"the quoted reminder's words are not the customer's")
}

func TestInvoiceRefs(t *testing.T) {
	known := []string{"INV-1001", "INV-100", "inv-7", "SO-9"}
	require.Equal(t, []string{"INV-1001", "inv-7"}, InvoiceRefs("Re: inv-1001", "and INV-7.", known))
	require.Equal(t, []string{"INV-100"}, InvoiceRefs("", "INV-1000 and (INV-100)", known))
	require.Empty(t, InvoiceRefs("", "INV-10011 XSO-9", known))
}

// part is one form field or file of a test post.
type part struct{ name, filename, contentType, value string }

// post builds a multipart/form-data body as Inbound Parse sends it.
func post(t testing.TB, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			cd += `; filename="` + p.filename + `"`
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = pw.Write([]byte(p.value))
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), buf.Bytes()
}

// sendGridHeaders are the raw headers of a reply as Inbound Parse's "headers" field
// carries them.
const sendGridHeaders = "Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Wed, 27 Jul 2016 20:53:06 +0000 (UTC)\n" +
	"From: Ada Lovelace <Ada@Example.com>\n" +
	"Date: Mon, 7 Dec 2026 10:00:00 +0100\n" +
	"Message-ID: <CAJ1x=abc123@mail.example.com>\n" +
	"Subject: Re: Your invoice INV-1001 is overdue\n" +
	"To: Acme Accounts <accounts+0123456789abcdef0123@acme.example>\n" +
	"Content-Type: multipart/alternative; boundary=001a113df448cad2d00538b4ab27\n"

func TestParseSendGridPost(t *testing.T) {
	ct, body := post(t,
		part{name: "headers", value: sendGridHeaders},
		part{name: "dkim", value: "{@example.com : pass}"},
		part{name: "content-ids", value: "{}"},
		part{name: "to", value: "Acme Accounts <accounts+0123456789abcdef0123@acme.example>"},
		part{name: "html", value: "<div>We already paid INV-1001.</div>"},
		part{name: "from", value: "Ada Lovelace <Ada@Example.com>"},
		part{name: "text", value: "We already paid INV-1001.\n\nOn Mon, Acme wrote:\n> Please pay.\n"},
		part{name: "sender_ip", value: "209.85.223.175"},
		part{name: "spam_report", value: "Spam detection software..."},
		part{name: "envelope", value: `{"to":["accounts+0123456789abcdef0123@acme.example"],"from":"ada@example.com"}`},
		part{name: "attachments", value: "1"},
		part{name: "subject", value: "Re: Your invoice INV-1001 is overdue"},
		part{name: "spam_score", value: "0.012"},
		part{name: "attachment-info", value: `{"attachment1":{"filename":"receipt.pdf","type":"application/pdf"}}`},
		part{name: "charsets", value: `{"to":"UTF-8","html":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}`},
		part{name: "SPF", value: "pass"},
		part{name: "attachment1", filename: "receipt.pdf", contentType: "application/pdf", value: "%PDF-1.4 " + strings.Repeat("x", 10_000)},
	)
	m, err := Parse(ct, bytes.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, Mail{MessageID: "CAJ1x=abc123@mail.example.com", From: "ada@example.com",
		To: []string{"accounts+0123456789abcdef0123@acme.example"}, Subject: "Re: Your invoice INV-1001 is overdue",
		Text: "We already paid INV-1001.\n\nOn Mon, Acme wrote:\n> Please pay.\n"}, m)
}

func TestParseCharsetsHTMLAndRaw(t *testing.T) {
	// Latin-1 text, as the charsets field says; an RFC 2047 subject.
	ct, body := post(t,
		part{name: "from", value: "kunde@example.de"},
		part{name: "to", value: "accounts@acme.example"},
		part{name: "subject", value: "=?UTF-8?Q?Re:_Zahlungserinnerung_f=C3=BCr_INV-7?="},
		part{name: "text", value: "Bereits \xfcberwiesen."},
		part{name: "charsets", value: `{"text":"iso-8859-1","subject":"UTF-8"}`},
	)
	m, err := Parse(ct, bytes.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, "Re: Zahlungserinnerung für INV-7", m.Subject)
	require.Equal(t, "Bereits überwiesen.", m.Text)
	require.True(t, strings.HasPrefix(m.MessageID, "sha256:"), "no headers: the content's hash")

	// Only HTML.
	ct, body = post(t, part{name: "from", value: "a@example.com"}, part{name: "html",
		value: "<html><head><style>p{}</style></head><body><p>Paid on Monday.</p><script>x()</script><br>Ada</body></html>"})
	m, err = Parse(ct, bytes.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, "Paid on Monday.\n\nAda", m.Text)

	// The raw MIME message, quoted-printable text beside base64 HTML and an attachment.
	raw := "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\r\n" +
		"To: accounts+0123456789abcdef0123@acme.example\r\n" +
		"Cc: boss@example.jp\r\n" +
		"Subject: =?UTF-8?B?UmU6IOiri+axguabuA==?=\r\n" +
		"Message-Id: <raw-1@example.jp>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n" +
		"--inner\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"=E5=85=88=E9=80=B1=E3=81=8A=E6=94=AF=E6=89=95=E3=81=84=E3=81=97=E3=81=BE=E3=81=97=E3=81=9F=E3=80=82\r\n" +
		"--inner\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aHRtbDwvYj4=\r\n" +
		"--inner--\r\n" +
		"--outer\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nnot the text\r\n" +
		"--outer--\r\n"
	ct, body = post(t, part{name: "email", value: raw}, part{name: "envelope", value: `{"to":["accounts+0123456789abcdef0123@acme.example"]}`})
	m, err = Parse(ct, bytes.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, Mail{MessageID: "raw-1@example.jp", From: "yamada@example.jp",
		To: []string{"accounts+0123456789abcdef0123@acme.example", "boss@example.jp"}, Subject: "Re: 請求書", Text: "先週お支払いしました。"}, m)
}

func TestParseRefusals(t *testing.T) {
	ct, good := post(t, part{name: "from", value: "a@example.com"}, part{name: "text", value: "hi"})
	_, err := Parse("application/json", bytes.NewReader(good))
	require.Equal(t, webhooks.FieldError{"Content-Type": "must be multipart/form-data with a boundary, as Inbound Parse posts"}, err)
	for name, c := range map[string]struct {
		parts []part
		field string
	}{
		"no sender":       {[]part{{name: "text", value: "hi"}}, "from"},
		"bad sender":      {[]part{{name: "from", value: "not an address"}}, "from"},
		"bad envelope":    {[]part{{name: "from", value: "a@example.com"}, {name: "envelope", value: "[1"}}, "envelope"},
		"bad charsets":    {[]part{{name: "from", value: "a@example.com"}, {name: "charsets", value: "x"}}, "charsets"},
		"unknown charset": {[]part{{name: "from", value: "a@example.com"}, {name: "text", value: "x"}, {name: "charsets", value: `{"text":"klingon"}`}}, "text"},
		"twice":           {[]part{{name: "from", value: "a@example.com"}, {name: "from", value: "b@example.com"}}, "from"},
		"huge text":       {[]part{{name: "from", value: "a@example.com"}, {name: "text", value: strings.Repeat("x", MaxFieldBytes+1)}}, "text"},
		"raw not MIME":    {[]part{{name: "email", value: "no headers here"}}, "email"},
		// The ledger stores no NUL and no invalid UTF-8: each was a 500, retried by SendGrid.
		"NUL in text":      {[]part{{name: "from", value: "a@example.com"}, {name: "text", value: "paid\x00"}}, "text"},
		"NUL in subject":   {[]part{{name: "from", value: "a@example.com"}, {name: "subject", value: "Re:\x00"}}, "subject"},
		"NUL in raw email": {[]part{{name: "email", value: "From: a@example.com\r\n\r\npaid\x00 INV-1\r\n"}}, "email"},
		"long message id":  {[]part{{name: "from", value: "a@example.com"}, {name: "headers", value: "Message-ID: <" + strings.Repeat("x", 1000) + ">\n"}}, "headers"},
	} {
		ct, body := post(t, c.parts...)
		_, err := Parse(ct, bytes.NewReader(body))
		var fe webhooks.FieldError
		require.ErrorAs(t, err, &fe, name)
		require.Contains(t, fe, c.field, name)
	}
	_, err = Parse(ct, bytes.NewReader(good[:len(good)/2]))
	var fe webhooks.FieldError
	require.ErrorAs(t, err, &fe, "a truncated body")
	require.Equal(t, webhooks.FieldError{"from": "is not a well-formed multipart body: unexpected EOF"}, fe, "the part cut short is named")
}

func FuzzParse(f *testing.F) {
	ct, body := post(f, part{name: "headers", value: sendGridHeaders}, part{name: "from", value: "a@example.com"},
		part{name: "text", value: "We paid INV-1."}, part{name: "charsets", value: `{"text":"iso-8859-1"}`})
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	f.Add(body)
	_, raw := post(f, part{name: "email", value: "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--b--\r\n"})
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse("multipart/form-data; boundary="+boundary, bytes.NewReader(b))
		if err != nil {
			return
		}
		require.NotEmpty(t, m.MessageID)
		require.LessOrEqual(t, len(m.MessageID), MaxMessageIDBytes+len("sha256:"))
		require.NotEmpty(t, m.From)
		require.LessOrEqual(t, len([]rune(m.Text)), MaxTextChars)
		require.True(t, utf8.ValidString(m.Text) && !strings.ContainsRune(m.Text, 0), "the ledger can store the text")
		require.LessOrEqual(t, len([]rune(m.Subject)), MaxSubjectChars)
		_ = Says(m.Subject, Fresh(m.Text))
	})
}
