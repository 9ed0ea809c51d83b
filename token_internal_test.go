package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestTokensAre256RandomBitsBase64URL(t *testing.T) {
	seen := make(map[string]bool, 100_000)
	for range 100_000 {
		tok, d, err := newToken(randReader{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != TokenLength {
			t.Fatalf("token length %d, want %d", len(tok), TokenLength)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token does not decode to 32 bytes: %v (%d)", err, len(raw))
		}
		if d != sha256.Sum256(raw) {
			t.Fatal("digest is not SHA-256 of the token bytes")
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) { copy(p, randomKey(len(p))); return len(p), nil }

// Every byte of the token comes from the configured reader: nothing is
// derived from time, counters or the user.
func TestTokenBytesComeFromReader(t *testing.T) {
	src := bytes.Repeat([]byte{0xA5}, 32)
	tok, _, err := newToken(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(src); tok != want {
		t.Fatalf("token %q, want %q", tok, want)
	}
	if _, _, err := newToken(bytes.NewReader(src[:31])); err == nil {
		t.Fatal("a short read produced a token")
	}
}

func TestParseToken(t *testing.T) {
	good, d, _ := newToken(randReader{})
	if got, ok := parseToken(good); !ok || got != d {
		t.Fatal("a fresh token does not parse to its digest")
	}
	// The last character carries 2 unused bits; only the canonical
	// encoding is accepted.
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	raw[31] &^= 0x0f
	canon := base64.RawURLEncoding.EncodeToString(raw)
	nonCanon := canon[:42] + string(base64URL[strings.IndexByte(base64URL, canon[42])+1])
	cases := map[string]string{
		"empty":          "",
		"short":          good[:42],
		"long":           good + "A",
		"std alphabet +": "+" + good[1:],
		"std alphabet /": "/" + good[1:],
		"padding":        good[:42] + "=",
		"path traversal": "../../../../etc/passwd" + strings.Repeat("A", 21),
		"space":          " " + good[1:],
		"non-ASCII":      "é" + good[2:],
		"NUL":            "\x00" + good[1:],
		"non-canonical":  nonCanon,
		"10 KB":          strings.Repeat("A", 10<<10),
	}
	for name, in := range cases {
		if _, ok := parseToken(in); ok {
			t.Errorf("%s: %q accepted", name, in)
		}
	}
	if _, ok := parseToken(canon); !ok {
		t.Error("canonical token rejected")
	}
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestLogHashIsKeyedAndShort(t *testing.T) {
	_, d, _ := newToken(randReader{})
	a := logHash(bytes.Repeat([]byte{1}, 32), d)
	b := logHash(bytes.Repeat([]byte{2}, 32), d)
	if a == b {
		t.Fatal("log hash does not depend on the key")
	}
	if len(a) != 16 || strings.Contains(d.String(), a) {
		t.Fatalf("log hash %q reveals the digest or has the wrong length", a)
	}
}

func FuzzParseToken(f *testing.F) {
	good, _, _ := newToken(randReader{})
	for _, s := range []string{"", good, good + "=", good[:42], strings.Repeat("\xff", 43), "../" + good[3:], "ééééééééééééééééééééé\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseToken(s)
		if !ok {
			return
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(raw) != 32 || len(s) != TokenLength {
			t.Fatalf("accepted %q", s)
		}
		if base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("accepted non-canonical %q", s)
		}
		if d != sha256.Sum256(raw) {
			t.Fatal("wrong digest")
		}
	})
}
