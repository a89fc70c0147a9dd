package servicetest

import (
	"context"
	"testing"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service/contrib"
	"github.com/lianban/lianban/service/people"
)

// Family adds a member and fails the test on error.
func Family(t *testing.T, env *Env, sess people.Session, name, idNumber, relation string) people.FamilyMember {
	t.Helper()
	m, err := env.Svc.AddFamilyMember(context.Background(), sess.UserID, people.FamilyInput{Name: name, IDNumber: idNumber, Relation: relation})
	if err != nil {
		t.Fatalf("add %s: %v", relation, err)
	}
	return m
}

// EnrolMedical enrols who in flexible medical insurance.
func EnrolMedical(t *testing.T, env *Env, sess people.Session, who people.PersonRef) {
	t.Helper()
	if _, err := env.Svc.CreateEnrolment(context.Background(), sess.UserID, contrib.EnrolInput{Person: who,
		Scheme: models.SchemeResidentMedical, RegionCode: "150100"}); err != nil {
		t.Fatal(err)
	}
}
