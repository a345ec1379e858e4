package ops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every truncation of a token file is refused, never read as a shorter token.
func TestEveryTruncationIsAnError(t *testing.T) {
	file, err := os.ReadFile(filepath.Join("..", "testdata", "python_token_file.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseTokenFile(string(file)); err != nil {
		t.Fatalf("the whole file: %v", err)
	}
	for n := 0; n < len(file); n++ {
		_, err := parseTokenFile(string(file[:n]))
		if err == nil {
			t.Fatalf("the first %d of %d bytes parse as a token file", n, len(file))
		}
		msg := err.Error()
		if strings.Contains(msg, "eyJ") || strings.Contains(msg, "5f0c9a3b") {
			t.Fatalf("prefix %d: the error quotes the content: %s", n, msg)
		}
	}
}
