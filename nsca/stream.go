package nsca

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// StreamError says which connection a Stream failed on.
type StreamError struct {
	Conn int // index into the conns given to Stream
	Err  error
}

func (e *StreamError) Error() string { return fmt.Sprintf("connection %d: %v", e.Conn, e.Err) }
func (e *StreamError) Unwrap() error { return e.Err }

// streamBatch bounds the packets per write (64 v3 packets are 275 KB).
const streamBatch = 64

// Stream is a send_nsca session over already dialled connections: it sends
// every record in reads to each of conns, in order, then confirms with
// Finish that each server read them all. A record the scanner refuses (an
// *InputError) goes to bad and is skipped, as send_nsca skips it; any other
// read error ends the stream and is returned. A failed send or Finish is a
// *StreamError naming the connection; ctx ending is ctx's cause.
//
// Input is read in its own goroutine, so ctx's deadline also bounds a
// stalled input, as send_nsca's alarm does. Records already read go out
// together, so a burst is one write and a trickle is not held back.
func Stream(ctx context.Context, conns []*Conn, in *InputScanner, bad func(error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan streamItem, streamBatch)
	go readInput(ctx, in, items)
	batch := make([]Packet, 0, streamBatch)
	for {
		batch = batch[:0]
		open, err := collect(ctx, items, &batch, bad)
		if err != nil {
			return err
		}
		if err := sendAll(ctx, conns, batch); err != nil {
			return err
		}
		if !open {
			break
		}
	}
	for i, c := range conns {
		if err := c.Finish(ctx); err != nil {
			return streamErr(ctx, i, err)
		}
	}
	return nil
}

type streamItem struct {
	p   Packet
	err error
}

// readInput feeds items until the input ends, fails for good, or ctx ends.
func readInput(ctx context.Context, in *InputScanner, items chan<- streamItem) {
	defer close(items)
	for {
		p, err := in.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		select {
		case items <- streamItem{p, err}:
		case <-ctx.Done():
			return
		}
		var ie *InputError
		if err != nil && !errors.As(err, &ie) {
			return
		}
	}
}

// collect waits for one record, then takes whatever else is already read,
// up to a batch. open is false once the input has ended.
func collect(ctx context.Context, items <-chan streamItem, batch *[]Packet, bad func(error)) (open bool, err error) {
	take := func(it streamItem) error {
		if it.err == nil {
			*batch = append(*batch, it.p)
			return nil
		}
		var ie *InputError
		if !errors.As(it.err, &ie) {
			return fmt.Errorf("read input: %w", it.err)
		}
		bad(it.err)
		return nil
	}
	select {
	case it, ok := <-items:
		if !ok {
			return false, nil
		}
		if err := take(it); err != nil {
			return false, err
		}
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
	for len(*batch) < streamBatch {
		select {
		case it, ok := <-items:
			if !ok {
				return false, nil
			}
			if err := take(it); err != nil {
				return false, err
			}
		default:
			return true, nil
		}
	}
	return true, nil
}

func sendAll(ctx context.Context, conns []*Conn, batch []Packet) error {
	if len(batch) == 0 {
		return nil
	}
	for i, c := range conns {
		if _, err := c.SendBatch(ctx, batch); err != nil {
			return streamErr(ctx, i, err)
		}
	}
	return nil
}

// streamErr names the connection, unless it was ctx that ended the send.
func streamErr(ctx context.Context, i int, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return &StreamError{Conn: i, Err: err}
}
