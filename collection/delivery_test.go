package collection

import (
	"testing"
	"time"

	"github.com/dunwell/dunwell/policy"
)

func TestApplyDelivery(t *testing.T) {
	p := standardPolicy(t) // overdue-7 goes by sms, then email
	at := time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC)
	sent := func(step string, ch policy.Channel) Notice {
		return Notice{Step: step, Channel: ch, Status: NoticeSent, SentAt: at.Add(-time.Hour)}
	}
	everyone := func(policy.Channel) bool { return true }
	for _, tc := range []struct {
		name      string
		notices   []Notice
		step      string
		ch        policy.Channel
		status    string
		reachable func(policy.Channel) bool
		changed   bool
		delivery  string // of the first notice after
		fallbacks []Fallback
		undeliv   bool
	}{
		{"delivered", []Notice{sent("overdue-7", policy.SMS)}, "overdue-7", policy.SMS, DeliveryDelivered, everyone, true, DeliveryDelivered, nil, false},
		{"no such notice", []Notice{sent("overdue-7", policy.SMS)}, "overdue-7", policy.Email, DeliveryDelivered, everyone, false, "", nil, false},
		{"a failed notice gets no report", []Notice{{Step: "overdue-7", Channel: policy.SMS, Status: NoticeFailed}}, "overdue-7", policy.SMS, "undelivered", everyone, false, "", nil, false},
		{"a repeat", []Notice{{Step: "overdue-7", Channel: policy.SMS, Status: NoticeSent, Delivery: DeliveryDelivered}}, "overdue-7", policy.SMS, DeliveryDelivered, everyone, false, DeliveryDelivered, nil, false},
		{"a final failure stays", []Notice{{Step: "overdue-7", Channel: policy.SMS, Status: NoticeSent, Delivery: "undelivered"}}, "overdue-7", policy.SMS, DeliveryDelivered, everyone, false, "undelivered", nil, false},
		{"a bounce after delivered falls back", []Notice{{Step: "overdue-7", Channel: policy.SMS, Status: NoticeSent, Delivery: DeliveryDelivered}}, "overdue-7", policy.SMS, "undelivered", everyone, true, "undelivered", []Fallback{{Step: 2, Channel: policy.Email}}, false},
		{"a transient status changes no channel", []Notice{sent("overdue-7", policy.SMS)}, "overdue-7", policy.SMS, "queued", everyone, true, "queued", nil, false},
		{"undelivered sms falls back to email", []Notice{sent("overdue-7", policy.SMS)}, "overdue-7", policy.SMS, "undelivered", everyone, true, "undelivered", []Fallback{{Step: 2, Channel: policy.Email}}, false},
		{"an unreachable channel is not tried", []Notice{sent("overdue-7", policy.SMS)}, "overdue-7", policy.SMS, "failed", func(c policy.Channel) bool { return c == policy.SMS }, true, "failed", nil, true},
		{"every channel tried", []Notice{sent("overdue-7", policy.SMS), sent("overdue-7", policy.Email)}, "overdue-7", policy.Email, "bounce", everyone, true, "", nil, true},
		{"a single-channel step has nothing left", []Notice{sent("overdue-1", policy.Email)}, "overdue-1", policy.Email, "dropped", everyone, true, "dropped", nil, true},
		{"an installment reminder: recorded, no fallback", []Notice{sent("installment-1", policy.Email)}, "installment-1", policy.Email, "bounced", everyone, true, "bounced", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := State{Status: StatusOverdue, Notices: append([]Notice(nil), tc.notices...)}
			if got := s.ApplyDelivery(p, tc.step, tc.ch, tc.status, "carrier said no", at, tc.reachable); got != tc.changed {
				t.Fatalf("changed = %v, want %v", got, tc.changed)
			}
			if tc.delivery != "" && s.Notices[0].Delivery != tc.delivery {
				t.Fatalf("delivery %q, want %q", s.Notices[0].Delivery, tc.delivery)
			}
			if len(s.Fallbacks) != len(tc.fallbacks) || (len(tc.fallbacks) > 0 && s.Fallbacks[0] != tc.fallbacks[0]) {
				t.Fatalf("fallbacks %v, want %v", s.Fallbacks, tc.fallbacks)
			}
			last := s.Notices[len(s.Notices)-1]
			if undeliv := last.Status == NoticeUndeliverable; undeliv != tc.undeliv {
				t.Fatalf("undeliverable %v (notices %+v), want %v", undeliv, s.Notices, tc.undeliv)
			}
			if tc.undeliv && (last.Step != tc.step || last.Error != "every channel of the step failed; the last: "+tc.status) {
				t.Fatalf("undeliverable notice %+v", last)
			}
		})
	}
}

func TestApplyDeliveryRecordsWhenAndWhy(t *testing.T) {
	p := standardPolicy(t)
	at := time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC)
	s := State{Notices: []Notice{{Step: "overdue-1", Channel: policy.Email, Status: NoticeSent}}}
	s.ApplyDelivery(p, "overdue-1", policy.Email, "bounced", "mailbox unavailable", at, func(policy.Channel) bool { return true })
	n := s.Notices[0]
	if n.DeliveryAt == nil || !n.DeliveryAt.Equal(at) || n.DeliveryError != "mailbox unavailable" {
		t.Fatalf("notice %+v", n)
	}
}

func TestPermanentDeliveryFailure(t *testing.T) {
	for status, want := range map[string]bool{
		"bounced": true, "bounce": true, "dropped": true, "undelivered": true, "failed": true, "spamreport": true,
		"delivered": false, "queued": false, "sent": false, "deferred": false, "": false,
	} {
		if got := PermanentDeliveryFailure(status); got != want {
			t.Errorf("PermanentDeliveryFailure(%q) = %v, want %v", status, got, want)
		}
	}
}
