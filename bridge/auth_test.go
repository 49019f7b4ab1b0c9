package bridge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/pubsub-go/pubsub/internal/proctest"
)

// TestAuth: the bridge connects to a server that asks for each way of
// authenticating the nats command knows (a user and password, or a
// token, from the environment; an NKey seed file; a credentials file of
// an operator-mode server; a client certificate, over TLS with a private
// authority), and carries a message from it into the home. Nothing
// secret is printed.
func TestAuth(t *testing.T) {
	const password, token = "pw-s3cret", "t0ken-s3cret"
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	userPub, _ := user.PublicKey()
	seed, _ := user.Seed()
	seedFile := file("user.nk", seed)

	for _, c := range []struct {
		name    string
		conf    func(t *testing.T) (conf string, client []nats.Option, args, env []string)
		secrets []string
	}{
		{"user and password from the environment", func(t *testing.T) (string, []nats.Option, []string, []string) {
			return fmt.Sprintf("authorization { user: bob, password: %q }\n", password), []nats.Option{nats.UserInfo("bob", password)},
				nil, []string{"NATS_USER=bob", "NATS_PASSWORD=" + password}
		}, []string{password}},
		{"token from the environment", func(t *testing.T) (string, []nats.Option, []string, []string) {
			return fmt.Sprintf("authorization { token: %q }\n", token), []nats.Option{nats.Token(token)},
				nil, []string{"NATS_TOKEN=" + token}
		}, []string{token}},
		{"nkey", func(t *testing.T) (string, []nats.Option, []string, []string) {
			opt, err := nats.NkeyOptionFromSeed(seedFile)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("authorization { users = [ { nkey: %q } ] }\n", userPub), []nats.Option{opt},
				[]string{"--nkey", seedFile}, nil
		}, []string{string(seed)}},
		{"nkey from the environment", func(t *testing.T) (string, []nats.Option, []string, []string) {
			opt, err := nats.NkeyOptionFromSeed(seedFile)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("authorization { users = [ { nkey: %q } ] }\n", userPub), []nats.Option{opt},
				nil, []string{"NATS_NKEY=" + seedFile}
		}, []string{string(seed)}},
		{"creds", func(t *testing.T) (string, []nats.Option, []string, []string) {
			conf, creds := operatorMode(t)
			return conf, []nats.Option{nats.UserCredentials(creds)}, []string{"--creds", creds, "--durable", "host1"}, nil
		}, nil},
		{"tls", func(t *testing.T) (string, []nats.Option, []string, []string) {
			pki := newPKI(t, dir)
			conf := fmt.Sprintf("tls {\n  cert_file: %q\n  key_file: %q\n  ca_file: %q\n  verify: true\n  timeout: 5\n}\n", pki.serverCert, pki.serverKey, pki.ca)
			return conf, []nats.Option{nats.ClientCert(pki.clientCert, pki.clientKey), nats.RootCAs(pki.ca)},
				[]string{"--tlscert", pki.clientCert, "--tlskey", pki.clientKey, "--tlsca", pki.ca}, nil
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf, client, args, env := c.conf(t)
			srv := startNATSWith(t, conf, client...)
			h := newHome(t)
			b := &bridgeProc{t: t, home: h.Dir(), args: append([]string{"--nats", srv.url, "--import", "au.+"}, args...), env: env}
			startFailFast(b)
			sub := collect(t, h, "au.+")
			natsPublishOne(t, srv.url, "pubsub.au.t", client...)
			sub.waitCount(1)
			if s := b.stop(); s["imported"] != 1 {
				t.Errorf("imported %d, want 1", s["imported"])
			}
			for _, secret := range c.secrets {
				if strings.Contains(b.StderrText(), secret) {
					t.Errorf("the bridge prints the secret %q:\n%s", secret, b.StderrText())
				}
			}
		})
	}
}

// startFailFast starts b and waits for its ready line, failing at once
// if it exits or cannot connect (it would retry for ever).
func startFailFast(b *bridgeProc) {
	b.t.Helper()
	bin := b.bin
	if bin == "" {
		bin = pubsubBin(b.t)
	}
	b.Proc = proctest.Start(b.t, b.env, bin, append([]string{"--home", b.home, "bridge"}, b.args...)...)
	exited := make(chan struct{})
	go func() { _ = b.Wait(); close(exited) }()
	waitFor(b.t, "the bridge to be ready, fail or exit", func() bool {
		select {
		case <-exited:
			return true
		default:
			s := b.StderrText()
			return strings.Contains(s, "bridge ready") || strings.Contains(s, "cannot reach NATS")
		}
	})
	if s := b.StderrText(); !strings.Contains(s, "bridge ready") {
		b.t.Fatalf("bridge %v is not ready:\n%s", b.args, s)
	}
}

// operatorMode makes an operator, accounts and a user with the mkcreds
// program of the nested module, and returns the server's configuration
// for them and the user's credentials file.
func operatorMode(t *testing.T) (conf, creds string) {
	t.Helper()
	mkcredsOnce.Do(func() {
		mkcredsBin = filepath.Join(filepath.Dir(natsServerBin), "mkcreds")
		out, err := exec.Command("go", "build", "-C", "testdata/natsserver", "-o", mkcredsBin, "./mkcreds").CombinedOutput()
		if err != nil {
			mkcredsErr = fmt.Errorf("building mkcreds: %v\n%s", err, out)
		}
	})
	if mkcredsErr != nil {
		t.Fatal(mkcredsErr)
	}
	dir := t.TempDir()
	if out, err := exec.Command(mkcredsBin, dir).CombinedOutput(); err != nil {
		t.Fatalf("mkcreds: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "auth.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), filepath.Join(dir, "user.creds")
}

var (
	mkcredsOnce sync.Once
	mkcredsBin  string
	mkcredsErr  error
)

// pki is a private certificate authority and the certificates it signed,
// as PEM files.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pubsub test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	serverDER, serverKey := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	clientDER, clientKey := leaf(3, "host1", x509.ExtKeyUsageClientAuth)
	return pki{
		ca:         write("ca.pem", "CERTIFICATE", caDER),
		serverCert: write("server.pem", "CERTIFICATE", serverDER),
		serverKey:  write("server-key.pem", "PRIVATE KEY", keyDER(serverKey)),
		clientCert: write("client.pem", "CERTIFICATE", clientDER),
		clientKey:  write("client-key.pem", "PRIVATE KEY", keyDER(clientKey)),
	}
}

// TestURLFromEnvironment: without --nats, the bridge connects to NATS_URL,
// as the nats command does; --nats wins over it.
func TestURLFromEnvironment(t *testing.T) {
	srv := startNATS(t)
	for _, c := range []struct {
		name string
		args []string
		env  string
	}{
		{"NATS_URL alone", nil, srv.url},
		{"--nats over NATS_URL", []string{"--nats", srv.url}, "nats://127.0.0.1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHome(t)
			b := &bridgeProc{t: t, home: h.Dir(), args: append(c.args, "--import", "env.+"), env: []string{"NATS_URL=" + c.env}}
			startFailFast(b)
			if !strings.Contains(b.StderrText(), "NATS "+srv.url+",") {
				t.Errorf("the ready line does not name %s:\n%s", srv.url, b.StderrText())
			}
			sub := collect(t, h, "env.+")
			natsPublishOne(t, srv.url, "pubsub.env.t")
			sub.waitCount(1)
			if s := b.stop(); s["imported"] != 1 {
				t.Errorf("imported %d, want 1", s["imported"])
			}
		})
	}
}

// natsPublishOne publishes "hello" on subject from a plain NATS client,
// and returns once the server has it.
func natsPublishOne(t *testing.T, url, subject string, opts ...nats.Option) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish(subject, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}
