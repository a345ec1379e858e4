package distributed

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Per-vendor task queues: a flow's workflow task and its store and journal
// activities go to the base queue (any worker can run them), but the
// activities that talk to a vendor (describe, op, close) go to a queue of
// that vendor, and of a site when the target has one. A worker polls the
// queues of the plugins it has, so a flow never lands on a worker without
// its plugin, workers can sit next to the appliances of their site, and a
// vendor's rate limit (TaskQueueActivitiesPerSecond) is enforced by the
// server across every worker polling that queue.

// OpsQueue is the task queue of a vendor's activities: base-ops-vendor,
// or base-ops-vendor-site.
func OpsQueue(base, vendor, site string) string {
	q := base + "-ops-" + vendor
	if site != "" {
		q += "-" + site
	}
	return q
}

// opsOptions routes a vendor activity to its queue (see OpsQueue). The
// base queue is the workflow's own.
func (w *wfRun) opsOptions(id, vendor string) workflow.Context {
	ctx := workflow.WithTaskQueue(w.options(id), w.opsQueue(vendor))
	return workflow.WithScheduleToStartTimeout(ctx, queueWait)
}

func (w *wfRun) opsQueue(vendor string) string {
	return OpsQueue(workflow.GetInfo(w.ctx).TaskQueueName, vendor, w.site)
}

// queueWait bounds how long a vendor call waits for a worker to take it
// from its queue. Rate limits can hold calls back legitimately for a
// while (a thousand targets at 1/s is 17 minutes), so it is long; past it
// nobody polls the queue, which a person has to fix.
const queueWait = time.Hour

// noWorker turns a vendor call that no worker took within queueWait into
// an error saying which queue and what to start.
func (w *wfRun) noWorker(err error, vendor string) error {
	var te *temporal.TimeoutError
	if errors.As(err, &te) && te.TimeoutType() == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
		how := "a worker with the " + vendor + " plugin"
		if w.site != "" {
			how += " and --sites " + w.site
		}
		return fmt.Errorf("no worker took the %s call from task queue %s within %s: start %s (tokenflow worker), then submit the flow again: %w",
			vendor, w.opsQueue(vendor), queueWait, how, err)
	}
	return err
}

var rateRE = regexp.MustCompile(`^([a-z0-9_-]+)=([0-9]*\.?[0-9]+)/(s|m|h)$`)

// ParseRate parses a vendor's rate limit, "vcf=20/s" (per s, m or h),
// into the vendor and activities per second.
func ParseRate(s string) (vendor string, perSecond float64, err error) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", 0, fmt.Errorf("want VENDOR=N/s (or /m, /h), for example vcf=20/s")
	}
	n, err := strconv.ParseFloat(m[2], 64)
	if err != nil || n <= 0 {
		return "", 0, fmt.Errorf("the rate must be a positive number, for example vcf=20/s")
	}
	switch m[3] {
	case "m":
		n /= 60
	case "h":
		n /= 3600
	}
	return m[1], n, nil
}

// workers is the base queue's worker plus one per vendor (and site) queue;
// it starts and stops them together.
type workers struct {
	worker.Worker
	ops    []worker.Worker
	queues []string
}

// newWorkers adds the vendor queue workers to base.
func newWorkers(c client.Client, cfg WorkerConfig, base worker.Worker) (*workers, error) {
	vendors := cfg.Vendors
	if vendors == nil {
		for _, in := range cfg.Runtime.Plugins().Installed() {
			vendors = append(vendors, in.Vendor)
		}
	}
	if len(vendors) == 0 {
		return nil, errors.New("distributed worker has no plugin: install one (tokenflow plugins) or pass --plugin-dir")
	}
	have := map[string]bool{}
	for _, v := range vendors {
		have[v] = true
	}
	var unknown []string
	for v := range cfg.Rates {
		if !have[v] {
			unknown = append(unknown, v)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("rate limit for %s, but this worker has no such plugin (it has %s)", strings.Join(unknown, ", "), strings.Join(vendors, ", "))
	}
	sites := cfg.Sites
	if len(sites) == 0 {
		sites = []string{""}
	}
	ws := &workers{Worker: base}
	for _, v := range vendors {
		for _, site := range sites {
			q := OpsQueue(cfg.TaskQueue, v, site)
			ws.ops = append(ws.ops, newOpsWorker(c, q, OpsWorkerOptions(cfg, v), cfg))
			ws.queues = append(ws.queues, q)
		}
	}
	return ws, nil
}

// OpsWorkerOptions are the worker options of a vendor's queue: activities
// only, at the vendor's rate limit if it has one.
func OpsWorkerOptions(cfg WorkerConfig, vendor string) worker.Options {
	o := cfg.Options
	o.DisableWorkflowWorker = true
	if r, ok := cfg.Rates[vendor]; ok {
		o.TaskQueueActivitiesPerSecond = r
	}
	return o
}

func newOpsWorker(c client.Client, queue string, o worker.Options, cfg WorkerConfig) worker.Worker {
	w := worker.New(c, queue, o)
	a := &activities{rt: cfg.Runtime, state: cfg.State, getenv: cfg.Getenv, logger: cfg.Logger}
	w.RegisterActivityWithOptions(a.describe, activity.RegisterOptions{Name: activityDescribe})
	w.RegisterActivityWithOptions(a.op, activity.RegisterOptions{Name: activityOp})
	w.RegisterActivityWithOptions(a.closeConnection, activity.RegisterOptions{Name: activityClose})
	return w
}

// WorkerQueues lists the vendor task queues a worker from NewWorker polls
// besides its base queue.
func WorkerQueues(w worker.Worker) []string {
	if ws, ok := w.(*workers); ok {
		return ws.queues
	}
	return nil
}

func (ws *workers) Start() error {
	if err := ws.Worker.Start(); err != nil {
		return err
	}
	for i, w := range ws.ops {
		if err := w.Start(); err != nil {
			for _, s := range ws.ops[:i] {
				s.Stop()
			}
			ws.Worker.Stop()
			return err
		}
	}
	return nil
}

func (ws *workers) Run(interruptCh <-chan any) error {
	if err := ws.Start(); err != nil {
		return err
	}
	<-interruptCh
	ws.Stop()
	return nil
}

func (ws *workers) Stop() {
	for _, w := range ws.ops {
		w.Stop()
	}
	ws.Worker.Stop()
}
