package kernel

import (
	"context"

	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/store"
)

// Person is a decrypted person, held only in memory while a request runs.
type Person struct {
	ID       string
	Name     string
	IDNumber string
	Parsed   models.IDNumber
}

// Seal encrypts personal data for storage.
func (s *Kernel) Seal(v string) (string, error) {
	out, err := s.PII.Seal(v)
	return out, Internal("seal", err)
}

// Person loads and decrypts a person by id, on the read pool: it reads
// outside any transaction.
func (s *Kernel) Person(ctx context.Context, id string) (Person, error) {
	if v := verifiedIn(ctx); v != nil && v.Person.ID == id {
		return s.OpenPerson(v.Person)
	}
	var row store.PersonRow
	if err := s.Read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if IsNotFound(err) {
			return Person{}, models.ErrNotFound
		}
		return Person{}, Internal("load person", err)
	}
	return s.OpenPerson(row)
}

// OpenPerson decrypts a person row.
func (s *Kernel) OpenPerson(row store.PersonRow) (Person, error) {
	name, err := s.PII.Open(row.NameSealed)
	if err != nil {
		return Person{}, Internal("open name", err)
	}
	idn, err := s.PII.Open(row.IDSealed)
	if err != nil {
		return Person{}, Internal("open id", err)
	}
	parsed, err := models.ParseIDNumber(idn)
	if err != nil {
		return Person{}, Internal("stored id", err)
	}
	return Person{ID: row.ID, Name: name, IDNumber: idn, Parsed: parsed}, nil
}

// SelfPerson returns the person the caller is bound to, or
// ErrIdentityRequired.
func (s *Kernel) SelfPerson(ctx context.Context, userID string) (Person, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return Person{}, err
	}
	if u.PersonID == nil {
		return Person{}, models.ErrIdentityRequired
	}
	return s.Person(ctx, *u.PersonID)
}

// NewPersonRow is the persons row of a person seen for the first time:
// name and ID number sealed, the ID number's blind index to find them by.
// Every way a person is registered (binding, family, a unit's roster)
// builds the row here, so all store the same.
func (s *Kernel) NewPersonRow(name string, id models.IDNumber) (store.PersonRow, error) {
	idSealed, err := s.Seal(id.Number)
	if err != nil {
		return store.PersonRow{}, err
	}
	nameSealed, err := s.Seal(name)
	if err != nil {
		return store.PersonRow{}, err
	}
	return store.PersonRow{ID: NewID("p"), IDIndex: s.PII.BlindIndex("id_number", id.Number), IDSealed: idSealed,
		NameSealed: nameSealed, BirthDate: id.Birth.Format("2006-01-02"), Male: id.Male, IDRegion: id.Region,
		CreatedAt: s.Now()}, nil
}
