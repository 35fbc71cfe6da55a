// Command iamlocal runs a local IAM endpoint that speaks IAM's wire
// protocol for virtual MFA devices, for mfabulk's demo and for trying
// mfabulk, the AWS CLI or boto3 without an AWS account.
//
//	iamlocal [-addr 127.0.0.1:0] [-role ARN[,externalId=ID]]… [-any-role] [-url-file FILE] [-stats-file FILE] [-users alice,/staff/bob] [-users-file FILE] [fault flags]
//
// -stats-file writes, when iamlocal is interrupted or terminated, a CSV of
// the requests it served and throttled in each second of its life
// (second,start_unix_ms,served,throttled,created): make bench charts it.
// -role ARN[,externalId=ID] (repeatable) registers a role that STS
// AssumeRole may assume at the same URL: its temporary credentials act in
// the role's account, which has its own devices, users, quota and -rate;
// -any-role accepts every role. Other credentials act in -account.
// -users and -users-file create IAM users before serving, so that
// EnableMFADevice has someone to enable devices for; an entry is NAME or
// /PATH/NAME.
// Fault flags (-latency, -rate, -p-service-failure, -p-hang, …; see -help) make it
// misbehave as IAM can, reproducibly from -seed.
// It prints its URL on the first line of standard output and serves until
// interrupted. Point a client at it with --endpoint-url URL and any
// credentials.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mfabulk/mfabulk/internal/aws/iamlocal"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback `address` to listen on")
	urlFile := flag.String("url-file", "", "also write the URL to `file` once listening")
	statsFile := flag.String("stats-file", "", "at exit (SIGINT, SIGTERM), write per-second served and throttled counts to `file` as CSV")
	account := flag.String("account", iamlocal.DefaultAccount, "account `ID` to report")
	maxDevices := flag.Int("max-devices", 0, "VirtualMFADevicesPerAccount quota, past which creates get LimitExceeded (0: none)")
	var f iamlocal.Faults
	flag.Int64Var(&f.Seed, "seed", 1, "seed of every random fault")
	flag.DurationVar(&f.Latency, "latency", 0, "latency added to every request")
	flag.DurationVar(&f.Jitter, "jitter", 0, "up to this much more latency, at random")
	flag.Float64Var(&f.RateLimit, "rate", 0, "requests a second past which calls get Throttling (0: no limit)")
	flag.IntVar(&f.Burst, "burst", 10, "token bucket size for -rate")
	flag.Float64Var(&f.ServiceFailure, "p-service-failure", 0, "probability of ServiceFailure (500) per request")
	flag.Float64Var(&f.ConcurrentModification, "p-concurrent-modification", 0, "probability of ConcurrentModification (409) per mutating request")
	flag.Float64Var(&f.DropAfterCommit, "p-drop-after-commit", 0, "probability that a create is committed and its connection dropped")
	flag.Float64Var(&f.Hang, "p-hang", 0, "probability that a request is read and never answered (the connection is held)")
	flag.Float64Var(&f.HangAfterCommit, "p-hang-after-commit", 0, "probability that a mutating request is committed and never answered")
	hangActions := flag.String("hang-actions", "", "comma-separated `actions` the hangs apply to (default: all)")
	users := flag.String("users", "", "comma-separated IAM `users` to create (NAME or /PATH/NAME)")
	usersFile := flag.String("users-file", "", "create the IAM users listed in `file`, one a line (NAME or /PATH/NAME; # comments)")
	var roles []iamlocal.Role
	flag.Func("role", "register a role for STS AssumeRole: `ARN[,externalId=ID]` (repeatable)", func(v string) error {
		r, err := iamlocal.ParseRole(v)
		if err != nil {
			return err
		}
		roles = append(roles, r)
		return nil
	})
	anyRole := flag.Bool("any-role", false, "let AssumeRole assume any role, in the account its ARN names")
	flag.Parse()
	if *hangActions != "" {
		f.HangActions = strings.Split(*hangActions, ",")
	}

	srv := iamlocal.New(iamlocal.Options{Account: *account, MaxDevices: *maxDevices, Faults: f, Roles: roles, AnyRole: *anyRole})
	if _, err := preloadUsers(srv, *users, *usersFile); err != nil {
		fmt.Fprintf(os.Stderr, "iamlocal: %v\n", err)
		os.Exit(2)
	}
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
	if *statsFile != "" {
		if err := writeStats(srv, *statsFile); err != nil {
			fmt.Fprintf(os.Stderr, "iamlocal: -stats-file: %v\n", err)
			os.Exit(1)
		}
	}
}

func writeStats(srv *iamlocal.Server, name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := srv.WritePerSecondCSV(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
