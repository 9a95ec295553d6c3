package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets from the issue.
const (
	targetP99      = 20 * time.Millisecond
	targetAckRate  = 1000.0
	targetRatio    = 1.2
	targetPeakRSS  = 100 << 20
	targetCoresFor = 2
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func (r *report) print(w io.Writer) {
	fmt.Fprintln(w, "wpbridge benchmark")
	fmt.Fprintln(w, "==================")
	for _, m := range r.machine {
		fmt.Fprintln(w, m)
	}
	fmt.Fprintln(w, "wpbridge: real binary (childproc.Start), default config: SQLite WAL synchronous=FULL, 1 connection, WORKERS=10, AC_RATE_LIMIT="+fmt.Sprint(r.opts.acRate))
	if len(r.opts.extraEnv) > 0 {
		fmt.Fprintln(w, "NOT the default config, wpbridge env overrides:", strings.Join(r.opts.extraEnv, " "))
	}
	fmt.Fprintln(w, "AC: in-process fake (acfake) limited to", r.opts.acRate, "req/s; WordPress: real (php -S + MariaDB) behind a counting reverse proxy")
	fmt.Fprintln(w, "everything (bench, fake AC, proxy, wpbridge, PHP, MariaDB) shares this machine's cores")
	if r.paced != nil {
		r.printAck(w)
	}
	if len(r.scale) > 0 {
		r.printScaleOut(w)
	}
	if r.costs != nil {
		r.printCosts(w)
	}
	if r.storm != nil {
		r.printStorm(w)
	}
	if r.paced != nil || r.storm != nil {
		r.printSummary(w)
	}
	if len(r.scen) > 0 {
		r.printScenarios(w)
		if r.opts.markdown {
			r.printScenarioMarkdown(w)
		}
	}
	for _, n := range r.notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func (r *report) printAck(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "1. Webhook acknowledgement (async=true: 202 = row + job committed, fsync'd)")
	fmt.Fprintf(w, "   mixed actions for %d contacts; wpbridge's workers process the jobs meanwhile (fake AC, real WP)\n", r.opts.ackContacts)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tsent\t202\terrors\tp50\tp99\tmax\tacks/s\t")
	for _, a := range []*ackResult{r.paced, r.flat} {
		p50, p99, mx := a.quantiles()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%.0f\t\n", a.Name, a.Sent, a.Acked, a.Errors, ms(p50), ms(p99), ms(mx), a.perSecond())
	}
	tw.Flush()
	fmt.Fprintf(w, "   paced run as wpbridge timed it (handler only, wpbridge_webhook_ack_seconds): %s\n", r.serverAck)
	fmt.Fprintf(w, "   cpu, paced run: %s\n", r.pacedCPU)
	fmt.Fprintf(w, "   cpu, flat-out run: %s\n", r.flatCPU)
	fmt.Fprintf(w, "   paced run: sends spread over %s (%.0f/s achieved)\n", r.paced.SendSpan.Round(time.Millisecond),
		float64(r.paced.Sent)/max(r.paced.SendSpan.Seconds(), 1e-9))
	for _, a := range []*ackResult{r.paced, r.flat} {
		if a.Errors > 0 {
			fmt.Fprintf(w, "   %s: answers %v, %d transport errors\n", a.Name, a.Codes, a.Errors-nonAccepted(a.Codes))
		}
	}
	fmt.Fprintf(w, "   backlog when the load process was killed: %.0f webhooks pending (AC at %d req/s cannot keep up; expected)\n", r.backlog, r.opts.acRate)
	fmt.Fprintf(w, "   peak RSS of that process: %s\n", mib(r.ackMemory.peak))
}

func nonAccepted(codes map[int]int) int {
	n := 0
	for c, v := range codes {
		if c != 202 {
			n += v
		}
	}
	return n
}

func (r *report) printCosts(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "2. Requests per webhook (one sync webhook per case; caches warm; each case has a change to write)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tanswer\tsync latency\tAC\tWP\tAC requests\tWP requests")
	for _, c := range r.costs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\n", c.Label, c.Code, ms(c.Latency), c.AC, c.WP, c.ACDetail, c.WPDetail)
	}
	tw.Flush()
}

func (r *report) printStorm(w io.Writer) {
	s := r.storm
	fmt.Fprintln(w)
	fmt.Fprintf(w, "3. Storm: %d webhooks for %d contacts (%d with a linked WP user, %d verbatim duplicates), random order,\n",
		s.Webhooks, s.Contacts, s.Existing, s.Duplicates)
	fmt.Fprintf(w, "   actions add/update/update_tags, half with payload tags; %d senders, async; fake AC at %d req/s\n", s.Senders, s.ACRate)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "all webhooks acknowledged in\t%s\n", s.SendTime.Round(time.Millisecond))
	fmt.Fprintf(tw, "settle time (first send -> 0 pending)\t%s\n", s.Settle.Round(time.Millisecond))
	fmt.Fprintf(tw, "AC requests if fully coalesced\t%d\n", s.Ideal)
	fmt.Fprintf(tw, "theoretical minimum (that / %d per s)\t%s\n", s.ACRate, s.MinTime.Round(time.Millisecond))
	ratio := s.Settle.Seconds() / max(s.MinTime.Seconds(), 1e-9)
	fmt.Fprintf(tw, "settle / minimum\t%.2fx\n", ratio)
	fmt.Fprintf(tw, "AC requests sent (incl. 429)\t%d\n", s.ACTotal)
	fmt.Fprintf(tw, "AC 429 answers\t%d\n", s.AC429)
	fmt.Fprintf(tw, "max AC requests in any 1s window\t%d\n", s.MaxInWindow)
	fmt.Fprintf(tw, "WordPress requests\t%d\n", s.WPTotal)
	fmt.Fprintf(tw, "rounds of work by outcome\t%s\n", formatRounds(s.Rounds))
	fmt.Fprintf(tw, "webhooks covered by another's round\t%.0f\n", s.Coalesced)
	tw.Flush()
}

func formatRounds(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	total := 0.0
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
		total += m[k]
	}
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(parts, ", "))
}

func (r *report) printSummary(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Summary against the targets")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tvalue\ttarget\tverdict")
	if r.paced != nil {
		_, p99, _ := r.paced.quantiles()
		ok := p99 < targetP99 && r.paced.Errors == 0
		fmt.Fprintf(tw, "ack p99 at %d/s\t%s\t< %s\t%s\n", r.opts.rate, ms(p99), ms(targetP99), verdict(ok))
		rate := r.flat.perSecond()
		fmt.Fprintf(tw, "acks/s flat-out (%d senders)\t%.0f\t>= %.0f on %d cores\t%s\n", r.opts.senders, rate, targetAckRate, targetCoresFor,
			verdict(rate >= targetAckRate && r.flat.Errors == 0))
	}
	if r.storm != nil {
		s := r.storm
		ratio := s.Settle.Seconds() / max(s.MinTime.Seconds(), 1e-9)
		fmt.Fprintf(tw, "storm settle / minimum\t%.2fx (%s / %s)\t<= %.1fx\t%s\n", ratio, s.Settle.Round(time.Millisecond),
			s.MinTime.Round(time.Millisecond), targetRatio, verdict(ratio <= targetRatio))
		fmt.Fprintf(tw, "AC max in 1s window\t%d\t<= %d\t%s\n", s.MaxInWindow, s.ACRate, verdict(s.MaxInWindow <= s.ACRate))
		fmt.Fprintf(tw, "AC 429s\t%d\t0\t%s\n", s.AC429, verdict(s.AC429 == 0))
		fmt.Fprintf(tw, "RSS idle (after start)\t%s\t< 100 MiB\t%s\n", mib(r.stormMem.idle), verdict(r.stormMem.idle < targetPeakRSS))
		fmt.Fprintf(tw, "RSS peak (VmHWM after storm)\t%s\t< 100 MiB\t%s\n", mib(r.stormMem.peak), verdict(r.stormMem.peak < targetPeakRSS))
	}
	if r.paced != nil {
		fmt.Fprintf(tw, "RSS peak (VmHWM after load runs)\t%s\t< 100 MiB\t%s\n", mib(r.ackMemory.peak), verdict(r.ackMemory.peak < targetPeakRSS))
	}
	tw.Flush()
}
