package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPasswords(t *testing.T) { eachBackend(t, testPasswords) }

func testPasswords(t *testing.T, db *DB) {
	ctx := context.Background()
	p := db.Passwords
	if _, ok, err := p.PendingPassword(ctx, "42"); ok || err != nil {
		t.Fatalf("PendingPassword of nothing = %v, %v", ok, err)
	}
	if err := p.SavePendingPassword(ctx, "42", "first"); err != nil {
		t.Fatal(err)
	}
	if err := p.SavePendingPassword(ctx, "42", "second"); err != nil {
		t.Fatal(err)
	}
	if pw, ok, err := p.PendingPassword(ctx, "42"); !ok || err != nil || pw != "second" {
		t.Errorf("PendingPassword = ok %v err %v (password matches: %v)", ok, err, pw == "second")
	}
	if err := p.DeletePendingPassword(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := p.PendingPassword(ctx, "42"); ok || err != nil {
		t.Errorf("PendingPassword after delete = %v, %v", ok, err)
	}

	// DeleteBefore forgets passwords stored before its time only.
	if err := p.SavePendingPassword(ctx, "7", "kept"); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteBefore(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.PendingPassword(ctx, "7"); !ok {
		t.Error("a fresh password was deleted")
	}
	if err := p.DeleteBefore(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.PendingPassword(ctx, "7"); ok {
		t.Error("an old password was kept")
	}

	// Errors name the contact, not the password.
	db.Close()
	err := p.SavePendingPassword(ctx, "42", "s3cret")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "42") {
		t.Errorf("SavePendingPassword on a closed database = %v", err)
	}
}
