package bench

// The shipped vendors' simulators, which internal/simulators starts by name
// (BenchmarkFleet, BenchmarkRunProcess).
import _ "github.com/tokenflow/tokenflow/internal/intree"
