package store

// Pending secrets at rest on PostgreSQL. A deleted row lives on in
// PostgreSQL's dead tuples, its WAL, backups and replicas, so there a
// pending password or link is stored sealed: XChaCha20-Poly1305 (an AEAD of
// golang.org/x/crypto) under a 32-byte key derived from SECRET_KEY with
// HKDF-SHA256, a random 24-byte nonce per value, the row's contact id as
// additional data (a value copied to another row does not open). What is
// left behind is ciphertext. SQLite keeps plaintext and erases it
// (secure_delete and a truncated log), as before.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// sealedPrefix starts every sealed value: "wpbridge-aead-v1:" + base64(nonce || ciphertext).
const sealedPrefix = "wpbridge-aead-v1:"

// hkdfInfo binds the derived key to this one use of SECRET_KEY.
const hkdfInfo = "wpbridge pending secrets v1"

// ErrSecretKey: a sealed pending secret does not open with this SECRET_KEY
// (another key, or a damaged value). It never carries the secret.
var ErrSecretKey = errors.New("the pending secret does not open with this SECRET_KEY (set the key it was stored with)")

// ErrNoSecretKey: a sealed pending secret was found but no SECRET_KEY is set.
var ErrNoSecretKey = errors.New("the pending secret is encrypted but SECRET_KEY is not set")

// sealer seals and opens pending secrets.
type sealer struct{ key []byte }

// newSealer derives the AEAD key from secret (SECRET_KEY).
func newSealer(secret string) (*sealer, error) {
	if secret == "" {
		return nil, errors.New("empty SECRET_KEY")
	}
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, []byte(secret), nil, []byte(hkdfInfo)), key); err != nil {
		return nil, fmt.Errorf("derive the key from SECRET_KEY: %w", err)
	}
	return &sealer{key: key}, nil
}

// seal encrypts value for the row of contactID.
func (s *sealer) seal(contactID, value string) (string, error) {
	aead, err := chacha20poly1305.NewX(s.key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(value)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("make a nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(value), []byte(contactID))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// open decrypts a value sealed for the row of contactID. A value stored
// before sealing was turned on (no prefix) is answered as it is.
func (s *sealer) open(contactID, stored string) (string, error) {
	b64, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	if s == nil {
		return "", ErrNoSecretKey
	}
	aead, err := chacha20poly1305.NewX(s.key)
	if err != nil {
		return "", err
	}
	b, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(b) < aead.NonceSize() {
		return "", ErrSecretKey
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(contactID))
	if err != nil {
		return "", ErrSecretKey
	}
	return string(plain), nil
}
