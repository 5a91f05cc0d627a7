package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

// The CPU one v3 packet costs with each encryption method, on each side:
// send_nsca against picket send, and the nsca daemon against picket server,
// measured in the same run on the same input. Run with `make bench`.

const (
	cipherFew  = 40  // results in the short client run
	cipherMany = 440 // in the long one, and in a server burst
)

// BenchmarkCipherCost measures, for every method in ciphers:
//   - a client's CPU per packet: the difference in CPU time (user and
//     system, from the process's rusage) between a run that sends
//     cipherMany results and one that sends cipherFew, divided by the
//     difference, so process start and key setup drop out. Both clients
//     send into the same real nsca daemon, runs alternating.
//   - a server's CPU per packet: the daemon's CPU time (summed over its
//     threads) for a burst of cipherMany results from the same in-process
//     client over 10 connections, divided by their number; that includes
//     accepting, decrypting, checking and writing each command line.
//
// The ratios say how many times less CPU picket needs than the peer.
func BenchmarkCipherCost(b *testing.B) {
	needE2E(b)
	printMachine(b)
	for _, c := range ciphers {
		b.Run(fmt.Sprintf("%d-%s", c.Method, c.Name), func(b *testing.B) {
			var sendNSCA, picketSend, nscad, picketServer []time.Duration
			for i := 0; b.Loop(); i++ {
				theirs, ours := clientCost(b, c, i%2 == 1)
				sendNSCA, picketSend = append(sendNSCA, theirs), append(picketSend, ours)
				theirs, ours = serverCost(b, c)
				nscad, picketServer = append(nscad, theirs), append(picketServer, ours)
			}
			cs, cp, sn, sp := median(sendNSCA), median(picketSend), median(nscad), median(picketServer)
			b.ReportMetric(us(cs), "us_send_nsca/pkt")
			b.ReportMetric(us(cp), "us_picket_send/pkt")
			b.ReportMetric(us(sn), "us_nsca/pkt")
			b.ReportMetric(us(sp), "us_picket_server/pkt")
			fmt.Printf("cipher %2d %-12s CPU per packet (medians of %d): client: send_nsca %8.1f µs, picket send %8.1f µs (%s); server: nsca %8.1f µs, picket server %8.1f µs (%s)\n",
				c.Method, c.Name, len(picketSend), us(cs), us(cp), ratio(cs, cp), us(sn), us(sp), ratio(sn, sp))
		})
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// ratio is "N.Nx less" when picket needs less, "N.Nx more" when it needs
// more; for costs too small to measure it says so.
func ratio(peer, picket time.Duration) string {
	if peer <= 0 || picket <= 0 {
		return "too small to compare"
	}
	if peer >= picket {
		return fmt.Sprintf("%.1fx less", float64(peer)/float64(picket))
	}
	return fmt.Sprintf("%.1fx more", float64(picket)/float64(peer))
}

// clientCost returns send_nsca's and picket send's CPU per packet.
func clientCost(b *testing.B, c cipher, picketFirst bool) (sendNSCA, picketSend time.Duration) {
	b.Helper()
	d := startBenchNSCA(b, c.Method)
	defer d.Stop()
	cfg := sendNSCAConfig(b, c.Method, password)
	rs := benchRecords()
	delivered := int64(0)
	// cpu runs one client with n results and waits for nsca to write them
	// all, so each run starts with an idle daemon.
	cpu := func(client string, n int) time.Duration {
		in := input(rs[:n]...)
		var r procResult
		if client == "send_nsca" {
			r = runSendNSCA(b, d.Port, cfg, in, "-to", "120")
		} else {
			r = runPicketSend(b, in, sendArgs(d.Port, cfg, "-to", "120")...)
		}
		if r.Code != 0 || !strings.Contains(r.Stdout, sentOK(n)) {
			b.Fatalf("%s, %s: %v", client, c.Name, r)
		}
		delivered += commandBytes(rs[:n])
		waitSize(b, d.CommandFile, delivered, 2*time.Minute)
		return r.CPU
	}
	clients := []string{"send_nsca", "picket send"}
	if picketFirst {
		clients = []string{"picket send", "send_nsca"}
	}
	per := map[string]time.Duration{}
	for _, client := range clients {
		few := cpu(client, cipherFew)
		many := cpu(client, cipherMany)
		per[client] = (many - few) / (cipherMany - cipherFew)
	}
	return per["send_nsca"], per["picket send"]
}

// serverCost returns the nsca daemon's and picket server's CPU per packet
// for the same burst.
func serverCost(b *testing.B, c cipher) (nscaCost, picketCost time.Duration) {
	b.Helper()
	rs := benchRecords()[:cipherMany]
	m := nsca.Method(c.Method)
	nd := startBenchNSCA(b, c.Method)
	defer nd.Stop()
	c0 := cpuTime(b, nd.daemon)
	intake(b, nd.Addr, nd.CommandFile, m, rs)
	nscaCost = (cpuTime(b, nd.daemon) - c0) / cipherMany
	sc := picketServerConfig{Encryption: c.Name, Password: password}
	if c.Method == 0 {
		sc.Password = ""
	}
	ps := startPicketServer(b, sc)
	defer ps.Stop()
	c0 = cpuTime(b, ps.daemon)
	intake(b, ps.Addr, ps.CommandFile, m, rs)
	picketCost = (cpuTime(b, ps.daemon) - c0) / cipherMany
	return nscaCost, picketCost
}
