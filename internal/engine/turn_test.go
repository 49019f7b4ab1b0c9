package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// waitingIn returns once n readers are waiting in t.take.
func waitingIn(t *turn, n int32) {
	for t.waiters.Load() != n {
		runtime.Gosched()
	}
}

func TestTurnLetsOneReaderInAtATime(t *testing.T) {
	tn := newTurn()
	done := make(chan struct{})
	var inside, most, total int // guarded by tn; the race detector checks it
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				var err error
				if i%3 == 0 {
					err = tn.tryTake(done)
				} else {
					err = tn.take(context.Background(), done)
				}
				if err != nil {
					t.Errorf("take: %v", err)
					return
				}
				inside++
				most = max(most, inside)
				total++
				inside--
				tn.release()
			}
		}()
	}
	wg.Wait()
	if most != 1 || total != 8*2000 {
		t.Fatalf("at most %d readers inside at once, %d turns; want 1 and %d", most, total, 8*2000)
	}
}

func TestTurnWakesAWaiterWhenReleased(t *testing.T) {
	tn := newTurn()
	if err := tn.take(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	got := make(chan error)
	go func() { got <- tn.take(context.Background(), nil) }()
	waitingIn(&tn, 1)
	tn.release()
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if tn.held.CompareAndSwap(false, true) {
		t.Fatal("the turn is free while the waiter holds it")
	}
}

func TestTurnWaiterGivesUp(t *testing.T) {
	cause := errors.New("told to stop")
	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelCauseFunc, done chan struct{})
		want error
	}{
		{"context done", func(cancel context.CancelCauseFunc, _ chan struct{}) { cancel(cause) }, cause},
		{"closed", func(_ context.CancelCauseFunc, done chan struct{}) { close(done) }, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTurn()
			tn.keep()
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := make(chan struct{})
			got := make(chan error)
			go func() { got <- tn.take(ctx, done) }()
			waitingIn(&tn, 1)
			tc.stop(cancel, done)
			if err := <-got; !errors.Is(err, tc.want) {
				t.Fatalf("take returned %v; want %v", err, tc.want)
			}
			if tn.waiters.Load() != 0 {
				t.Fatalf("%d waiters left counted", tn.waiters.Load())
			}
		})
	}
}

func TestTurnDoneContextWinsOverAFreeTurn(t *testing.T) {
	tn := newTurn()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tn.take(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("take with a done context: %v; want context.Canceled", err)
	}
	if err := tn.take(context.Background(), nil); err != nil {
		t.Fatalf("the turn was kept by a refused take: %v", err)
	}
}

func TestTurnTryTake(t *testing.T) {
	tn := newTurn()
	done := make(chan struct{})
	if err := tn.tryTake(done); err != nil {
		t.Fatal(err)
	}
	tn.parked.Store(true) // the holder waits on an empty FIFO
	if err := tn.tryTake(done); err != ErrNoMessage {
		t.Fatalf("tryTake while the holder is parked: %v; want ErrNoMessage", err)
	}
	close(done)
	if err := tn.tryTake(done); err != ErrClosed {
		t.Fatalf("tryTake once closed: %v; want ErrClosed", err)
	}
}

func TestTurnReleaseWakesASleepingWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTurn()
		tn.keep()
		got := make(chan error, 1)
		go func() { got <- tn.take(context.Background(), nil) }()
		synctest.Wait() // the waiter is asleep in its select
		tn.release()
		if err := <-got; err != nil {
			t.Fatalf("waiter: %v", err)
		}
	})
}

// A wake-up lost in any round leaves the taker asleep beside a free turn,
// and the test never ends.
func TestTurnReleaseRacesATaker(t *testing.T) {
	tn := newTurn()
	var round, finished atomic.Int32
	const rounds = 20000
	go func() {
		for r := int32(1); r <= rounds; r++ {
			for round.Load() < r { // spin: run beside the holder
			}
			if err := tn.take(context.Background(), nil); err != nil {
				t.Error(err)
			}
			tn.release()
			finished.Store(r)
		}
	}()
	var sink int
	for r := int32(1); r <= rounds; r++ {
		tn.keep()
		round.Store(r)
		for j := range rand.IntN(400) { // let go at any point of the take
			sink += j
		}
		tn.release()
		for finished.Load() < r {
			runtime.Gosched()
		}
	}
	_ = sink
}
