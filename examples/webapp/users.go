package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Users holds the demo's accounts with bcrypt password hashes (in memory).
type Users struct {
	hashes map[string][]byte
	dummy  []byte // compared against for unknown names, so timing does not reveal which names exist
}

// ParseUsers parses "name:password,name:password" and hashes the passwords.
func ParseUsers(spec string, cost int) (*Users, error) {
	u := &Users{hashes: map[string][]byte{}}
	for _, pair := range strings.Split(spec, ",") {
		name, pass, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok || name == "" || pass == "" {
			return nil, fmt.Errorf("--users: %q is not name:password", pair)
		}
		if _, dup := u.hashes[name]; dup {
			return nil, fmt.Errorf("--users: %q appears twice", name)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pass), cost)
		if err != nil {
			return nil, fmt.Errorf("--users: hashing the password of %q: %w", name, err)
		}
		u.hashes[name] = h
	}
	var err error
	if u.dummy, err = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), cost); err != nil {
		return nil, err
	}
	return u, nil
}

// errWrongPassword is Authenticate's error for a wrong user name or
// password.
var errWrongPassword = errors.New("wrong user name or password")

// Accounts checks a login and returns the user id its session is bound
// to: the demo's own Users, or a Django project's auth_user table
// (the Authenticate of interop/django's stores) when the demo runs on a
// Django project's sessions.
type Accounts interface {
	Authenticate(ctx context.Context, name, password string) (userID string, err error)
}

// Authenticate is Check as an Accounts: the user id is the name.
func (u *Users) Authenticate(_ context.Context, name, password string) (string, error) {
	if !u.Check(name, password) {
		return "", errWrongPassword
	}
	return name, nil
}

// Check reports whether the password is the user's. It takes the same time
// for unknown names as for known ones.
func (u *Users) Check(name, password string) bool {
	h, ok := u.hashes[name]
	if !ok {
		h = u.dummy
	}
	match := bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
	return ok && match
}
