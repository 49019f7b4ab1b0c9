package engine

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/pubsub-go/pubsub/internal/fsys"
)

// Cleanup removes what dead processes left in the home (see liveness.go
// for who is dead), and returns the paths it removed, or with dryRun
// would remove.
func (h *Home) Cleanup(dryRun bool) ([]string, error) {
	if err := h.use(); err != nil {
		return nil, err
	}
	defer h.done()
	var removed []string
	var errs []error
	names, err := fsys.ReadDirNames(h.homeFD)
	if err != nil {
		return nil, fmt.Errorf("pubsub: list home: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		if !deadChannel(h.homeFD, name) {
			continue
		}
		removed = append(removed, h.channelPath(name))
		if dryRun {
			continue
		}
		if queue, _, ok := parseIntakeName(name); ok {
			// A queue's intake whose workers are gone: what it holds goes
			// into the queue before it goes.
			q, err := h.openQueue(queue)
			if err != nil {
				q = nil
			}
			rescueIntake(h.homeFD, h.dir, name, q, h.log)
			if q != nil {
				q.close()
			}
			continue
		}
		if err := h.reclaim(name); err != nil {
			errs = append(errs, err)
		}
	}
	tmpNames, err := fsys.ReadDirNames(h.tmpFD)
	if err != nil {
		return removed, fmt.Errorf("pubsub: list staging directory: %w", err)
	}
	slices.Sort(tmpNames)
	now := time.Now()
	for _, name := range tmpNames {
		if !staleTmpEntry(h.tmpFD, name, now) {
			continue
		}
		path := h.tmpPath(name)
		removed = append(removed, path)
		if !dryRun {
			if err := os.RemoveAll(path); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(removed) > 0 && !dryRun {
		h.routes.dirty.Store(true)
	}
	return removed, errors.Join(errs...)
}
