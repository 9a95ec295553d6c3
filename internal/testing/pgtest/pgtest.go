// Package pgtest connects tests to the throwaway PostgreSQL started by
// scripts/postgres.sh. Tests call SchemaURL, which gives each test a schema
// of its own (so that packages testing in parallel never meet), or skips the
// test when that PostgreSQL is not running (fails it when
// WPBRIDGE_REQUIRE_PG=1).
//
//	bash scripts/postgres.sh start
//	go test ./internal/store/
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// DefaultEnvFile is where scripts/postgres.sh writes its env file by default.
const DefaultEnvFile = "/tmp/wpbridge-pg/env"

// URL returns the test database's URL: $WPBRIDGE_PG_URL, else the
// WPBRIDGE_PG_URL of the env file named by $WPBRIDGE_PG_ENV (default
// DefaultEnvFile). Without one, or when the database does not answer, the
// test is skipped (the first skip in a package prints one line saying how to
// run those tests), or fails when WPBRIDGE_REQUIRE_PG=1.
func URL(t testing.TB) string {
	t.Helper()
	u, err := find()
	if err == nil {
		err = ping(u)
	}
	if err != nil {
		if os.Getenv("WPBRIDGE_REQUIRE_PG") == "1" {
			t.Fatalf("test PostgreSQL required: %v (run: bash scripts/postgres.sh start)", err)
			return ""
		}
		printNotice(err)
		t.Skipf("no test PostgreSQL: %v (run: bash scripts/postgres.sh start)", err)
		return ""
	}
	return u
}

func find() (string, error) {
	if u := os.Getenv("WPBRIDGE_PG_URL"); u != "" {
		return u, nil
	}
	path := os.Getenv("WPBRIDGE_PG_ENV")
	if path == "" {
		path = DefaultEnvFile
	}
	vals, err := wptest.ReadEnvFile(path)
	if err != nil {
		return "", err
	}
	if vals["WPBRIDGE_PG_URL"] == "" {
		return "", fmt.Errorf("%s lacks WPBRIDGE_PG_URL", path)
	}
	return vals["WPBRIDGE_PG_URL"], nil
}

func ping(u string) error {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("database does not answer: %w", err)
	}
	return nil
}

// SchemaURL creates an empty schema for the test, dropped when the test ends
// (after the cleanups registered later, such as closing the database), and
// returns the test database's URL with search_path set to it: everything the
// test creates, River's tables included, lands there.
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := URL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "wpbt_" + hex.EncodeToString(b)
	Exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { Exec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse WPBRIDGE_PG_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs statement on the database at u.
func Exec(t testing.TB, u, statement string) {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), statement); err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
}

var noticeOnce sync.Once

// printNotice says once per test binary, that is once per package, that the
// package skipped its PostgreSQL tests and how to run them (on the terminal
// when there is one: go test ./... hides the output of a passing package).
func printNotice(reason error) {
	noticeOnce.Do(func() {
		var w io.Writer = os.Stderr
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			w = tty
		}
		wd, _ := os.Getwd()
		fmt.Fprintf(w, "%s: skipped its PostgreSQL tests (%v); to run them: bash scripts/postgres.sh start,"+
			" then go test again (or ./scripts/test.sh runs the whole suite with PostgreSQL)\n",
			strings.TrimSuffix(filepath.Base(wd), ".test"), reason)
	})
}

// Redacted is u with any password replaced by "xxxxx", for test messages.
func Redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "[unparseable URL]"
	}
	return p.Redacted()
}
