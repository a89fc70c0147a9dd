package kernel

// Page is a keyset page request: After is the last key of the previous page.
type Page struct {
	Size  int
	After string
}
