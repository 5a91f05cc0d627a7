package nsca

import (
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name, rec string
		sep       byte
		want      Packet
		skip      bool
		err       string
	}{
		{name: "service", rec: "web01\tdisk\t1\tDISK WARNING", want: Packet{Host: "web01", Service: "disk", ReturnCode: 1, Output: "DISK WARNING"}},
		{name: "host", rec: "web01\t0\tPING OK", want: Packet{Host: "web01", Output: "PING OK"}},
		{name: "output keeps tabs and newlines", rec: "h\ts\t2\tline 1\twith tab\nline 2\n", want: Packet{Host: "h", Service: "s", ReturnCode: 2, Output: "line 1\twith tab\nline 2"}},
		{name: "runs of separators are one, as strtok", rec: "\th\t\ts\t\t3\tout", want: Packet{Host: "h", Service: "s", ReturnCode: 3, Output: "out"}},
		{name: "separators after the third field belong to output", rec: "h\ts\t0\t\tout", want: Packet{Host: "h", Service: "s", Output: "\tout"}},
		{name: "trailing whitespace stripped", rec: "h\ts\t0\tout \r\n\t ", want: Packet{Host: "h", Service: "s", Output: "out"}},
		{name: "custom separator", rec: "h;s;1;a;b", sep: ';', want: Packet{Host: "h", Service: "s", ReturnCode: 1, Output: "a;b"}},
		{name: "negative rc", rec: "h\ts\t-1\tx", want: Packet{Host: "h", Service: "s", ReturnCode: -1, Output: "x"}},
		{name: "blank", rec: " \n", skip: true},
		{name: "two fields", rec: "h\t0", skip: true},
		{name: "rc not a number", rec: "h\ts\tOK\tout", err: `return code "OK" is not a number`},
		{name: "rc out of range", rec: "h\ts\t70000\tout", err: "not a number"},
		{name: "host too long", rec: strings.Repeat("h", 64) + "\t0\tout", err: "host name is 64 bytes"},
		{name: "service too long", rec: "h\t" + strings.Repeat("s", 128) + "\t0\tout", err: "service name is 128 bytes"},
		{name: "63-byte host fits", rec: strings.Repeat("h", 63) + "\t0\tout", want: Packet{Host: strings.Repeat("h", 63), Output: "out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sep := tt.sep
			if sep == 0 {
				sep = '\t'
			}
			got, ok, err := ParseRecord(tt.rec, sep)
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			case err != nil:
				t.Fatal(err)
			case ok == tt.skip:
				t.Fatalf("ok = %v, want %v", ok, !tt.skip)
			case got != tt.want:
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInputScannerGoesOnAfterABadRecord(t *testing.T) {
	in := "a\ts\t0\tone\x17bad\ts\tX\tout\x17\x17b\t1\ttwo"
	sc := NewInputScanner(strings.NewReader(in), DefaultFieldSep, DefaultRecordSep)
	var hosts []string
	var bad []int
	for {
		p, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var ie *InputError
		if errors.As(err, &ie) {
			bad = append(bad, ie.Record)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, p.Host)
	}
	if strings.Join(hosts, ",") != "a,b" || len(bad) != 1 || bad[0] != 2 {
		t.Errorf("hosts %v, bad records %v", hosts, bad)
	}
}

func TestParseDelimiter(t *testing.T) {
	for arg, want := range map[string]byte{"\t": '\t', ";": ';', "9": '9', "0x09": '\t', "0x17": 0x17, "23": 23, "011": 9, "ab": 'a', `\n`: '\\'} {
		got, err := ParseDelimiter(arg)
		if err != nil || got != want {
			t.Errorf("ParseDelimiter(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
	for _, arg := range []string{"", "0x1ff", "-1", "12abc"} {
		if _, err := ParseDelimiter(arg); err == nil {
			t.Errorf("ParseDelimiter(%q) accepted", arg)
		}
	}
}

func TestParseMethod(t *testing.T) {
	ok := map[string]Method{"0": None, "1": XOR, "xor": XOR, "14": Rijndael128, "AES256": Rijndael128,
		"Rijndael-128": Rijndael128, "3DES": TripleDES, "tripledes": TripleDES, "CAST-128": CAST128,
		"blowfish": Blowfish, " 8 ": Blowfish, "twofish": Twofish, "xtea": XTEA, "des": DES, "none": None,
		"cast256": CAST256, "CAST-256": CAST256, "5": CAST256, "loki97": LOKI97, "10": LOKI97, "rc2": RC2,
		"11": RC2, "rijndael-192": Rijndael192, "15": Rijndael192, "Rijndael_256": Rijndael256, "16": Rijndael256,
		"serpent": Serpent, "20": Serpent, "gost": GOST, "23": GOST, "saferplus": SAFERPlus, "SAFER+": SAFERPlus,
		"26": SAFERPlus}
	for in, want := range ok {
		if got, err := ParseMethod(in); err != nil || got != want {
			t.Errorf("ParseMethod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{"aes": "unknown", "7": "unknown", "99": "unknown", "": "unknown",
		"-1": "unknown", "12": "unknown", "safer128": "unknown", "3way": "unknown", "aes128": "unknown"} {
		if _, err := ParseMethod(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseMethod(%q) = %v, want error containing %q", in, err, msg)
		}
	}
}

func TestTruncateOutputKeepsRunes(t *testing.T) {
	s := strings.Repeat("é", 10) // 2 bytes each
	if got := TruncateOutput(s, 5); got != "éé" {
		t.Errorf("got %q", got)
	}
	if got := TruncateOutput("abc", 5); got != "abc" {
		t.Errorf("got %q", got)
	}
}

// The README's table is what users copy names from: its first name of each
// method is the one config check prints, and every name it lists parses.
func TestReadmeMethodNames(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| (`[^|]+`) \\|")
	rows := row.FindAllStringSubmatch(string(data), -1)
	if len(rows) != len(methods) {
		t.Fatalf("README lists %d methods, nsca has %d", len(rows), len(methods))
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[1])
		names := strings.Split(strings.ReplaceAll(r[2], "`", ""), ", ")
		if got := Method(n).String(); got != names[0] {
			t.Errorf("method %d prints as %q, README's first name is %q", n, got, names[0])
		}
		for _, name := range names {
			if m, err := ParseMethod(name); err != nil || m != Method(n) {
				t.Errorf("README name %q: ParseMethod = %v, %v; want %d", name, m, err, n)
			}
		}
	}
}
