package taxapp_test

import (
	"io"
	"net/http"
)

type httpGetter struct{}

func (httpGetter) get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
