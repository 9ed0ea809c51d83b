package storeurl

import (
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Issue 20, gap 9: the MySQL URL's parameters are parsed by the driver
// (timeouts, TLS) and its credentials cannot change the DSN's meaning;
// before, the URL was turned into a DSN by string concatenation.
func TestMySQLDSNThroughDriver(t *testing.T) {
	dsn, err := mysqlDSN("mysql://app:p%40ss%29w%2Frd@db.internal/sessions?timeout=2s&tls=skip-verify&parseTime=true&loc=Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("the DSN does not parse back: %v", err)
	}
	if cfg.User != "app" || cfg.Passwd != "p@ss)w/rd" || cfg.Addr != "db.internal:3306" || cfg.DBName != "sessions" ||
		cfg.Timeout != 2*time.Second || cfg.TLSConfig != "skip-verify" || !cfg.ParseTime || cfg.Loc.String() != "Europe/Paris" {
		t.Fatalf("parsed back: user %q pass %q addr %q db %q timeout %v tls %q parseTime %v",
			cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName, cfg.Timeout, cfg.TLSConfig, cfg.ParseTime)
	}
	for _, bad := range []string{"mysql://u:hunter2@h/db?timeout=soon", "mysql://u:hunter2@h/db?parseTime=maybe", "mysql://u%3Ax:hunter2@h/db", "mysql://u:hunter2%zz@h/db"} {
		_, err := mysqlDSN(bad)
		if err == nil {
			t.Errorf("%s accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("password in error: %v", err)
		}
	}
}
