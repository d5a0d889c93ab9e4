package templates

import (
	"strings"
	"unicode/utf8"
)

// SMS encodings.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// gsm7 is the GSM 03.38 basic character set; gsm7Ext characters take two septets.
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// SMSInfo says how a text travels: its encoding, its length in that encoding's units
// (septets for GSM-7, UTF-16 code units for UCS-2) and how many segments it is
// billed as. One segment holds 160 GSM-7 septets or 70 UCS-2 units; a longer text is
// split into segments of 153 or 67 (the rest is the concatenation header).
type SMSInfo struct {
	Encoding string `json:"encoding"`
	Units    int    `json:"units"`
	Segments int    `json:"segments"`
}

// MultiSegment reports whether the text costs more than one segment: flagged, since a
// reminder should fit in one.
func (i SMSInfo) MultiSegment() bool { return i.Segments > 1 }

// MeasureSMS measures an SMS body.
func MeasureSMS(body string) SMSInfo {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7Ext, r):
			septets += 2
		default:
			gsm = false
		}
	}
	info := SMSInfo{Encoding: EncodingGSM7, Units: septets}
	single, multi := 160, 153
	if !gsm {
		units := 0
		for _, r := range body {
			units += utf16Len(r)
		}
		info = SMSInfo{Encoding: EncodingUCS2, Units: units}
		single, multi = 70, 67
	}
	switch {
	case info.Units == 0:
		info.Segments = 0
	case info.Units <= single:
		info.Segments = 1
	default:
		info.Segments = (info.Units + multi - 1) / multi
	}
	return info
}

func utf16Len(r rune) int {
	if r >= 0x10000 && utf8.ValidRune(r) {
		return 2
	}
	return 1
}
