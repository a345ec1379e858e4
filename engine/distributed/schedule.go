package distributed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/store"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names registered with Temporal for schedules.
const (
	ScheduleWorkflowName = "tokenflow.Schedule"
	activityDue          = "tokenflow.Due"
)

// ScheduledTarget is one target of a scheduled flow.
type ScheduledTarget struct {
	// Name is the store's target (FlowInput.Target).
	Name string `json:"name"`
	Site string `json:"site,omitempty"`
	// Vars are merged over the flow's vars for this target.
	Vars map[string]string `json:"vars,omitempty"`
	// Credentials and TLS are the inventory target's, as FlowInput carries
	// them: references resolved on the worker, and its certificate check.
	Credentials map[string]string `json:"credentials,omitempty"`
	TLS         *engine.TargetTLS `json:"tls,omitempty"`
	// Info is FlowInput.TargetInfo.
	Info string `json:"info,omitempty"`
}

// ScheduleInput is what every action of a schedule runs: the flow as
// bundled when the schedule was created (so each run is the same flow,
// whatever happens to the files later), for each of its targets.
type ScheduleInput struct {
	Flow FlowInput `json:"flow"`
	// Targets: none runs the flow once as bundled.
	Targets []ScheduledTarget `json:"targets,omitempty"`
	// Due, when set, skips the targets none of whose current tokens is
	// due within it (DueTargets); a target without a token is due.
	Due time.Duration `json:"due,omitempty"`
}

// ScheduleResult is what one scheduled run did.
type ScheduleResult struct {
	Ran     []string `json:"ran,omitempty"`     // child workflow ids
	Skipped []string `json:"skipped,omitempty"` // targets not due
}

// flows are the per-target flow inputs of the schedule.
func (in ScheduleInput) flows() []FlowInput {
	if len(in.Targets) == 0 {
		return []FlowInput{in.Flow}
	}
	out := make([]FlowInput, 0, len(in.Targets))
	for _, t := range in.Targets {
		f := in.Flow
		f.Vars = maps.Clone(in.Flow.Vars)
		if f.Vars == nil {
			f.Vars = map[string]string{}
		}
		maps.Copy(f.Vars, t.Vars)
		f.Target, f.Site = t.Name, t.Site
		f.Credentials, f.TLS, f.TargetInfo = t.Credentials, t.TLS, t.Info
		out = append(out, f)
	}
	return out
}

type dueInput struct {
	Targets []string      `json:"targets"`
	Window  time.Duration `json:"window"`
	Now     time.Time     `json:"now"`
}

// scheduleRun is the workflow a schedule starts: one child flow workflow
// per due target, all at once (the vendor queues' rate limits pace them),
// then the list of what ran. Overlapping actions are skipped by the
// schedule itself.
func scheduleRun(ctx workflow.Context, in ScheduleInput) (*ScheduleResult, error) {
	if err := in.Flow.check(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "bundle", nil)
	}
	flows := in.flows()
	due := make([]bool, len(flows))
	for i := range due {
		due[i] = true
	}
	if in.Due > 0 {
		names := make([]string, len(flows))
		for i, f := range flows {
			names[i] = f.target()
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 5}})
		if err := workflow.ExecuteActivity(actx, activityDue, dueInput{Targets: names, Window: in.Due, Now: workflow.Now(ctx)}).Get(ctx, &due); err != nil {
			return nil, err
		}
	}
	info := workflow.GetInfo(ctx)
	res := &ScheduleResult{}
	type child struct {
		id string
		f  workflow.ChildWorkflowFuture
	}
	var children []child
	for i, f := range flows {
		if !due[i] {
			res.Skipped = append(res.Skipped, f.target())
			continue
		}
		id := info.WorkflowExecution.ID + "/" + WorkflowIDFor(f)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id, TaskQueue: info.TaskQueueName})
		children = append(children, child{id: id, f: workflow.ExecuteChildWorkflow(cctx, WorkflowName, f)})
	}
	var failed []string
	for _, c := range children {
		if err := c.f.Get(ctx, nil); err != nil {
			failed = append(failed, c.id)
			workflow.GetLogger(ctx).Warn("scheduled flow failed", "workflow", c.id, "error", err)
			continue
		}
		res.Ran = append(res.Ran, c.id)
	}
	if len(failed) > 0 {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%d of %d scheduled flows failed: %s (see each workflow's failure)",
			len(failed), len(children), strings.Join(failed, ", ")), "flow", nil)
	}
	return res, nil
}

// due reports, per target, whether it has a token due (DueTargets).
func (a *activities) due(ctx context.Context, in dueInput) ([]bool, error) {
	return DueTargets(ctx, a.state, in.Targets, in.Window, in.Now)
}

// DueTargets reports for each target whether it needs the flow: it has
// no current token, or one of its current tokens expires within window
// or was last rotated longer ago than its rotate_every label allows (as
// `tokenflow rotate --due` decides).
func DueTargets(ctx context.Context, st store.Store, targets []string, window time.Duration, now time.Time) ([]bool, error) {
	tokens, err := st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("token store: %w", err)
	}
	has, due := map[string]bool{}, map[string]bool{}
	for _, t := range tokens {
		if t.State != "" && t.State != store.Current {
			continue
		}
		has[t.Target] = true
		why, err := store.Due(t, now, window)
		if err != nil {
			return nil, err
		}
		if why != "" {
			due[t.Target] = true
		}
	}
	out := make([]bool, len(targets))
	for i, t := range targets {
		out[i] = !has[t] || due[t]
	}
	return out, nil
}

func registerSchedule(r Registry, cfg WorkerConfig) {
	r.RegisterWorkflowWithOptions(scheduleRun, workflow.RegisterOptions{Name: ScheduleWorkflowName})
	a := &activities{rt: cfg.Runtime, state: cfg.State, getenv: cfg.Getenv, logger: cfg.Logger}
	r.RegisterActivityWithOptions(a.due, activity.RegisterOptions{Name: activityDue})
}

// ScheduleSpec is how often a schedule fires.
type ScheduleSpec struct {
	Every time.Duration
	// Jitter delays each action by a random time up to it, so schedules
	// created together do not hit the vendors at once.
	Jitter    time.Duration
	TaskQueue string
}

// CreateSchedule creates the Temporal Schedule name, whose actions run in;
// an action due while the previous one still runs is skipped.
func CreateSchedule(ctx context.Context, c client.Client, name string, spec ScheduleSpec, in ScheduleInput) error {
	if spec.Every <= 0 {
		return errors.New("a schedule needs an interval (--every)")
	}
	if spec.TaskQueue == "" {
		spec.TaskQueue = DefaultTaskQueue
	}
	note := fmt.Sprintf("tokenflow %s", filepath.Base(in.Flow.Flow))
	if n := len(in.Targets); n > 0 {
		note += fmt.Sprintf(" on %d targets", n)
	}
	if in.Due > 0 {
		note += " when due within " + in.Due.String()
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      name,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: spec.Every}}, Jitter: spec.Jitter},
		Action:  &client.ScheduleWorkflowAction{ID: "tokenflow-schedule-" + name, Workflow: ScheduleWorkflowName, Args: []any{in}, TaskQueue: spec.TaskQueue},
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    note,
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) || errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("schedule %s exists already: delete it first (tokenflow schedule delete %s) or pick another name", name, name)
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", name, err)
	}
	return nil
}

// ScheduleInfo is a listed schedule.
type ScheduleInfo struct {
	Name    string      `json:"name"`
	Every   []string    `json:"every"`
	Jitter  string      `json:"jitter,omitempty"`
	Note    string      `json:"note,omitempty"`
	Paused  bool        `json:"paused,omitempty"`
	Next    time.Time   `json:"next,omitempty"`
	Actions []time.Time `json:"recent_actions,omitempty"`
}

// ListSchedules lists the namespace's tokenflow schedules by name. The
// list comes from Temporal's visibility store, which may lag a create or
// delete by a moment.
func ListSchedules(ctx context.Context, c client.Client) ([]ScheduleInfo, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []ScheduleInfo
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		if e.WorkflowType.Name != ScheduleWorkflowName {
			continue
		}
		s := ScheduleInfo{Name: e.ID, Note: e.Note, Paused: e.Paused}
		if e.Spec != nil {
			for _, iv := range e.Spec.Intervals {
				s.Every = append(s.Every, iv.Every.String())
			}
			if e.Spec.Jitter > 0 {
				s.Jitter = e.Spec.Jitter.String()
			}
		}
		if len(e.NextActionTimes) > 0 {
			s.Next = e.NextActionTimes[0]
		}
		for _, a := range e.RecentActions {
			s.Actions = append(s.Actions, a.ActualTime)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteSchedule deletes a schedule; runs it started go on.
func DeleteSchedule(ctx context.Context, c client.Client, name string) error {
	err := c.ScheduleClient().GetHandle(ctx, name).Delete(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("no schedule %s in this namespace (tokenflow schedule list shows them)", name)
	}
	if err != nil {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}
