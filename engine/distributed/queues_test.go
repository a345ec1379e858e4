package distributed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"vcf=20/s": 20, "vcf=120/m": 2, "acme-x=1800/h": 0.5, "vcf=0.5/s": 0.5} {
		v, r, err := distributed.ParseRate(in)
		if err != nil || r != want || v != strings.Split(in, "=")[0] {
			t.Errorf("ParseRate(%q) = %q, %v, %v; want %v per second", in, v, r, err, want)
		}
	}
	for _, in := range []string{"vcf", "vcf=20", "vcf=fast/s", "=20/s", "vcf=0/s", "vcf=20/d", "VCF=20/s"} {
		if _, _, err := distributed.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted it", in)
		}
	}
}

func TestOpsWorkerOptions(t *testing.T) {
	cfg := distributed.WorkerConfig{Rates: map[string]float64{"vcf": 20}}
	o := distributed.OpsWorkerOptions(cfg, "vcf")
	if o.TaskQueueActivitiesPerSecond != 20 || !o.DisableWorkflowWorker {
		t.Errorf("vcf queue options: rate %v, workflow worker disabled %v; want 20 and true", o.TaskQueueActivitiesPerSecond, o.DisableWorkflowWorker)
	}
	if o := distributed.OpsWorkerOptions(cfg, "acme"); o.TaskQueueActivitiesPerSecond != 0 {
		t.Errorf("acme queue has rate %v, want none", o.TaskQueueActivitiesPerSecond)
	}
	if q := distributed.OpsQueue("tokenflow", "vcf", "dc1"); q != "tokenflow-ops-vcf-dc1" {
		t.Errorf("OpsQueue = %q", q)
	}
}

// TestVendorQueueRouting: a flow's op activities go to the vendor's queue
// (of the target's site, when it has one), and a worker polling that site
// runs them; a rate for a vendor the worker lacks is refused.
func TestVendorQueueRouting(t *testing.T) {
	cl := newCluster(t)
	if _, err := distributed.NewWorker(cl.c, distributed.WorkerConfig{TaskQueue: cl.queue, Runtime: cl.rt, State: cl.db, IDKey: cl.idKey,
		Rates: map[string]float64{"acme": 1}}); err == nil || !strings.Contains(err.Error(), "acme") {
		t.Errorf("a rate for a vendor without a plugin: %v, want an error naming it", err)
	}
	w, err := distributed.NewWorker(cl.c, distributed.WorkerConfig{TaskQueue: cl.queue, Runtime: cl.rt, State: cl.db, IDKey: cl.idKey,
		Getenv: cl.getenv, Sites: []string{"dc1"}, Rates: map[string]float64{"vcf": 50}})
	if err != nil {
		t.Fatal(err)
	}
	if q := distributed.WorkerQueues(w); len(q) != 1 || q[0] != "tokenflow-test-ops-vcf-dc1" {
		t.Fatalf("the dc1 worker polls %v, want [tokenflow-test-ops-vcf-dc1]", q)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, site := range []string{"", "dc1"} {
		in, err := distributed.Bundle(flowtest.Flow("vcf", "onboard.star"), "", cl.vars(), "")
		if err != nil {
			t.Fatal(err)
		}
		in.Site = site
		run, err := distributed.Submit(ctx, cl.c, in, distributed.SubmitOptions{TaskQueue: cl.queue, WorkflowID: "routing-" + site})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := distributed.Wait(ctx, run); err != nil {
			t.Fatalf("site %q: %v", site, err)
		}
		want := distributed.OpsQueue(cl.queue, "vcf", site)
		ops := 0
		for _, ev := range cl.history(t, run.GetID(), run.GetRunID()).Events {
			a := ev.GetActivityTaskScheduledEventAttributes()
			if a == nil {
				continue
			}
			q := a.TaskQueue.GetName()
			switch a.ActivityType.GetName() {
			case "tokenflow.Op", "tokenflow.Describe", "tokenflow.CloseConnection":
				ops++
				if q != want {
					t.Errorf("site %q: %s %s went to queue %s, want %s", site, a.ActivityType.GetName(), a.ActivityId, q, want)
				}
			default:
				if q != cl.queue {
					t.Errorf("site %q: %s went to queue %s, want the base queue %s", site, a.ActivityType.GetName(), q, cl.queue)
				}
			}
		}
		if ops < 3 {
			t.Errorf("site %q: %d vendor activities in the history, want several", site, ops)
		}
	}

	// The server holds the dc1 worker's rate for the queue: a limit across
	// every worker polling it.
	d, err := cl.c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: cl.ts.GetDefaultNamespace(), TaskQueue: &taskqueuepb.TaskQueue{Name: "tokenflow-test-ops-vcf-dc1", Kind: enums.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enums.TASK_QUEUE_TYPE_ACTIVITY, ReportConfig: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.GetEffectiveRateLimit(); r.GetRequestsPerSecond() != 50 || r.GetRateLimitSource() != enums.RATE_LIMIT_SOURCE_WORKER {
		t.Errorf("the server's rate limit of the dc1 vcf queue is %v from %v, want 50/s from the worker", r.GetRequestsPerSecond(), r.GetRateLimitSource())
	}
}
