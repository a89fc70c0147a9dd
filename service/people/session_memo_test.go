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
		if len(m.m) > 3 {
			t.Fatalf("%d sessions kept, the bound is 3", len(m.m))
		}
	}
}
