// Command mkcreds makes what a NATS server in operator mode and one user
// need, for the bridge's tests of --creds: an operator, a system account,
// an account with JetStream, and a user of it. It writes DIR/auth.conf, to
// include in the server's configuration (the operator, and the accounts
// preloaded in a memory resolver), and DIR/user.creds, the user's
// credentials file (JWT and NKey seed).
//
//	mkcreds DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkcreds DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "mkcreds:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	op, err := nkeys.CreateOperator()
	if err != nil {
		return err
	}
	opPub, _ := op.PublicKey()
	oc := jwt.NewOperatorClaims(opPub)
	oc.Name = "test-operator"
	opJWT, err := oc.Encode(op)
	if err != nil {
		return err
	}

	account := func(name string, jetStream bool) (nkeys.KeyPair, string, string, error) {
		kp, err := nkeys.CreateAccount()
		if err != nil {
			return nil, "", "", err
		}
		pub, _ := kp.PublicKey()
		ac := jwt.NewAccountClaims(pub)
		ac.Name = name
		if jetStream {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		token, err := ac.Encode(op)
		return kp, pub, token, err
	}
	_, sysPub, sysJWT, err := account("SYS", false)
	if err != nil {
		return err
	}
	acc, accPub, accJWT, err := account("BRIDGES", true)
	if err != nil {
		return err
	}

	user, err := nkeys.CreateUser()
	if err != nil {
		return err
	}
	userPub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(userPub)
	uc.Name = "host1"
	uc.IssuerAccount = accPub
	userJWT, err := uc.Encode(acc)
	if err != nil {
		return err
	}
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		return err
	}

	conf := fmt.Sprintf("operator: %q\nsystem_account: %s\nresolver: MEMORY\nresolver_preload: {\n  %s: %q\n  %s: %q\n}\n",
		opJWT, sysPub, sysPub, sysJWT, accPub, accJWT)
	if err := os.WriteFile(filepath.Join(dir, "auth.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "user.creds"), creds, 0o600)
}
