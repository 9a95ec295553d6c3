package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateMode is the mode of every database file: the database holds
// generated passwords until they reach ActiveCampaign.
const privateMode fs.FileMode = 0o600

// sqliteFiles are the files of the SQLite database at path: the database,
// its write-ahead log and shared-memory index, and wpbridge's lock.
func sqliteFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + ".lock"}
}

// securePath makes sure the database file exists with mode 0600 before
// SQLite opens it: a new one is created so, whatever the umask, and SQLite
// gives its -wal and -shm files the database file's mode. Existing files
// readable or writable by others are tightened to 0600; their names are
// returned, so that the caller can warn.
func securePath(path string) (tightened []string, err error) {
	for _, name := range sqliteFiles(path) {
		st, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return tightened, fmt.Errorf("check permissions of %s: %w", name, err)
		}
		if st.Mode().Perm() != privateMode && st.Mode().IsRegular() {
			if err := os.Chmod(name, privateMode); err != nil {
				return tightened, fmt.Errorf("make %s readable by its owner only: %w", name, err)
			}
			tightened = append(tightened, name)
		}
	}
	return tightened, createPrivate(path)
}

// createPrivate creates path with mode 0600 unless it exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// The umask may have taken bits away from 0600: set it exactly.
	return errors.Join(f.Chmod(privateMode), f.Close())
}
