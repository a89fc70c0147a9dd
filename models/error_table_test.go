package models

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestErrorTableHoldsEverySentinel: an error declared with newErr but
// left out of ErrorTable would reach clients with no catalog entry, in
// Chinese whatever their language. The package's source is read, so a
// new sentinel fails here until it is listed.
func TestErrorTableHoldsEverySentinel(t *testing.T) {
	table := map[string]string{}
	for _, e := range ErrorTable() {
		if m, ok := table[e.Code]; ok && m != e.Message {
			t.Errorf("%s has two messages: %q and %q", e.Code, m, e.Message)
		}
		table[e.Code] = e.Message
	}
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	seen := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "newErr" || len(call.Args) != 3 {
				return true
			}
			code, msg := literal(t, fset, call.Args[1]), literal(t, fset, call.Args[2])
			seen++
			if got, ok := table[code]; !ok {
				t.Errorf("%s: %s is not in ErrorTable", fset.Position(call.Pos()), code)
			} else if got != msg {
				t.Errorf("%s: %s says %q, ErrorTable %q", fset.Position(call.Pos()), code, msg, got)
			}
			return true
		})
	}
	if seen < 80 {
		t.Fatalf("found only %d newErr calls: is the parse looking at the right files?", seen)
	}
}

func literal(t *testing.T, fset *token.FileSet, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		t.Fatalf("%s: newErr takes literal codes and messages", fset.Position(e.Pos()))
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNoErrorIsBuiltOutsideTheTable: an error made on the spot
// (&models.Error{…}) has a message no catalog knows, so it would reach a
// Mongolian reader in Chinese. Every error a client sees is a sentinel of
// ErrorTable (WithReason adds to one).
func TestNoErrorIsBuiltOutsideTheTable(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || n == "testdata" || (strings.HasPrefix(n, ".") && n != "..") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if cl, ok := n.(*ast.CompositeLit); ok {
				if sel, ok := cl.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "models" {
						t.Errorf("%s: models.Error built outside models.ErrorTable; declare a sentinel", fset.Position(cl.Pos()))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
