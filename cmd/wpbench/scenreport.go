package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

func scenarioKeys() string {
	keys := make([]string, len(scenarioList))
	for i, s := range scenarioList {
		keys[i] = s.Key
	}
	return strings.Join(keys, ", ")
}

// wpFusion holds WP Fusion 3.42.11's figures for the same scenarios, from
// /work/shared/reference/wpfusion.md (and the sync-burst p50 from issue 8),
// keyed by scenario key and "1ms" or "300ms": measured on an older machine,
// printed (so labelled) only where WP Fusion was not measured in this run
// (-wpfusion).
var wpFusion = map[string]string{
	"lone-add/1ms":              "p50 62 ms, max 76 ms",
	"lone-add/300ms":            "p50 959 ms, max 971 ms",
	"lone-update-tags/1ms":      "p50 31 ms",
	"lone-update/1ms":           "p50 43 ms",
	"lone-update_tags-tags/1ms": "p50 29 ms",
	"seq10/1ms":                 "2/10 users (429s)",
	"dup10/1ms":                 "10 × 2xx (7 \"Doing it wrong\"), 1 user, 1 password",
	"burst10s-sync/1ms":         "22/200 2xx in 5 s, 22 users, 11 passwords (p50 23–46 ms, issue 8)",
	"burst60s-sync/1ms":         "100/200 2xx in 5 s (rest 500), 100 users, 50 passwords",
	"burst60s-sync/300ms":       "144 users, 17 passwords; p50 373 ms, p99 999 ms",
	"burst60s-async/1ms":        "200 × 2xx, 100 users, 50 passwords",
	"burst60s-async/300ms":      "200 users, 200 passwords (AC happened not to hit its limit)",
}

func delayKey(d time.Duration) string {
	if d == 0 {
		return "1ms"
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// answerCodes is "200×9 202×1" in status order.
func answerCodes(as []answer) string {
	n := map[string]int{}
	for _, a := range as {
		n[a.Status]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, n[k])
	}
	return strings.Join(parts, " ")
}

// latencies returns the answer times, all of them or those with status.
func latencies(as []answer, status string) []time.Duration {
	var out []time.Duration
	for _, a := range as {
		if status == "" || a.Status == status {
			out = append(out, a.Latency)
		}
	}
	return out
}

func msShort(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func pctOrDash(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*v)
}

// usersCell is "10/10" or "-" when the scenario's users existed before.
func (r *scenResult) usersCell() string {
	if r.Contacts == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", r.Users, r.Contacts)
}

func (r *scenResult) passwordsCell() string {
	if r.Contacts == 0 {
		return fmt.Sprint(r.Passwords)
	}
	return fmt.Sprintf("%d/%d", r.Passwords, r.Contacts)
}

func (r *scenResult) wpPerHook() float64 { return r.WPRequests / float64(max(r.Sent, 1)) }

func (r *report) printScenarios(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "4. WP Fusion's scenarios (issue 8): real wpbridge, real WordPress %s, fake AC at %d req/s (sliding 1 s), AC's 5 s deadline\n", orUnknown(r.wpVersion), r.opts.acRate)
	when := "after all work is done (settled)"
	if !r.opts.settle {
		when = "right after the last answer (not settled)"
	}
	fmt.Fprintf(w, "   users and passwords counted %s, by the scenario's own contacts; lone: %d webhooks, 1.1 s apart\n", when, r.opts.loneN)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tAC +\tsent\tanswers\tp50\tp99\tmax\tusers\tpasswords\tAC req\t429\tmax/1s\tWP/webhook\tbacklog\tbudget\tsettle")
	for _, s := range r.scen {
		p50, p99, mx := quantiles(latencies(s.Answers, ""))
		backlog := "-"
		if s.Kind == kindPaced {
			backlog = fmt.Sprintf("%.1f s", s.BacklogSecs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.2f\t%s\t%s\t%s\n",
			s.Key, delayLabel(s.Delay), s.Sent, answerCodes(s.Answers), msShort(p50), msShort(p99), msShort(mx),
			s.usersCell(), s.passwordsCell(), s.AC, s.AC429, s.MaxInWindow, s.wpPerHook(),
			backlog, pctOrDash(s.Budget), s.Settle.Round(time.Millisecond))
	}
	tw.Flush()
	fmt.Fprintln(w, "   backlog: time with >= 2 webhooks pending (/metrics every 50 ms); budget: accepted AC requests in it / (rate x its seconds)")
	r.printWPFusion(w)
}

func orUnknown(v string) string {
	if v == "" {
		return "(version unknown)"
	}
	return v
}

// ratio is a/b as "1.23×", "-" when b is not positive.
func ratio(a, b time.Duration) string {
	if b <= 0 || a < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

// wpfVersion is the WP Fusion version measured in this run, "" when none was.
func (r *report) wpfVersion() string {
	for _, s := range r.scen {
		if s.WPF != nil {
			return s.WPF.Version
		}
	}
	return ""
}

// printWPFusion prints WP Fusion measured in this run beside wpbridge.
func (r *report) printWPFusion(w io.Writer) {
	v := r.wpfVersion()
	if v == "" {
		if r.opts.wpfusion == "" {
			fmt.Fprintln(w, "   WP Fusion not measured in this run (-wpfusion DIR): its figures in the markdown table are from an older machine")
		}
		return
	}
	fmt.Fprintf(w, "\n   WP Fusion %s measured in this run, after wpbridge (stopped), on the same WordPress %s, same fake AC limits and delay, same lone webhooks;\n", v, orUnknown(r.wpVersion))
	fmt.Fprintln(w, "   each answer checked: WP Fusion's success page, then the user, its contact id and tags meta, and (add) the password at AC; removed after")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tAC +\tWP Fusion p50\tp99\tanswers\tAC req/webhook\twpbridge p50\tp99\twpbridge/WP Fusion p50")
	for _, s := range r.scen {
		if s.WPF == nil {
			continue
		}
		bp50, bp99, _ := quantiles(latencies(s.Answers, ""))
		if s.WPF.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\tnot measured: %s\t\t\t\t%s\t%s\t-\n", s.Key, delayLabel(s.Delay), s.WPF.Err, msShort(bp50), msShort(bp99))
			continue
		}
		fp50, fp99, _ := quantiles(latencies(s.WPF.Answers, ""))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f (%s)\t%s\t%s\t%s\n", s.Key, delayLabel(s.Delay), msShort(fp50), msShort(fp99),
			answerCodes(s.WPF.Answers), float64(s.WPF.AC)/float64(max(len(s.WPF.Answers), 1)), s.WPF.ACCalls,
			msShort(bp50), msShort(bp99), ratio(bp50, fp50))
	}
	tw.Flush()
}

// wpfCell is the WP Fusion column of the markdown table: measured in this
// run when it was, else the older figures, labelled.
func (s *scenResult) wpfCell() string {
	old := wpFusion[s.Key+"/"+delayKey(s.Delay)]
	if old != "" {
		old += " (older machine, not this run)"
	}
	switch {
	case s.WPF != nil && s.WPF.Err == "":
		p50, p99, mx := quantiles(latencies(s.WPF.Answers, ""))
		return fmt.Sprintf("p50 %s, p99 %s, max %s; %s; AC %d req (measured in this run)", msShort(p50), msShort(p99), msShort(mx),
			answerCodes(s.WPF.Answers), s.WPF.AC)
	case s.WPF != nil:
		return "not measured in this run: " + s.WPF.Err
	case old != "":
		return old
	}
	return "—"
}

// ratioCell is wpbridge's p50 over WP Fusion's measured in this run.
func (s *scenResult) ratioCell() string {
	if s.WPF == nil || s.WPF.Err != "" {
		return "—"
	}
	bp50, _, _ := quantiles(latencies(s.Answers, ""))
	fp50, _, _ := quantiles(latencies(s.WPF.Answers, ""))
	return ratio(bp50, fp50)
}

// wpbridgeCell summarises one result for the markdown table.
func (s *scenResult) wpbridgeCell() string {
	p50, p99, mx := quantiles(latencies(s.Answers, ""))
	parts := []string{fmt.Sprintf("p50 %s, p99 %s, max %s", msShort(p50), msShort(p99), msShort(mx)), answerCodes(s.Answers)}
	if s.Contacts > 0 {
		parts = append(parts, fmt.Sprintf("users %d/%d, passwords %d/%d", s.Users, s.Contacts, s.Passwords, s.Contacts))
	}
	parts = append(parts, fmt.Sprintf("AC %d req, %d × 429", s.AC, s.AC429), fmt.Sprintf("WP %.2f/webhook", s.wpPerHook()))
	if s.Kind == kindPaced {
		parts = append(parts, fmt.Sprintf("budget %s of %.0f s backlog", pctOrDash(s.Budget), s.BacklogSecs),
			"settled "+s.Settle.Round(time.Second).String())
	}
	return strings.Join(parts, "; ")
}

func (r *report) printScenarioMarkdown(w io.Writer) {
	fmt.Fprintln(w)
	wf := "WP Fusion 3.42"
	if v := r.wpfVersion(); v != "" {
		wf = "WP Fusion " + v
	}
	fmt.Fprintf(w, "WordPress %s; WP Fusion measured in this run where the cell says so.\n\n", orUnknown(r.wpVersion))
	fmt.Fprintf(w, "| scenario (sync unless noted) | AC answers | %s | wpbridge | wpbridge / WP Fusion p50 |\n", wf)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, s := range r.scen {
		label := s.Label
		if s.Kind == kindPaced {
			label = fmt.Sprint(s.N) + " " + label
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", label, delayLabel(s.Delay), s.wpfCell(), s.wpbridgeCell(), s.ratioCell())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target (issue 8) | AC answers | wpbridge | target | verdict |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, t := range scenarioTargets(r.scen, r.opts.acRate) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", t.measure, t.ac, t.value, t.target, verdict(t.ok))
	}
}

func delayLabel(d time.Duration) string {
	if d == 0 {
		return "~1 ms"
	}
	return "+" + d.String()
}

type targetRow struct {
	measure, ac, value, target string
	ok                         bool
}

// scenarioTargets checks the targets on the results there are.
func scenarioTargets(rs []*scenResult, rate int) []targetRow {
	var out []targetRow
	p50Target := map[string]time.Duration{"lone-add/1ms": 60 * time.Millisecond, "lone-add/300ms": 700 * time.Millisecond,
		"lone-update_tags-tags/1ms": 30 * time.Millisecond, "lone-update-tags/1ms": 35 * time.Millisecond}
	for _, s := range rs {
		dk := delayLabel(s.Delay)
		p50, _, _ := quantiles(latencies(s.Answers, ""))
		if t, ok := p50Target[s.Key+"/"+delayKey(s.Delay)]; ok {
			out = append(out, targetRow{s.Label + ": p50", dk, msShort(p50), "≤ " + msShort(t), p50 <= t})
		}
		if s.Key == "seq10" {
			out = append(out, targetRow{"10 add back to back: all done, p50", dk, fmt.Sprintf("%d/%d users, p50 %s", s.Users, s.Contacts, msShort(p50)),
				"10/10, ≤ 100 ms", s.Users == s.Contacts && p50 <= 100*time.Millisecond})
		}
		if s.Kind == kindPaced {
			out = append(out, burstTargets(s, dk, rate)...)
		}
		if s.Kind == kindLone {
			out = append(out, targetRow{s.Label + ": WordPress requests per webhook", dk, fmt.Sprintf("%.2f", s.wpPerHook()), "1", s.wpPerHook() <= 1})
		}
		if s.WPF != nil && s.WPF.Err == "" { // issue 21
			fp50, _, _ := quantiles(latencies(s.WPF.Answers, ""))
			out = append(out, targetRow{s.Label + ": p50 against WP Fusion's in this run (issue 21)", dk,
				fmt.Sprintf("%s (%s / %s)", ratio(p50, fp50), msShort(p50), msShort(fp50)), "≤ 1.20×", fp50 > 0 && float64(p50) <= 1.2*float64(fp50)})
		}
	}
	return out
}

func burstTargets(s *scenResult, dk string, rate int) []targetRow {
	name := fmt.Sprintf("%d %s", s.N, s.Label)
	var out []targetRow
	if !s.Async {
		_, p99, _ := quantiles(latencies(s.Answers, "202"))
		n := len(latencies(s.Answers, "202"))
		out = append(out, targetRow{name + ": answers that end 202, p99", dk, fmt.Sprintf("%s (%d answers)", msShort(p99), n), "≤ 50 ms", p99 <= 50*time.Millisecond})
	}
	out = append(out,
		targetRow{name + ": users and passwords in the end", dk, fmt.Sprintf("%d and %d of %d", s.Users, s.Passwords, s.Contacts),
			"all", s.Users == s.Contacts && s.Passwords == s.Contacts},
		targetRow{name + ": AC budget used during the backlog", dk,
			fmt.Sprintf("%s (max %d in 1 s, %d × 429)", pctOrDash(s.Budget), s.MaxInWindow, s.AC429),
			fmt.Sprintf("≥ 95 %%, ≤ %d in 1 s, 0 × 429", rate), s.Budget >= 0.95 && s.MaxInWindow <= rate && s.AC429 == 0})
	return out
}
