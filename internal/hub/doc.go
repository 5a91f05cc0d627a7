// Package hub wires `picket server`, the central side: in this version the
// NSCA receiver, whose valid packets become PROCESS_SERVICE_CHECK_RESULT and
// PROCESS_HOST_CHECK_RESULT lines in Nagios' external command file.
//
// It owns nothing on disk; it appends to the command file its config names.
// When its context is cancelled it stops accepting NSCA connections first,
// then gives the command-file queue a short grace period to write what it
// holds, and logs how many results it could not deliver.
package hub
