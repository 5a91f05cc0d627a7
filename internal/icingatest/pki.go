package icingatest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// makePKI makes the instance's CA and two certificates with `icinga2 pki`,
// as an Icinga administrator would without `api setup`: the server's
// (NodeName, where the ApiListener looks for it: DataDir/certs) and a client
// certificate for CertUser. The CA's key never leaves DataDir/ca.
func (in *Instance) makePKI(ctx context.Context) error {
	certs := filepath.Join(in.Dir, "data", "certs")
	client := filepath.Join(in.Dir, "client")
	for _, d := range []string{certs, client} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("icingatest: %w", err)
		}
	}
	if err := in.pki(ctx, "new-ca"); err != nil {
		return err
	}
	// Each key is 4096-bit RSA (about a second): make the two at once.
	errc := make(chan error, 2)
	for _, c := range []struct{ dir, cn string }{{certs, NodeName}, {client, ClientCN}} {
		go func() {
			base := filepath.Join(c.dir, c.cn)
			err := in.pki(ctx, "new-cert", "--cn", c.cn, "--key", base+".key", "--csr", base+".csr")
			if err == nil {
				err = in.pki(ctx, "sign-csr", "--csr", base+".csr", "--cert", base+".crt")
			}
			errc <- err
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			return err
		}
	}
	ca, err := os.ReadFile(filepath.Join(in.Dir, "data", "ca", "ca.crt"))
	if err != nil {
		return fmt.Errorf("icingatest: %w", err)
	}
	in.CAFile = filepath.Join(certs, "ca.crt")
	in.ClientCert = filepath.Join(client, ClientCN+".crt")
	in.ClientKey = filepath.Join(client, ClientCN+".key")
	if err := os.WriteFile(in.CAFile, ca, 0o644); err != nil {
		return fmt.Errorf("icingatest: %w", err)
	}
	return nil
}

// pki runs one `icinga2 pki` command with the instance's directories.
func (in *Instance) pki(ctx context.Context, args ...string) error {
	args = append(append([]string{"pki"}, args...), in.defines()...)
	out, err := exec.CommandContext(ctx, in.bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("icingatest: icinga2 %s: %w\n%s", args[1], err, out)
	}
	return nil
}
