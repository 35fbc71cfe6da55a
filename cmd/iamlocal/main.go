// Command iamlocal runs a local IAM endpoint that speaks IAM's wire
// protocol for virtual MFA devices, for mfabulk's demo and for trying
// mfabulk, the AWS CLI or boto3 without an AWS account.
//
//	iamlocal [-addr 127.0.0.1:0] [-url-file FILE]
//
// It prints its URL on the first line of standard output and serves until
// interrupted. Point a client at it with --endpoint-url URL and any
// credentials.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mfabulk/mfabulk/internal/iamlocal"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback `address` to listen on")
	urlFile := flag.String("url-file", "", "also write the URL to `file` once listening")
	account := flag.String("account", iamlocal.DefaultAccount, "account `ID` to report")
	maxDevices := flag.Int("max-devices", 0, "VirtualMFADevicesPerAccount quota (0: none)")
	flag.Parse()

	srv := iamlocal.New(iamlocal.Options{Account: *account, MaxDevices: *maxDevices})
	url, err := srv.Listen(*addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "iamlocal: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(url)
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(url+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "iamlocal: %v\n", err)
			os.Exit(1)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Close()
}
