// Package schedule says when a check runs: the deterministic phase of an
// interval check (so a thousand checks at one interval spread over it and a
// restart does not shift them), cron specs with an optional CRON_TZ and
// sane behaviour across daylight saving changes, and the longest gap a
// check's schedule leaves between two runs, from which the central side
// derives how long to wait before calling a result overdue.
//
// It is a leaf that the poller (which runs checks), the config and
// externals loaders (which validate cron specs) and picket server (which
// derives Nagios freshness thresholds) share. It owns no files and starts
// no goroutines.
package schedule
