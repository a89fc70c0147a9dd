package models

import (
	"errors"
	"testing"
	"time"
)

func TestRetirementMonth(t *testing.T) {
	// Expected months follow the tables published with the 2024 decision
	// (e.g. a man born 1965-01 retires at 60 years 1 month, in 2025-02).
	tests := []struct {
		name      string
		birth     time.Time
		male      bool
		femaleAge int
		want      string // YYYY-MM
	}{
		{"a man born in December 1964 keeps the original age of 60", date(1964, 12, 31), true, 55, "2024-12"},
		{"a man born in January 1965 retires at 60 years 1 month", date(1965, 1, 15), true, 55, "2025-02"},
		{"a man born in April 1965 still retires at 60 years 1 month", date(1965, 4, 30), true, 55, "2025-05"},
		{"a man born in May 1965 retires at 60 years 2 months", date(1965, 5, 1), true, 55, "2025-07"},
		{"a man born in August 1976 retires at 62 years 11 months", date(1976, 8, 1), true, 55, "2039-07"},
		{"a man born in September 1976 reaches the cap of 63", date(1976, 9, 1), true, 55, "2039-09"},
		{"a man born in December 1976 retires at 63", date(1976, 12, 1), true, 55, "2039-12"},
		{"a man born in 1990 retires at 63, the cap", date(1990, 3, 7), true, 55, "2053-03"},
		{"the female age is ignored for a man", date(1965, 1, 15), true, 50, "2025-02"},
		{"a woman (55) born in December 1969 keeps 55", date(1969, 12, 1), false, 55, "2024-12"},
		{"a woman (55) born in January 1970 retires at 55 years 1 month", date(1970, 1, 1), false, 55, "2025-02"},
		{"a woman (55) born in May 1970 retires at 55 years 2 months", date(1970, 5, 1), false, 55, "2025-07"},
		{"a woman (55) born in September 1981 reaches the cap of 58", date(1981, 9, 1), false, 55, "2039-09"},
		{"a woman (55) born in 2000 retires at 58", date(2000, 6, 1), false, 55, "2058-06"},
		{"a woman (50) born in December 1974 keeps 50", date(1974, 12, 1), false, 50, "2024-12"},
		{"a woman (50) born in January 1975 retires at 50 years 1 month", date(1975, 1, 1), false, 50, "2025-02"},
		{"a woman (50) born in February 1975 still retires at 50 years 1 month", date(1975, 2, 1), false, 50, "2025-03"},
		{"a woman (50) born in March 1975 retires at 50 years 2 months", date(1975, 3, 1), false, 50, "2025-05"},
		{"a woman (50) born in October 1984 retires at 54 years 11 months", date(1984, 10, 1), false, 50, "2039-09"},
		{"a woman (50) born in November 1984 reaches the cap of 55", date(1984, 11, 1), false, 50, "2039-11"},
		{"a woman (50) born in 1995 retires at 55", date(1995, 1, 1), false, 50, "2050-01"},
		{"an unknown female age is taken as the default 55", date(1970, 1, 1), false, 52, "2025-02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RetirementMonth(tt.birth, tt.male, tt.femaleAge)
			if got.Format("2006-01") != tt.want || got.Day() != 1 || got.Location() != Beijing || got.Hour() != 0 {
				t.Fatalf("RetirementMonth = %s, want %s-01 00:00 Beijing", got, tt.want)
			}
		})
	}
}

func TestRetirementMonthNeverMovesEarlierForALaterBirth(t *testing.T) {
	for _, c := range []struct {
		male bool
		age  int
	}{{true, 55}, {false, 55}, {false, 50}} {
		prev := RetirementMonth(date(1950, 1, 1), c.male, c.age)
		for d := date(1950, 2, 1); d.Year() < 2010; d = d.AddDate(0, 1, 0) {
			got := RetirementMonth(d, c.male, c.age)
			if got.Before(prev) {
				t.Fatalf("male=%v age=%d: born %s retires %s, before %s", c.male, c.age, d.Format("2006-01"), got.Format("2006-01"), prev.Format("2006-01"))
			}
			prev = got
		}
	}
}

func TestCheckWorkingAge(t *testing.T) {
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, Beijing) }
	person := func(birth time.Time, seq int) IDNumber {
		id, err := ParseIDNumber(MakeIDNumber("150102", birth, seq))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	tests := []struct {
		name   string
		id     IDNumber
		now    time.Time
		reason string // "" = eligible
	}{
		{"a 30-year-old is of working age", person(date(1996, 5, 1), 1), at(2026, 11, 28), ""},
		{"a person one day before turning 16 is too young", person(date(2010, 11, 29), 2), at(2026, 11, 28), "未满16周岁，不能以灵活就业人员身份参保"},
		{"a person on the 16th birthday may enrol", person(date(2010, 11, 28), 2), at(2026, 11, 28), ""},
		{"a man born 1966-03-20 may still enrol on 2026-07-19, the day before 60 years 4 months", person(date(1966, 3, 20), 1), at(2026, 7, 19), ""},
		{"a man born 1966-03-20 has reached retirement age on 2026-07-20", person(date(1966, 3, 20), 1), at(2026, 7, 20),
			"已达到法定退休年龄（2026年7月），不能再以灵活就业人员身份参保"},
		{"a man born on the 31st reaches retirement age on the last day of a shorter month", person(date(1965, 1, 31), 1), at(2025, 2, 28),
			"已达到法定退休年龄（2025年2月），不能再以灵活就业人员身份参保"},
		{"a woman (55) born 1972-02-10 is past retirement in 2027", person(date(1972, 2, 10), 2), at(2027, 11, 28),
			"已达到法定退休年龄（2027年9月），不能再以灵活就业人员身份参保"},
		{"a man born 1965-06-15 is still of working age the day before 60 years 2 months", person(date(1965, 6, 15), 1), at(2025, 8, 14), ""},
		{"the day is counted in Beijing even when UTC is still on the day before", person(date(1965, 6, 15), 1), time.Date(2025, 8, 14, 16, 0, 0, 0, time.UTC),
			"已达到法定退休年龄（2025年8月），不能再以灵活就业人员身份参保"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckWorkingAge(tt.id, 55, tt.now)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("CheckWorkingAge = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrNotEligible) {
				t.Fatalf("CheckWorkingAge = %v, want ErrNotEligible", err)
			}
			if e, _ := AsError(err); e.Reason != tt.reason {
				t.Fatalf("reason = %q, want %q", e.Reason, tt.reason)
			}
		})
	}
}

func TestCheckWorkingAgeUsesThePolicyFemaleAge(t *testing.T) {
	id, _ := ParseIDNumber(MakeIDNumber("150102", date(1976, 1, 1), 2))
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, Beijing)
	// Original age 50: 1976-01 is 12 months after 1975-01 → +7 months → 2026-08.
	if err := CheckWorkingAge(id, 50, now); !errors.Is(err, ErrNotEligible) {
		t.Fatalf("with original age 50: %v, want ErrNotEligible", err)
	}
	if err := CheckWorkingAge(id, 55, now); err != nil {
		t.Fatalf("with original age 55: %v, want nil", err)
	}
}
