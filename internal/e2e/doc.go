// Package e2e holds only tests: they run the picket binary against the real
// Debian peers it replaces or talks to (the nsca 2.10 daemon, send_nsca,
// and later nagios4 and the monitoring plugins).
//
// The tests build cmd/picket once, start every daemon on 127.0.0.1 on a
// free port, own nothing but their temporary directories, and stop every
// process they start by its pid (kill, then wait). A missing peer is a test
// failure, not a skip: install Debian's nsca, nsca-client, nagios4-core and
// monitoring-plugins-basic packages, or run .ci/run. With -short (make unit)
// the tests skip, as they need the peers.
//
// The process helpers in harness_test.go (startNSCA, startPicketServer,
// runSendNSCA, runPicketSend, waitLines, freePort, ...) are shared with the
// benchmarks.
package e2e
