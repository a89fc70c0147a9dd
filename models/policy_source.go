package models

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// Reliability tags of a PolicySource, as in shared/research/domain.md.
const (
	SourceOfficial    = "OFF"         // a government or tax-bureau page
	SourceMedia       = "MEDIA"       // news, or a repost of an official notice
	SourceThirdParty  = "3P"          // a third-party page: a hint until checked
	SourceGeneral     = "GK"          // general knowledge, not found in the research
	SourceUnverified  = "UNVERIFIED"  // no source found; a placeholder
	SourceProvisional = "PROVISIONAL" // 暂定: carried over from an earlier year
)

// SourceTags lists the tags a PolicySource may carry.
var SourceTags = []string{SourceOfficial, SourceMedia, SourceThirdParty, SourceGeneral, SourceUnverified, SourceProvisional}

// SourceRef names one document or page. Title is the document's own title
// where it is known; for a page whose title was not recorded it says what
// the page is. Fields that are not known stay empty rather than guessed.
type SourceRef struct {
	Tag    string `json:"tag" yaml:"tag"`
	Title  string `json:"title" yaml:"title"`
	Issuer string `json:"issuer" yaml:"issuer"`
	DocNo  string `json:"doc_no" yaml:"doc_no"`
	URL    string `json:"url" yaml:"url"`
	Date   string `json:"date" yaml:"date"`
}

// PolicySource is where one block of fee figures comes from: the main
// reference, a note saying which figure it supports and which are not
// verified, and further references.
type PolicySource struct {
	SourceRef `yaml:",inline"`
	Note      string      `json:"note" yaml:"note"`
	Also      []SourceRef `json:"also" yaml:"also"`
}

// UnmarshalYAML replaces the whole source. yaml.v3 decodes a mapping into
// an existing struct field by field, so without this a region override or
// a block built on a YAML anchor (`<<: *x`) would keep the URL or document
// number of the source it replaces. Unknown keys are refused, as elsewhere
// in the policy file.
func (s *PolicySource) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errors.New("source must be a mapping {tag, title, issuer, doc_no, url, date, note, also}")
	}
	src, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	type plain PolicySource // no UnmarshalYAML method: no recursion
	var p plain
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	*s = PolicySource(p)
	return nil
}

var sourceDate = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$`)

func validateSourceRef(r SourceRef) error {
	switch {
	case !slices.Contains(SourceTags, r.Tag):
		return fmt.Errorf("source tag %q is not one of %v", r.Tag, SourceTags)
	case r.Title == "":
		return errors.New("source has no title")
	case r.URL == "" && (r.Tag == SourceOfficial || r.Tag == SourceMedia || r.Tag == SourceThirdParty):
		return fmt.Errorf("source %q is tagged %s but has no url", r.Title, r.Tag)
	case r.Date != "" && !sourceDate.MatchString(r.Date):
		return fmt.Errorf("source %q: date %q is not YYYY, YYYY-MM or YYYY-MM-DD", r.Title, r.Date)
	}
	return nil
}

// validateSource requires a tagged, titled source with a note, and allows
// verified only for an official page that was read (tag OFF with a url).
func validateSource(s PolicySource, verified bool) error {
	if s.Tag == "" && s.Title == "" && s.Note == "" {
		return errors.New("source is empty")
	}
	if err := validateSourceRef(s.SourceRef); err != nil {
		return err
	}
	if s.Note == "" {
		return fmt.Errorf("source %q has no note saying what it supports", s.Title)
	}
	for _, r := range s.Also {
		if err := validateSourceRef(r); err != nil {
			return fmt.Errorf("also: %w", err)
		}
	}
	if verified && (s.Tag != SourceOfficial || s.URL == "") {
		return fmt.Errorf("verified figures need an official (OFF) source with a url, got %s", s.Tag)
	}
	return nil
}

func cloneSource(s PolicySource) PolicySource {
	s.Also = cloneList(s.Also)
	return s
}
