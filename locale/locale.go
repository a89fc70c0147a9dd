package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Lang is one of the catalogs' languages, as a BCP 47 tag.
type Lang string

// The languages lianban speaks. Chinese is the reference: every message
// exists there first.
const (
	Chinese   Lang = "zh-CN"
	Mongolian Lang = "mn-Mong"
)

// Langs are the catalogs' languages, the reference first.
var Langs = []Lang{Chinese, Mongolian}

// ReviewPending marks a Mongolian message no native speaker has signed off.
const ReviewPending = "review: pending"

//go:embed messages/*.json
var files embed.FS

// Catalog is every message of every language, loaded once at start.
type Catalog struct {
	bundle     *i18n.Bundle
	localizers map[Lang]*i18n.Localizer
	messages   map[Lang]map[string]*i18n.Message
}

// Load parses the embedded catalogs.
func Load() (*Catalog, error) {
	b := i18n.NewBundle(language.Make(string(Chinese)))
	c := &Catalog{bundle: b, localizers: map[Lang]*i18n.Localizer{}, messages: map[Lang]map[string]*i18n.Message{}}
	for _, l := range Langs {
		c.messages[l] = map[string]*i18n.Message{}
	}
	err := fs.WalkDir(files, "messages", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		buf, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		mf, err := b.ParseMessageFileBytes(buf, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		lang, ok := c.lang(mf.Tag)
		if !ok {
			return fmt.Errorf("%s: language %s is not one of %v", p, mf.Tag, Langs)
		}
		for _, m := range mf.Messages {
			if _, dup := c.messages[lang][m.ID]; dup {
				return fmt.Errorf("%s: message %q is defined twice for %s", path.Base(p), m.ID, lang)
			}
			c.messages[lang][m.ID] = m
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("locale: %w", err)
	}
	for _, l := range Langs {
		c.localizers[l] = i18n.NewLocalizer(b, string(l))
	}
	return c, nil
}

func (c *Catalog) lang(t language.Tag) (Lang, bool) {
	for _, l := range Langs {
		if t == language.Make(string(l)) {
			return l, true
		}
	}
	return "", false
}

// Match picks the language for a request: an explicit choice (the pages'
// switch, "?lang=") first, then Accept-Language; any Mongolian tag ("mn",
// "mn-CN", "mn-Mong") is Mongolian, everything else Chinese.
func Match(choice, acceptLanguage string) Lang {
	if l, ok := parse(choice); ok {
		return l
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil {
		return Chinese
	}
	for _, t := range tags {
		if l, ok := parse(t.String()); ok {
			return l
		}
	}
	return Chinese
}

func parse(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", false
	case s == "mn" || strings.HasPrefix(s, "mn-"):
		return Mongolian, true
	case s == "zh" || strings.HasPrefix(s, "zh-"):
		return Chinese, true
	}
	return "", false
}

// Message is the text of id in lang; fallback when the catalog has no
// such message (an error code added without a catalog entry still reads
// in Chinese rather than as a key).
func (c *Catalog) Message(lang Lang, id, fallback string) string {
	if c == nil {
		return fallback
	}
	loc, ok := c.localizers[lang]
	if !ok {
		return fallback
	}
	if _, ok := c.messages[lang][id]; !ok {
		return fallback
	}
	s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	if err != nil {
		return fallback
	}
	return s
}

// Strings is every message of lang whose id starts with one of prefixes,
// for a page to load as JSON.
func (c *Catalog) Strings(lang Lang, prefixes ...string) map[string]string {
	out := map[string]string{}
	for id, m := range c.messages[lang] {
		for _, p := range prefixes {
			if strings.HasPrefix(id, p) {
				out[id] = m.Other
				break
			}
		}
	}
	return out
}

// IDs lists the ids of lang, sorted.
func (c *Catalog) IDs(lang Lang) []string {
	ids := make([]string, 0, len(c.messages[lang]))
	for id := range c.messages[lang] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Pending lists the ids of lang not yet signed off by a native speaker.
func (c *Catalog) Pending(lang Lang) []string {
	var out []string
	for _, id := range c.IDs(lang) {
		if !strings.Contains(c.messages[lang][id].Description, "review: signed-off") {
			out = append(out, id)
		}
	}
	return out
}

// Description is the translator's note of id in lang.
func (c *Catalog) Description(lang Lang, id string) string {
	if m, ok := c.messages[lang][id]; ok {
		return m.Description
	}
	return ""
}
