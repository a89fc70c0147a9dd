package handlers_test

import (
	"net/http"
	"testing"

	"github.com/lianban/lianban/models"
)

// TestUnitIdempotencyKeysAreTheUnits: a stored answer under an
// Idempotency-Key belongs to the unit it was given for, and is given
// again only to someone still acting for that unit. Before, the key was
// scoped to the user and operation alone: the same key and body on
// another unit replayed the first unit's answer (its declaration, or its
// refusal, for a unit that never declared), and an operator the unit had
// removed still got the unit's answers replayed.
func TestUnitIdempotencyKeysAreTheUnits(t *testing.T) {
	_, cl, _ := newHTTPEnv(t)
	o := makeUnitOwner(t, cl)

	// The legal representative binds a second unit with an employee.
	var b struct {
		UnitID string `json:"unit_id"`
	}
	if st := cl.DoJSON("POST", "/api/v1/units", o.token, map[string]string{"uscc": models.MakeUSCC("91150100MA0LB5555"), "name": "呼和浩特某某商贸有限公司"}, &b); st != 201 {
		t.Fatalf("bind second unit: %d", st)
	}
	if st, body := cl.Do("POST", "/api/v1/units/"+b.UnitID+"/registrations", o.token, map[string]string{"scheme": "enterprise_pension", "region_code": "150100"}); st != 201 {
		t.Fatalf("register: %d %s", st, body)
	}
	emp := []map[string]any{{"name": "刘某某", "id_number": rosterID(1), "wage_fen": 800000, "from_period": "202611"}}
	if st, body := cl.Do("POST", "/api/v1/units/"+b.UnitID+"/employees", o.token, emp); st != 201 {
		t.Fatalf("employees: %d %s", st, body)
	}

	// The first unit has nobody to declare; the second has.
	decl := map[string]string{"period": "202611"}
	first := cl.Send("POST", "/api/v1/units/"+o.unitID+"/declarations", o.token, decl, "Idempotency-Key", "same-key")
	if first.Status == http.StatusCreated {
		t.Fatalf("a unit without employees declared: %s", first.Body)
	}
	second := cl.Send("POST", "/api/v1/units/"+b.UnitID+"/declarations", o.token, decl, "Idempotency-Key", "same-key")
	if second.Status != http.StatusCreated || second.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the second unit's declaration got %d %s (replayed %q): another unit's answer", second.Status, second.Body, second.Header.Get("Idempotent-Replayed"))
	}

	// An operator's stored answer is not replayed once they are removed.
	ag := map[string]string{"bank_code": "ICBC", "account_name": "内蒙古联办示范科技有限公司", "account_no": "6222020200443322"}
	if r := cl.Send("POST", "/api/v1/units/"+o.unitID+"/agreements", o.opToken, ag, "Idempotency-Key", "op-key"); r.Status != http.StatusCreated {
		t.Fatalf("operator's agreement: %d %s", r.Status, r.Body)
	}
	if st, body := cl.Do("DELETE", "/api/v1/units/"+o.unitID+"/operators/"+o.operatorID, o.token, nil); st != http.StatusNoContent {
		t.Fatalf("remove operator: %d %s", st, body)
	}
	if r := cl.Send("POST", "/api/v1/units/"+o.unitID+"/agreements", o.opToken, ag, "Idempotency-Key", "op-key"); r.Status != http.StatusNotFound {
		t.Fatalf("a removed operator's retry: %d %s (replayed %q)", r.Status, r.Body, r.Header.Get("Idempotent-Replayed"))
	}
}
