package iamlocal

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPerSecondBucketsByTheSecond: answers are counted in the second of
// the server's life they were sent in, with empty seconds in between.
func TestPerSecondBucketsByTheSecond(t *testing.T) {
	t0 := time.Unix(1000, 0)
	now := t0
	p := newPerSecond(func() time.Time { return now })
	p.add(false, true)
	now = t0.Add(999 * time.Millisecond)
	p.add(true, false)
	p.add(false, false)
	now = t0.Add(2500 * time.Millisecond)
	p.add(true, false)
	got := p.snapshot()
	want := []Second{
		{Start: t0, Served: 2, Throttled: 1, Created: 1},
		{Start: t0.Add(time.Second)},
		{Start: t0.Add(2 * time.Second), Throttled: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("PerSecond = %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Served != want[i].Served || got[i].Throttled != want[i].Throttled || got[i].Created != want[i].Created {
			t.Errorf("second %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func post(t *testing.T, base, action string) int {
	t.Helper()
	resp, err := http.PostForm(base, url.Values{"Action": {action}})
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPerSecondCountsServedAndThrottled: a bucket of 3 tokens that hardly
// refills serves 3 of 10 requests and throttles 7, and the CSV says so.
func TestPerSecondCountsServedAndThrottled(t *testing.T) {
	s := New(Options{Faults: Faults{RateLimit: 0.001, Burst: 3}})
	base, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	statuses := map[int]int{}
	for range 10 {
		statuses[post(t, base, "ListVirtualMFADevices")]++
	}
	if statuses[200] != 3 || statuses[400] != 7 {
		t.Errorf("statuses %v, want 3 × 200 and 7 × 400 (Throttling)", statuses)
	}
	served, throttled := 0, 0
	for _, sec := range s.PerSecond() {
		served += sec.Served
		throttled += sec.Throttled
	}
	if served != 3 || throttled != 7 {
		t.Errorf("PerSecond totals: %d served, %d throttled; want 3 and 7", served, throttled)
	}
	var buf bytes.Buffer
	if err := s.WritePerSecondCSV(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if lines[0] != "second,start_unix_ms,served,throttled,created" || len(lines) != len(s.PerSecond())+1 {
		t.Errorf("CSV:\n%s", buf.String())
	}
}

// TestPeakInFlightAndArrivals: three requests held at once (a hang fault)
// are a peak of three in flight, and three arrivals; once they are
// released, more requests one at a time leave the peak at three.
func TestPeakInFlightAndArrivals(t *testing.T) {
	s := New(Options{Faults: Faults{Hang: 1}})
	base, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan struct{})
	for range 3 {
		go func() {
			defer func() { done <- struct{}{} }()
			if resp, err := http.PostForm(base, url.Values{"Action": {"ListVirtualMFADevices"}}); err == nil {
				resp.Body.Close() // a hang drops the connection: err is the usual outcome
			}
		}()
	}
	for end := time.Now().Add(30 * time.Second); s.Requests()["ListVirtualMFADevices"] < 3 && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
	}
	if got := s.PeakInFlight(); got != 3 {
		t.Errorf("peak in flight %d with 3 requests held, want 3", got)
	}
	s.SetFaults(Faults{})
	s.closeOnce.Do(func() { close(s.closing) }) // releases the held requests, as Close does
	for range 3 {
		<-done
	}
	for range 5 {
		post(t, base, "ListVirtualMFADevices")
	}
	arrived := 0
	for _, sec := range s.PerSecond() {
		arrived += sec.Arrived
	}
	if got := s.PeakInFlight(); got != 3 || arrived != 8 {
		t.Errorf("after 5 more, one at a time: peak %d, %d arrived; want 3 and 8", got, arrived)
	}
}
