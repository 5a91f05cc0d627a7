package check

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func sampleResult() Result {
	return Result{
		Host: "web1", Service: "disk /", State: Warning,
		Output: "DISK WARNING - free space: / 812 MB (9%)", LongOutput: "line 2\nline 3",
		Perfdata: []Perf{
			{Label: "/", Value: 7431, UOM: "MB", Warn: "7200", Crit: "7600", Min: "0", Max: "8024"},
			{Label: "odd 'label'", Value: math.NaN()},
		},
		CheckTime: time.Date(2026, 11, 21, 10, 2, 11, 123456789, time.UTC),
		Duration:  42 * time.Millisecond,
		ExitCode:  1,
	}
}

// equalResults compares as the codec promises: the same instant (not the
// same Location) and NaN equal to NaN.
func equalResults(a, b Result) bool {
	if !a.CheckTime.Equal(b.CheckTime) || len(a.Perfdata) != len(b.Perfdata) {
		return false
	}
	for i := range a.Perfdata {
		pa, pb := a.Perfdata[i], b.Perfdata[i]
		if math.Float64bits(pa.Value) != math.Float64bits(pb.Value) {
			return false
		}
		pa.Value, pb.Value = 0, 0
		if pa != pb {
			return false
		}
	}
	a.CheckTime, b.CheckTime = time.Time{}, time.Time{}
	a.Perfdata, b.Perfdata = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestCodecRoundTrip(t *testing.T) {
	for name, r := range map[string]Result{
		"full":        sampleResult(),
		"host result": {Host: "h", State: Critical, Output: "down", ExitCode: 2, CheckTime: time.Unix(1, 0)},
		"never ran":   {Host: "h", Service: "s", State: Unknown, ExitCode: -1, Output: "plugin \"x\" not found"},
		"zero":        {},
		"binary":      {Host: "h", Service: "s", Output: "\x00\xff|;\n", LongOutput: "\x17\t"},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := r.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Result
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !equalResults(r, got) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
			}
		})
	}
}

// TestCodecVersion1Golden pins version 1's bytes: a spool written by this
// release must decode in every later one, so this encoding may never change.
func TestCodecVersion1Golden(t *testing.T) {
	r := Result{Host: "h", Service: "s", State: Critical, ExitCode: -1, Output: "o",
		Perfdata:  []Perf{{Label: "l", Value: 1.5, UOM: "s"}},
		CheckTime: time.Unix(2, 0), Duration: 3}
	const want = "0100" + "0168" + "0173" + "04" + "01" + "80d0acf30e" + "06" + "016f" + "00" +
		"01" + "016c" + "0173" + "00000000" + "000000000000f83f"
	b, _ := r.MarshalBinary()
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("encoding changed:\n got %s\nwant %s", got, want)
	}
	var back Result
	raw, _ := hex.DecodeString(want)
	if err := back.UnmarshalBinary(raw); err != nil || !equalResults(r, back) {
		t.Errorf("decode of the golden bytes: %+v, %v", back, err)
	}
}

func TestCodecRejects(t *testing.T) {
	good, _ := sampleResult().MarshalBinary()
	for name, b := range map[string][]byte{
		"empty":         nil,
		"one byte":      {1},
		"version 2":     append([]byte{2}, good[1:]...),
		"truncated":     good[:len(good)-3],
		"trailing":      append(append([]byte(nil), good...), 0),
		"huge string":   {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge perf cnt": {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f},
	} {
		t.Run(name, func(t *testing.T) {
			var r Result
			r.Host = "kept"
			err := r.UnmarshalBinary(b)
			if !errors.Is(err, ErrCodec) {
				t.Fatalf("err = %v, want ErrCodec", err)
			}
			if r.Host != "kept" {
				t.Error("a failed decode changed the result")
			}
		})
	}
}

func FuzzResultCodec(f *testing.F) {
	good, _ := sampleResult().MarshalBinary()
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Result
		if err := r.UnmarshalBinary(b); err != nil {
			return
		}
		// Whatever decodes must encode back to the same result. The bytes
		// may differ: an overlong varint decodes to the value it spells.
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			var r2 Result
			if err := r2.UnmarshalBinary(again); err != nil || !equalResults(r, r2) {
				t.Fatalf("re-encoding changed the result: %x -> %x", b, again)
			}
		}
	})
}

func BenchmarkResultCodec(b *testing.B) {
	r := sampleResult()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = r.AppendBinary(buf[:0])
		var back Result
		if err := back.UnmarshalBinary(buf); err != nil {
			b.Fatal(err)
		}
	}
}
