package handlers_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/lianban/lianban/store/storetest"
)

// TestTheServiceGuideNamesRealOperations reads listServices as a client
// does: the unit businesses carry their online steps and compiled
// markers, and every operation a step names is an operation of the spec.
func TestTheServiceGuideNamesRealOperations(t *testing.T) {
	db := storetest.Targets()[0].Open(t)
	r := newCertRig(t, db)
	ids := map[string]bool{}
	for _, item := range r.contract.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			ids[op.OperationID] = true
		}
	}
	var list struct {
		Items []struct {
			Code        string `json:"code"`
			OnlineSteps []struct {
				Step       string   `json:"step"`
				Operations []string `json:"operations"`
			} `json:"online_steps"`
			Compiled []string `json:"compiled"`
		} `json:"items"`
	}
	if st := r.cl.DoJSON(http.MethodGet, "/api/v1/services", "", nil, &list); st != 200 || len(list.Items) != 10 {
		t.Fatalf("listServices: %d, %d items", st, len(list.Items))
	}
	withSteps := map[string]bool{}
	for _, s := range list.Items {
		if len(s.OnlineSteps) > 0 {
			withSteps[s.Code] = true
			if !slices.Contains(s.Compiled, "online_steps") {
				t.Errorf("%s: online steps not marked compiled", s.Code)
			}
		}
		for _, st := range s.OnlineSteps {
			for _, op := range st.Operations {
				if !ids[op] {
					t.Errorf("%s: step %q names %q, no operation of the spec", s.Code, st.Step, op)
				}
			}
		}
	}
	for _, code := range []string{"mi_enrol_enterprise", "mi_enrol_institution", "si_enrol_enterprise", "si_enrol_institution",
		"tax_unit_declare_pay", "tax_unit_refund"} {
		if !withSteps[code] {
			t.Errorf("%s has no online steps", code)
		}
	}
	if len(withSteps) != 6 {
		t.Errorf("online steps on %v, want the six unit businesses", withSteps)
	}
}
