package servicetest

import (
	"context"
	"testing"

	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
)

// SonDeclaresForMother: 张三明 adds his mother 李秀英 (a pay-only link),
// enrols her in resident medical and declares her first payable; she has
// an account of her own.
func SonDeclaresForMother(t *testing.T, env *Env) (son, mom people.Session, d contrib.Declaration) {
	t.Helper()
	ctx := context.Background()
	zhang, li := Person(t, "张三明"), Person(t, "李秀英")
	son = env.LoginVerified(t, "zhang", zhang.Name, zhang.IDNumber)
	mom = env.LoginVerified(t, "li", li.Name, li.IDNumber)
	m := Family(t, env, son, li.Name, li.IDNumber, people.RelationParent)
	ref := people.PersonRef{MemberID: m.MemberID}
	EnrolMedical(t, env, son, ref)
	pbs, err := env.Svc.QueryPayables(ctx, son.UserID, ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err = env.Svc.CreateDeclaration(ctx, son.UserID, contrib.DeclareInput{PayableID: pbs[0].PayableID, OptionCode: pbs[0].Options[0].Code})
	if err != nil {
		t.Fatal(err)
	}
	return son, mom, d
}
