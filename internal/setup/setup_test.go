package setup

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/config"
)

func TestWriteFirstContact(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "picket")
	path := filepath.Join(dir, "picket.toml")
	res, err := Write(path, Settings{
		Servers:           []string{"nagios1.example.com, nagios2.example.com:5668", ""},
		NSCAPassword:      `pa"ss\word`,
		ExternalsURL:      "https://nagios1.example.com/picket/externals/",
		RegistrationURL:   "https://nagios1.example.com/picket/register",
		RegistrationToken: "tok-123",
		Hostname:          "web01",
		Proxy:             "http://proxy.example.com:3128",
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept || len(res.Written) != 3 {
		t.Errorf("result: %+v", res)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if c.Hostname != "web01" || len(c.Targets) != 2 || c.Targets[0].Address != "nagios1.example.com:5667" ||
		c.Targets[1].Address != "nagios2.example.com:5668" || c.Targets[0].Encryption != "aes256" ||
		c.Externals.URL != "https://nagios1.example.com/picket/externals/" || c.Externals.Proxy != "http://proxy.example.com:3128" ||
		c.Autoreg.TokenFile != filepath.Join(dir, TokenFile) {
		t.Errorf("config: %+v", c)
	}
	pw, err := config.ReadSecret(c.Targets[0].PasswordFile)
	if err != nil || string(pw) != `pa"ss\word` {
		t.Errorf("password file: %q, %v", pw, err)
	}
	text, _ := os.ReadFile(path)
	if strings.Contains(string(text), "pa\"ss") || strings.Contains(string(text), "tok-123") {
		t.Errorf("a secret is in the config:\n%s", text)
	}
	if runtime.GOOS != "windows" {
		for _, p := range res.Written {
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v", p, fi.Mode().Perm())
			}
		}
	}
	// No temporary file is left beside them.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("files in %s: %v", dir, ents)
	}
}

// An upgrade or repair runs setup again: the administrator's config stays.
func TestWriteKeepsExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "picket.toml")
	os.WriteFile(path, []byte("hostname = \"edited\"\n"), 0o600)
	res, err := Write(path, Settings{Servers: []string{"nagios"}}, false)
	if err != nil || !res.Kept {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "hostname = \"edited\"\n" {
		t.Errorf("config changed: %s", b)
	}
	if _, err := Write(path, Settings{Servers: []string{"nagios"}}, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `address = "nagios:5667"`) {
		t.Errorf("force did not rewrite:\n%s", b)
	}
}

func TestWriteRefusesBadSettings(t *testing.T) {
	for name, s := range map[string]Settings{
		"method":            {Servers: []string{"nagios"}, NSCAPassword: "pw", NSCAEncryption: "rot13"},
		"host name":         {Hostname: "web\"01;x"},
		"token without url": {RegistrationToken: "t"},
		"method needs pw":   {Servers: []string{"nagios"}, NSCAEncryption: "aes256"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "picket.toml")
			if _, err := Write(path, s, false); err == nil {
				b, _ := os.ReadFile(path)
				t.Fatalf("accepted:\n%s", b)
			} else {
				t.Log(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left behind: %v", ents)
			}
		})
	}
}

// A later step of the install fails (picket setup's --service): Undo takes
// the run back whole, so a retried install starts from what was there.
func TestUndo(t *testing.T) {
	t.Run("fresh install", func(t *testing.T) {
		root := t.TempDir()
		dir := filepath.Join(root, "picket")
		path := filepath.Join(dir, "picket.toml")
		res, err := Write(path, Settings{Servers: []string{"nagios"}, NSCAPassword: "pw"}, false)
		if err != nil || len(res.Written) != 2 {
			t.Fatalf("Write: %+v, %v", res, err)
		}
		if err := res.Undo(); err != nil {
			t.Fatal(err)
		}
		if ents, _ := os.ReadDir(root); len(ents) != 0 {
			t.Errorf("left behind after Undo: %v", ents)
		}
	})
	t.Run("forced over an old install", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "picket.toml")
		secret := filepath.Join(dir, PasswordFile)
		os.WriteFile(path, []byte("hostname = \"old\"\n"), 0o600)
		os.WriteFile(secret, []byte("old-pw\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("x"), 0o600)
		// Settings that do not make a valid config fail after the secrets
		// are written: the old ones come back at once.
		if _, err := Write(path, Settings{Servers: []string{"nagios"}, NSCAPassword: "new-pw", RegistrationURL: "https://r/", RegistrationToken: "tok"}, true); err == nil {
			t.Fatal("registration without externals accepted")
		}
		if b, _ := os.ReadFile(secret); string(b) != "old-pw\n" {
			t.Fatalf("a failed Write left the secret %q", b)
		}
		res, err := Write(path, Settings{Servers: []string{"nagios"}, NSCAPassword: "new-pw", ExternalsURL: "https://r/x/", RegistrationURL: "https://r/", RegistrationToken: "tok"}, true)
		if err != nil || len(res.Written) != 3 {
			t.Fatalf("Write: %+v, %v", res, err)
		}
		if err := res.Undo(); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]string{path: "hostname = \"old\"\n", secret: "old-pw\n", filepath.Join(dir, "mine.txt"): "x"} {
			if b, err := os.ReadFile(p); err != nil || string(b) != want {
				t.Errorf("%s after Undo: %q, %v; want %q", p, b, err, want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, TokenFile)); !os.IsNotExist(err) {
			t.Errorf("the new token file survived Undo: %v", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 3 {
			t.Errorf("files after Undo: %v", ents)
		}
	})
	t.Run("kept config: nothing to undo", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "picket.toml")
		os.WriteFile(path, []byte("hostname = \"edited\"\n"), 0o600)
		res, err := Write(path, Settings{Servers: []string{"nagios"}}, false)
		if err != nil || !res.Kept || res.Undo() != nil {
			t.Fatalf("Write: %+v, %v", res, err)
		}
		if b, _ := os.ReadFile(path); string(b) != "hostname = \"edited\"\n" {
			t.Errorf("Undo touched a kept config: %s", b)
		}
	})
}

func TestWriteRefusesAProxyWithoutExternals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "picket.toml")
	if _, err := Write(path, Settings{Proxy: "http://proxy:3128"}, false); err == nil || !strings.Contains(err.Error(), "proxy without an externals URL") {
		t.Errorf("err = %v", err)
	}
	if _, err := Write(path, Settings{ExternalsURL: "https://x/e/", Proxy: "proxy:3128"}, false); err == nil || !strings.Contains(err.Error(), "externals.proxy") {
		t.Errorf("a bad proxy: err = %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a config was left behind")
	}
}
