package session

import "testing"

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "localhost:8080": true, "app.localhost:3000": true,
		"127.0.0.1": true, "127.0.0.1:8080": true, "127.8.9.10": true, "[::1]": true, "[::1]:8080": true, "::1": true,
		"[::ffff:127.0.0.1]:80": true,
		"example.com":           false, "example.com:443": false, "10.0.0.5:8080": false, "[fe80::1]:80": false,
		"localhost.example.com": false, "notlocalhost": false, "": false, "[::1": false, "1x.localhost": true, "192.0.2.1": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
