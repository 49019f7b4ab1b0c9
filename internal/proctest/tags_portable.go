//go:build pubsub_portable

package proctest

// buildTags are passed to the helpers Build compiles, so that they run the
// same backend as the test binary.
const buildTags = "pubsub_portable"
