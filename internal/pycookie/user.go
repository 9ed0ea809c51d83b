package pycookie

import (
	"encoding/json"
	"strings"
)

// userID reads a user id stored as a JSON string or integer.
func userID(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if t := strings.TrimSpace(string(raw)); t != "" && strings.Trim(t, "0123456789-") == "" {
		return t
	}
	return ""
}

func quote(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
