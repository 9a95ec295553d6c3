// Command wpbench measures wpbridge on one machine and prints one plain-text
// report: webhook acknowledgement latency and throughput (durable SQLite,
// async webhooks, the real wpbridge binary), AC and WordPress requests per
// webhook for each action, the settle time of a webhook storm against a fake
// AC limited to 5 requests per second, and the process's memory; with
// -scenarios, WP Fusion's own scenarios (issue 8: lone webhooks, back to back,
// bursts sync and async, duplicates) beside WP Fusion's figures, and with
// -wpfusion DIR WP Fusion itself measured on the lone ones in the same run
// (issue 21); with
// -database sqlite,postgres -replicas 1,2,3, the acknowledgement runs on each
// database with each number of replicas sharing it (issue 10).
//
// It needs the test WordPress of scripts/wordpress.sh; scripts/bench.sh
// starts one and runs this command:
//
//	bash scripts/bench.sh
//	go run ./cmd/wpbench -wp-env /tmp/wpbridge-wp-bench/env -rate 200 -duration 10s
//	go run ./cmd/wpbench -wp-env /tmp/wpbridge-wp/env -scenarios all -ac-delay 0,300ms
//	go run ./cmd/wpbench -wp-env /tmp/wpbridge-wp/env -scenarios lone-add,lone-update -wpfusion /tmp/wp-fusion-3.42.11
//	go run ./cmd/wpbench -wp-env /tmp/wpbridge-wp/env -storm=false -database sqlite,postgres -replicas 1,2,3
//
// Every target is on 127.0.0.1; every loop is bounded in count and time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/childproc"
)

type options struct {
	wpEnv, bin                string
	rate                      int
	duration                  time.Duration
	senders                   int
	flatDuration              time.Duration
	ackContacts               int
	stormContacts, stormHooks int
	stormSenders              int
	stormExisting, stormDups  float64
	stormTimeout              time.Duration
	acRate                    int
	seed                      uint64
	timeout                   time.Duration
	keep                      bool
	runAck, runStorm          bool
	extraEnv                  []string
	scenarios                 []scenario
	acDelays                  []time.Duration
	loneN, burstN             int
	settle                    bool
	markdown                  bool
	databases                 []string // -database: ack runs on each
	replicas                  []int    // -replicas: ack runs with each count (PostgreSQL)
	pgURLFlag                 string
	wpfusion                  string // -wpfusion: WP Fusion source tree measured beside the lone scenarios
}

// delayList parses -ac-delay: a comma list of durations.
type delayList struct{ o *options }

func (d delayList) String() string { return "0" }

func (d delayList) Set(v string) error {
	d.o.acDelays = nil
	for _, f := range strings.Split(v, ",") {
		x, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || x < 0 || x > 10*time.Second {
			return fmt.Errorf("want durations in [0, 10s], got %q", f)
		}
		d.o.acDelays = append(d.o.acDelays, x)
	}
	return nil
}

// envList collects repeated -wpbridge-env KEY=VALUE flags.
type envList struct{ o *options }

func (e envList) String() string { return "" }

func (e envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" || strings.ToUpper(k) != k {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	e.o.extraEnv = append(e.o.extraEnv, v)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("wpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defEnv := os.Getenv("WPBRIDGE_WP_ENV")
	if defEnv == "" {
		defEnv = "/tmp/wpbridge-wp-bench/env"
	}
	fs.StringVar(&o.wpEnv, "wp-env", defEnv, "env file written by scripts/wordpress.sh (WP_URL must be on 127.0.0.1)")
	fs.StringVar(&o.bin, "bin", "", "wpbridge binary to run (default: build ./cmd/wpbridge)")
	fs.IntVar(&o.rate, "rate", 200, "paced run: webhooks per second")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "paced run: how long")
	fs.IntVar(&o.senders, "senders", 24, "flat-out run: concurrent senders")
	fs.DurationVar(&o.flatDuration, "flat-duration", 5*time.Second, "flat-out run: how long")
	fs.IntVar(&o.ackContacts, "ack-contacts", 200, "load runs: contacts the webhooks are for")
	fs.IntVar(&o.stormContacts, "storm-contacts", 200, "storm: contacts")
	fs.IntVar(&o.stormHooks, "storm-webhooks", 1000, "storm: webhooks")
	fs.IntVar(&o.stormSenders, "storm-senders", 16, "storm: concurrent senders")
	fs.Float64Var(&o.stormExisting, "storm-existing", 0.5, "storm: share of contacts with a linked WordPress user already")
	fs.Float64Var(&o.stormDups, "storm-duplicates", 0.2, "storm: share of webhooks repeating an earlier one verbatim")
	fs.DurationVar(&o.stormTimeout, "storm-timeout", 10*time.Minute, "storm: longest wait for every webhook to finish")
	fs.IntVar(&o.acRate, "ac-rate", 5, "fake AC rate limit and wpbridge's AC_RATE_LIMIT (requests per second)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed (contacts, mixes, storm order)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "stop everything after this long")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (databases, wpbridge logs)")
	fs.BoolVar(&o.runAck, "ack", true, "run the acknowledgement load runs")
	fs.BoolVar(&o.runStorm, "storm", true, "run the per-action costs, the storm and the memory measurement")
	var scen string
	fs.StringVar(&scen, "scenarios", "", "WP Fusion's scenarios to run: \"all\" or a comma list of "+scenarioKeys()+" (when set, -ack and -storm default to false)")
	o.acDelays = []time.Duration{0}
	fs.Var(delayList{o}, "ac-delay", "scenarios: time the fake AC takes for each answer, a comma list runs the scenarios once per value (e.g. 0,300ms)")
	fs.IntVar(&o.loneN, "lone-n", 10, "scenarios: repetitions of each lone webhook (p50/p99 over them)")
	fs.IntVar(&o.burstN, "burst-n", 200, "scenarios: webhooks in each burst")
	fs.BoolVar(&o.settle, "settle", true, "scenarios: count users and passwords after all work is done (false: right after the last answer)")
	fs.BoolVar(&o.markdown, "markdown", true, "scenarios: also print a markdown table beside WP Fusion's figures")
	var databases, replicas string
	fs.StringVar(&databases, "database", "sqlite", "ack runs: sqlite, postgres, or sqlite,postgres (beside each other); with postgres or -replicas, the runs are the scale-out table")
	fs.StringVar(&replicas, "replicas", "1", "ack runs: wpbridge replicas sharing the PostgreSQL database, a comma list (e.g. 1,2,3); SQLite runs one")
	fs.StringVar(&o.pgURLFlag, "pg-url", "", "PostgreSQL for -database postgres (default $WPBRIDGE_PG_URL, else scripts/postgres.sh's env file); each run gets a schema of its own, dropped after")
	fs.StringVar(&o.wpfusion, "wpfusion", "", "scenarios: a WP Fusion source tree (e.g. 3.42.11); after wpbridge's scenarios for each AC delay, WP Fusion is installed into the same WordPress, measured on the same lone scenarios against a fresh fake AC, and removed again")
	fs.Var(envList{o}, "wpbridge-env", "extra KEY=VALUE for wpbridge's environment, repeatable (default: none, the default config)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := o.parseScaleFlags(databases, replicas); err != nil {
		return nil, err
	}
	var err error
	if o.scenarios, err = selectScenarios(scen); err != nil {
		return nil, err
	}
	if len(o.scenarios) > 0 {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		o.runAck, o.runStorm = o.runAck && set["ack"], o.runStorm && set["storm"]
	}
	switch {
	case o.loneN < 1 || o.loneN > 1000 || o.burstN < 1 || o.burstN > 10_000:
		return nil, errors.New("-lone-n must be 1..1000, -burst-n 1..10000")
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.rate < 1 || o.rate > 5000:
		return nil, errors.New("-rate must be 1..5000")
	case o.duration <= 0 || o.duration > 10*time.Minute, o.flatDuration <= 0 || o.flatDuration > 10*time.Minute:
		return nil, errors.New("-duration and -flat-duration must be in (0, 10m]")
	case o.senders < 1 || o.senders > 256, o.stormSenders < 1 || o.stormSenders > 256:
		return nil, errors.New("-senders and -storm-senders must be 1..256")
	case o.ackContacts < 1 || o.ackContacts > 100_000:
		return nil, errors.New("-ack-contacts must be 1..100000")
	case o.stormContacts < 1 || o.stormHooks < o.stormContacts || o.stormHooks > 100_000:
		return nil, errors.New("-storm-webhooks must be >= -storm-contacts >= 1, and <= 100000")
	case o.stormExisting < 0 || o.stormExisting > 1 || o.stormDups < 0 || o.stormDups >= 1:
		return nil, errors.New("-storm-existing must be in [0,1], -storm-duplicates in [0,1)")
	case o.acRate < 1 || o.acRate > 1000:
		return nil, errors.New("-ac-rate must be 1..1000")
	case o.stormTimeout <= 0 || o.timeout <= 0:
		return nil, errors.New("-storm-timeout and -timeout must be positive")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wpbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	err = run(ctx, o, os.Stdout, os.Stderr)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wpbench:", err)
		os.Exit(1)
	}
}

// report is everything measured; printed by print.
type report struct {
	opts      *options
	machine   []string
	paced     *ackResult
	flat      *ackResult
	ackMemory memory
	backlog   float64 // webhooks still pending when the load process was stopped
	serverAck string  // paced run as wpbridge's own ack histogram saw it
	pacedCPU  string
	flatCPU   string
	costs     []costResult
	scen      []*scenResult
	storm     *stormResult
	stormMem  memory
	scale     []*scaleRun // -database / -replicas ack runs
	pgInfo    string      // the PostgreSQL server's durability settings
	wpVersion string      // WPTEST_WP_VERSION of the env file
	notes     []string
}

type memory struct{ idle, peak int64 }

func run(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	rep := &report{opts: o, machine: machine()}
	site, err := readSite(o.wpEnv)
	if err != nil {
		return err
	}
	rep.wpVersion = site.Version
	dir, err := os.MkdirTemp("", "wpbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stderr, "wpbench: scratch directory (kept):", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.bin
	if bin == "" {
		root, err := childproc.ModuleRoot()
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wpbench: building wpbridge")
		if bin, err = childproc.Build(ctx, root, dir); err != nil {
			return err
		}
	}
	proxy, err := newCountingProxy(site.URL)
	if err != nil {
		return err
	}
	defer proxy.Close()
	b := &bench{
		bin: bin, dir: dir, site: site, proxy: proxy,
		extraEnv:  o.extraEnv,
		accessKey: "bench-" + randomHex(16), acKey: "bench-ac-" + randomHex(16),
		runID:  fmt.Sprintf("%d", time.Now().UnixNano()),
		stderr: stderr,
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second,
		}},
	}
	b.lastID.Store(time.Now().UnixMilli() * 1000)
	rep.machine = append(rep.machine, "disk: "+fsyncLatency(dir))
	rng := rand.New(rand.NewPCG(o.seed, 0x77706265))
	switch {
	case o.runAck && o.scaleOut():
		fmt.Fprintln(stderr, "wpbench: load runs by database and replicas")
		if err := b.scalePhase(ctx, rep, rng); err != nil {
			return err
		}
	case o.runAck:
		fmt.Fprintln(stderr, "wpbench: load runs")
		if err := b.ackPhase(ctx, rep, rng); err != nil {
			return err
		}
	}
	if o.runStorm {
		fmt.Fprintln(stderr, "wpbench: per-action costs and storm")
		if err := b.stormPhase(ctx, rep, rng); err != nil {
			return err
		}
	}
	if len(o.scenarios) > 0 {
		if err := b.wpfLeftover(ctx, o); err != nil {
			return err
		}
	}
	for _, d := range o.acDelays {
		if len(o.scenarios) == 0 {
			break
		}
		fmt.Fprintf(stderr, "wpbench: WP Fusion's scenarios, AC answers after +%s\n", d)
		res, err := b.scenarioPhase(ctx, o, d, rng)
		rep.scen = append(rep.scen, res...)
		if err != nil {
			rep.notes = append(rep.notes, err.Error())
			break
		}
		if o.wpfusion != "" {
			fmt.Fprintf(stderr, "wpbench: WP Fusion on the lone scenarios, AC answers after +%s\n", d)
			note, err := b.wpfPhase(ctx, o, d, rng, res)
			if note != "" {
				rep.notes = append(rep.notes, note)
			}
			if err != nil {
				rep.notes = append(rep.notes, "WP Fusion: "+err.Error())
				break
			}
		}
	}
	rep.machine = append(rep.machine, "load average at end: "+loadavg())
	rep.print(stdout)
	return nil
}

// ackPhase runs the paced and flat-out runs against one wpbridge.
func (b *bench) ackPhase(ctx context.Context, rep *report, rng *rand.Rand) error {
	o := rep.opts
	ac := b.newFake(o.acRate)
	defer ac.Close()
	mix := &hookMix{rng: rng, contacts: b.seedAckContacts(ac, o.ackContacts, rng)}
	p, err := b.start(ctx, "ack", ac)
	if err != nil {
		return err
	}
	defer p.Kill()
	before, _ := b.scrape(ctx, p.URL)
	c0 := sampleCPU(p.PID())
	rep.paced = b.paced(ctx, []string{p.URL}, mix, o.rate, o.duration)
	c1 := sampleCPU(p.PID())
	if after, err := b.scrape(ctx, p.URL); err == nil && before != nil {
		rep.serverAck = serverAckShare(before, after)
	}
	c2 := sampleCPU(p.PID())
	rep.flat = b.flatOut(ctx, []string{p.URL}, mix, o.senders, o.flatDuration)
	c3 := sampleCPU(p.PID())
	rep.pacedCPU, rep.flatCPU = cpuUse(c0, c1, runtime.NumCPU()), cpuUse(c2, c3, runtime.NumCPU())
	if m, err := b.scrape(ctx, p.URL); err == nil {
		rep.backlog = m["wpbridge_webhooks_pending"]
	}
	_, peak, err := p.Memory()
	if err != nil {
		return fmt.Errorf("memory of the load process: %w", err)
	}
	rep.ackMemory.peak = peak
	p.Kill() // the backlog would take minutes at 5 AC requests per second
	return ctx.Err()
}

// stormPhase measures idle memory, per-action costs, the storm and the peak
// memory on one wpbridge.
func (b *bench) stormPhase(ctx context.Context, rep *report, rng *rand.Rand) error {
	o := rep.opts
	ac := b.newFake(o.acRate)
	defer ac.Close()
	p, err := b.start(ctx, "storm", ac)
	if err != nil {
		return err
	}
	defer p.Kill()
	time.Sleep(time.Second)
	if rep.stormMem.idle, _, err = p.Memory(); err != nil {
		return fmt.Errorf("idle memory: %w", err)
	}
	byKey, list, err := b.costs(ctx, p.URL, ac, rng)
	if err != nil {
		return fmt.Errorf("per-action costs: %w", err)
	}
	rep.costs = list
	rep.storm, err = b.storm(ctx, p.URL, ac, rng, byKey, stormConfig{
		Contacts: o.stormContacts, Webhooks: o.stormHooks, Senders: o.stormSenders,
		ExistingShare: o.stormExisting, DuplicateShare: o.stormDups, ACRate: o.acRate, Limit: o.stormTimeout,
	})
	if err != nil {
		return err
	}
	if _, rep.stormMem.peak, err = p.Memory(); err != nil {
		return fmt.Errorf("peak memory: %w", err)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		rep.notes = append(rep.notes, fmt.Sprintf("wpbridge (storm) did not stop cleanly: %v", err))
	}
	return nil
}
