package contrib

import (
	"context"
	"testing"

	"github.com/lianban/lianban/service/kernel"
	"github.com/lianban/lianban/store"
	"github.com/lianban/lianban/store/storetest"
)

// A read that took the version before a write committed and invalidated
// stores what it read under the old version: that entry is never served,
// where deleting the entry on write would have let it back in. An entry
// built under the current version is.
//
// On every Redis target: on a cluster the version and the entry are read
// with one MGET, which works only while their keys share a hash tag.
func TestPayablesEntryBuiltBeforeAWriteIsNeverServed(t *testing.T) {
	for _, rt := range storetest.RedisTargets() {
		t.Run(rt.Name, func(t *testing.T) { testPayablesEntryBuiltBeforeAWrite(t, rt.Open(t)) })
	}
}

func testPayablesEntryBuiltBeforeAWrite(t *testing.T, r *store.Redis) {
	s := &Contrib{Kernel: kernel.New(kernel.Deps{Redis: r}, kernel.Defaults())}
	ctx := context.Background()
	pid := kernel.NewID("p")
	v, e, ok := s.loadPayables(ctx, pid)
	if !ok || e != nil || v != "0" {
		t.Fatalf("fresh person: version %q entry %v ok %v", v, e, ok)
	}
	s.ForgetPayables(ctx, pid) // the write commits between the read's version and its store
	s.storePayables(ctx, pid, payablesEntry{Version: v, Enrolments: []store.EnrolmentRow{{ID: "stale"}}})
	if _, e, _ := s.loadPayables(ctx, pid); e != nil {
		t.Fatalf("served an entry built before the write: %+v", e)
	}
	v2, _, _ := s.loadPayables(ctx, pid)
	s.storePayables(ctx, pid, payablesEntry{Version: v2, Enrolments: []store.EnrolmentRow{{ID: "fresh"}}})
	if _, e, _ := s.loadPayables(ctx, pid); e == nil || e.Enrolments[0].ID != "fresh" {
		t.Fatalf("entry of the current version not served: %+v", e)
	}
	s.ForgetPayables(ctx, pid)
	if _, e, _ := s.loadPayables(ctx, pid); e != nil {
		t.Fatalf("served after ForgetPayables: %+v", e)
	}
}
