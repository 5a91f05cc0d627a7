// Package spooler forwards the durable spool to the NSCA targets: one
// sender per target group reads the spool from the group's own cursor,
// turns records into NSCA packets, sends them in batches over a fresh
// connection each, and moves the cursor only over packets actually
// written. Groups fan out (each gets every record) and never wait for one
// another, so a dead or slow server delays nobody else; the targets of one
// group form a failover chain, primary first, each with its own capped,
// jittered backoff, and traffic returns to the primary once it answers.
//
// Results older than the replay window are sent as their state changes and
// each service's latest, marked "[delayed 2h14m, checked 10:02:11Z]",
// because nsca stamps every result with the time it arrives. Age is judged
// when a batch is sent, so a batch that failed and is resent after a long
// outage is reduced and marked like any other old results; a result
// older than one already sent for the same service is never sent. The spool
// and the network are reached through interfaces declared here (Log,
// Dialer), which the agent wires to the disk spool and the nsca client.
//
// Apply changes the targets while Run runs, group by group, as Prometheus
// keys each remote-write queue by its config: a group whose targets did not
// change is not disturbed, a changed one resumes from where it stood with
// its new targets, a removed one stops and leaves its cursor in the Log, so
// it resumes from there if it comes back.
//
// It owns nothing on disk: the spool and its cursors belong to the Log
// (*spool.Spool, whose Record is the unit read here).
//
// When Run's context is cancelled, a batch in flight is cancelled too (the
// nsca client closes the connection rather than leave a packet half
// written), the cursor is committed over what was written, and Run returns
// once every goroutine it started has ended. What was not sent stays in the
// Log; Flush sends it on the way out.
//
// The default batch size, and the cipher rates behind it, are written down
// at DefaultBatchSize.
package spooler
