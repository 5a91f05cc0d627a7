package nsca

import (
	"context"
	"testing"
	"time"
)

// A picket server takes each result's check time, in its own clock however
// far the client's is off; old ones are not stale, future ones are; a
// client that wants arrival times, and a server that does not offer the
// extension, get nsca's behaviour.
func TestCheckTimes(t *testing.T) {
	skew := time.Hour // the server's clock is an hour ahead of ours
	serverNow := func() time.Time { return time.Now().Add(skew) }
	for _, tt := range []struct {
		name        string
		offer, echo bool
		age         time.Duration
		want        string // "checked", "arrival" or "stale"
	}{
		{"offered and used", true, false, 2 * time.Hour, "checked"},
		{"recent", true, false, 3 * time.Second, "checked"},
		{"from the future", true, false, -10 * time.Minute, "stale"},
		{"client wants arrival times", true, true, 2 * time.Hour, "arrival"},
		{"plain nsca server", false, false, 2 * time.Hour, "arrival"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector()
			srv := &Server{Method: Blowfish, Password: []byte("pw"), Handler: col, CheckTimes: tt.offer,
				MaxPacketAge: 5 * time.Minute, Now: serverNow}
			addr, _ := startServer(t, srv)
			c, err := (&Dialer{Method: Blowfish, Password: []byte("pw"), ArrivalTimes: tt.echo}).Dial(context.Background(), addr)
			if err != nil {
				t.Fatal(err)
			}
			if c.CheckTimes() != (tt.offer && !tt.echo) {
				t.Errorf("CheckTimes() = %v", c.CheckTimes())
			}
			if off := c.ClockOffset(); off < skew-2*time.Second || off > skew+2*time.Second {
				t.Errorf("ClockOffset() = %v, want about %v", off, skew)
			}
			checked := time.Now().Add(-tt.age).Truncate(time.Second)
			if _, err := c.SendBatch(context.Background(), []Packet{{Host: "h", Service: "s", Output: "x", Checked: checked}}); err != nil {
				t.Fatal(err)
			}
			if err := c.Finish(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := srv.Stats()
			switch tt.want {
			case "stale":
				if st.Stale != 1 {
					t.Errorf("a check time from the future was taken: %+v", st)
				}
				return
			case "checked":
				r := col.wait(t, 1)[0]
				if want := checked.Add(skew); r.Checked.Sub(want).Abs() > 2*time.Second {
					t.Errorf("Checked = %v, want about %v (the check time in the server's clock)", r.Checked, want)
				}
			case "arrival":
				r := col.wait(t, 1)[0]
				if !r.Checked.IsZero() || r.CheckTime || serverNow().Sub(r.Packet.Time()).Abs() > 5*time.Second {
					t.Errorf("got %+v (timestamp %v): want the server's own timestamp echoed", r, r.Packet.Time())
				}
			}
		})
	}
}
