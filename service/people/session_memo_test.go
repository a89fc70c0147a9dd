package people

import (
	"fmt"
	"testing"

	"github.com/lianban/lianban/service/kernel"
)

func TestTheSessionMemoAnswersByTheExactBytesAndStaysBounded(t *testing.T) {
	m := newSessionMemo(3)
	a := []byte(`{"user_id":"u1","channel":"wechat"}`)
	s1, err := m.decode(a)
	if err != nil || s1.UserID != "u1" {
		t.Fatalf("%+v %v", s1, err)
	}
	// The caller's copy is its own: what a request does to it is not what
	// the next request of the session decodes.
	s1.UserID, s1.Verified = "someone else", &kernel.Verified{}
	if s2, _ := m.decode(a); s2.UserID != "u1" || s2.Verified != nil {
		t.Fatalf("a caller's change reached the memo: %+v", s2)
	}
	// One byte more (the session picked up its verified copy) is another
	// session value, decoded afresh.
	if s3, _ := m.decode([]byte(`{"user_id":"u1","channel":"wechat","verified":{"user":{"id":"u1"}}}`)); s3.Verified == nil || s3.Verified.User.ID != "u1" {
		t.Fatalf("%+v", s3)
	}
	if _, err := m.decode([]byte(`{"user_id":`)); err == nil {
		t.Fatal("a broken value decoded")
	}
	for i := range 10 {
		if _, err := m.decode(fmt.Appendf(nil, `{"user_id":"u%d"}`, i)); err != nil {
			t.Fatal(err)
		}
		// Touched on every round, a here to stay.
		if s, _ := m.decode(a); s.UserID != "u1" {
			t.Fatal(s)
		}
		if n := m.sessions.len(); n > 6 {
			t.Fatalf("%d sessions kept, the bound is two generations of 3", n)
		}
	}
	if _, current, ok := m.sessions.get(string(a)); !ok || !current {
		t.Fatal("a session in use aged out")
	}
	if _, _, ok := m.sessions.get(`{"user_id":"u0"}`); ok {
		t.Fatal("a session nobody used for two generations is still kept")
	}
}

func TestTheSessionMemoForgetsAnEndedSessionsPerson(t *testing.T) {
	m := newSessionMemo(2)
	m.rememberPerson("k1", "p1")
	m.rememberPerson("k2", "p2")
	m.rememberPerson("k3", "p3") // k1 and k2 move to the previous generation
	if m.personOf("k1") != "p1" || m.personOf("k3") != "p3" {
		t.Fatal("a remembered person is lost within two generations")
	}
	m.forget("k1")
	m.forget("k3")
	if m.personOf("k1") != "" || m.personOf("k3") != "" || m.personOf("k2") != "p2" {
		t.Fatal("forget")
	}
}
