package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
)

// scaleRun is the acknowledgement runs against one fleet: a database and a
// number of wpbridge replicas sharing it, the senders spread over them.
type scaleRun struct {
	database    string // sqlite or postgres
	replicas    int
	paced, flat *ackResult
	load        string // load average after the runs
}

// scaleOut reports whether the ack runs are the scale-out table (-database
// or -replicas other than the default single SQLite process).
func (o *options) scaleOut() bool {
	return len(o.databases) != 1 || o.databases[0] != "sqlite" || len(o.replicas) != 1 || o.replicas[0] != 1
}

// parseScaleFlags checks -database and -replicas.
func (o *options) parseScaleFlags(databases, replicas string) error {
	o.databases, o.replicas = nil, nil
	for _, d := range strings.Split(databases, ",") {
		d = strings.TrimSpace(d)
		if d != "sqlite" && d != "postgres" {
			return fmt.Errorf("-database: want sqlite, postgres or both (comma list), got %q", d)
		}
		o.databases = append(o.databases, d)
	}
	for _, r := range strings.Split(replicas, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n < 1 || n > 8 {
			return fmt.Errorf("-replicas: want counts from 1 to 8 (comma list), got %q", r)
		}
		o.replicas = append(o.replicas, n)
	}
	return nil
}

// pgURL is -pg-url, else $WPBRIDGE_PG_URL, else the WPBRIDGE_PG_URL of
// scripts/postgres.sh's env file; only a PostgreSQL on this machine.
func (o *options) pgURL() (string, error) {
	u := o.pgURLFlag
	if u == "" {
		u = os.Getenv("WPBRIDGE_PG_URL")
	}
	if u == "" {
		vals, err := wptest.ReadEnvFile("/tmp/wpbridge-pg/env")
		if err != nil || vals["WPBRIDGE_PG_URL"] == "" {
			return "", fmt.Errorf("no PostgreSQL for -database postgres: set -pg-url or WPBRIDGE_PG_URL, or run bash scripts/postgres.sh start")
		}
		u = vals["WPBRIDGE_PG_URL"]
	}
	return u, localPostgres(u)
}

// localPostgres accepts only postgres:// URLs on the loopback interface.
func localPostgres(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("the PostgreSQL URL does not parse") // url's error would quote it, password included
	}
	if h := u.Hostname(); (u.Scheme != "postgres" && u.Scheme != "postgresql") || (h != "127.0.0.1" && h != "localhost") {
		return fmt.Errorf("PostgreSQL URL %s:// host %q: the benchmark only targets 127.0.0.1", u.Scheme, h)
	}
	return nil
}

// scalePhase runs the paced and flat-out runs on each database, with each
// number of replicas (SQLite: one process only).
func (b *bench) scalePhase(ctx context.Context, rep *report, rng *rand.Rand) error {
	o := rep.opts
	for _, db := range o.databases {
		for _, n := range o.replicas {
			if db == "sqlite" && n > 1 {
				continue // one process owns a SQLite database
			}
			b.logf("ack runs: %s, %d replica(s)", db, n)
			run, err := b.scaleRun(ctx, o, db, n, rng)
			if err != nil {
				return fmt.Errorf("%s with %d replicas: %w", db, n, err)
			}
			rep.scale = append(rep.scale, run)
		}
	}
	if info, err := pgSettings(o); err == nil && containsPostgres(o.databases) {
		rep.pgInfo = info
	}
	return nil
}

func containsPostgres(ds []string) bool {
	for _, d := range ds {
		if d == "postgres" {
			return true
		}
	}
	return false
}

// scaleRun starts n replicas on a fresh database (a new schema on
// PostgreSQL), runs the paced and the flat-out run spread over them, and
// stops them.
func (b *bench) scaleRun(ctx context.Context, o *options, database string, n int, rng *rand.Rand) (*scaleRun, error) {
	ac := b.newFake(o.acRate)
	defer ac.Close()
	mix := &hookMix{rng: rng, contacts: b.seedAckContacts(ac, o.ackContacts, rng)}
	name := fmt.Sprintf("scale-%s-%d", database, n)
	dbURL := "sqlite:" + b.dir + "/" + name + ".db"
	if database == "postgres" {
		u, drop, err := pgSchema(ctx, o, name)
		if err != nil {
			return nil, err
		}
		defer drop()
		dbURL = u
	}
	var procs []*childproc.Process
	defer func() {
		for _, p := range procs {
			p.Kill() // the backlog would take minutes at the AC rate
		}
	}()
	var bases []string
	for i := range n {
		p, err := b.startOn(ctx, fmt.Sprintf("%s-r%d", name, i), ac, dbURL)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		bases = append(bases, p.URL)
	}
	run := &scaleRun{database: database, replicas: n}
	run.paced = b.paced(ctx, bases, mix, o.rate, o.duration)
	run.flat = b.flatOut(ctx, bases, mix, o.senders, o.flatDuration)
	run.load = loadavg()
	return run, ctx.Err()
}

// pgSchema creates a schema for one run and returns the URL with
// search_path set to it, and a function that drops it.
func pgSchema(ctx context.Context, o *options, name string) (string, func(), error) {
	base, err := o.pgURL()
	if err != nil {
		return "", nil, err
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := strings.ReplaceAll("wpbench_"+randomHex(4)+"_"+name, "-", "_")
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(dctx, `DROP SCHEMA `+schema+` CASCADE`)
		db.Close()
	}
	u, err := url.Parse(base) // checked by pgURL
	if err != nil {
		drop()
		return "", nil, errors.New("the PostgreSQL URL does not parse")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// pgSettings describes the PostgreSQL server's durability settings.
func pgSettings(o *options) (string, error) {
	base, err := o.pgURL()
	if err != nil {
		return "", err
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var version, fsync, syncCommit string
	err = db.QueryRowContext(ctx, `SELECT current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit')`).
		Scan(&version, &fsync, &syncCommit)
	if err != nil {
		return "", err
	}
	s := fmt.Sprintf("PostgreSQL %s on this machine, fsync=%s, synchronous_commit=%s", version, fsync, syncCommit)
	if fsync != "on" || syncCommit == "off" {
		s += " (NOT durable: commits skip the WAL flush; these figures flatter PostgreSQL)"
	}
	return s, nil
}

func (r *report) printScaleOut(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "1. Webhook acknowledgement by database and replicas (async=true: 202 = row + job committed)")
	fmt.Fprintf(w, "   mixed actions for %d contacts; senders spread over the replicas in turn; the replicas' workers process jobs meanwhile\n", r.opts.ackContacts)
	if r.pgInfo != "" {
		fmt.Fprintln(w, "   "+r.pgInfo)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\treplicas\tpaced %d/s: p50\tp99\tmax\terrors\tflat-out %d senders: acks/s\tp50\tp99\terrors\tload avg after\t\n", r.opts.rate, r.opts.senders)
	for _, s := range r.scale {
		p50, p99, mx := s.paced.quantiles()
		f50, f99, _ := s.flat.quantiles()
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%.0f\t%s\t%s\t%d\t%s\t\n", s.database, s.replicas, ms(p50), ms(p99), ms(mx), s.paced.Errors,
			s.flat.perSecond(), ms(f50), ms(f99), s.flat.Errors, s.load)
	}
	tw.Flush()
}
