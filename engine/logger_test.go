package engine_test

import (
	"io"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/redact"
)

type testLogger struct {
	logger hclog.Logger
	red    *redact.Redactor
	w      io.WriteCloser
}

func newLogger(out io.Writer) *testLogger {
	red := redact.New()
	w := red.Writer(out)
	return &testLogger{logger: hclog.New(&hclog.LoggerOptions{Output: w, Level: hclog.Trace}), red: red, w: w}
}

func (l *testLogger) flush() { l.w.Close() }
