#include "lifecycle/control.h"

#include "core/error.h"

static int unsupported(vs_container *c, const char *what, vs_err *err)
{
	return vs_fail(err, 0, "%s %s: the %s backend does not support it", what, c->state.id,
		       c->ops->name);
}

/* The statuses an operation accepts; anything else is an error naming it. */
static int need(vs_container *c, const char *what, vs_err *err, int n, const vs_status *ok)
{
	vs_status s = vs_container_status(c);
	for (int i = 0; i < n; i++)
		if (s == ok[i])
			return 0;
	return vs_fail(err, 0, "cannot %s container \"%s\": it is %s", what, c->state.id,
		       vs_status_name(s));
}

int vs_container_pause(vs_container *c, vs_err *err)
{
	if (need(c, "pause", err, 1, (vs_status[]){ VS_STATUS_RUNNING }) < 0)
		return -1;
	if (!c->ops->pause)
		return unsupported(c, "pause", err);
	if (c->ops->pause(c, err) < 0)
		return vs_err_wrap(err, "pause %s", c->state.id);
	c->state.status = VS_STATUS_PAUSED;
	return vs_state_save(c->dir, &c->state, err);
}

int vs_container_resume(vs_container *c, vs_err *err)
{
	if (need(c, "resume", err, 1, (vs_status[]){ VS_STATUS_PAUSED }) < 0)
		return -1;
	if (!c->ops->resume)
		return unsupported(c, "resume", err);
	if (c->ops->resume(c, err) < 0)
		return vs_err_wrap(err, "resume %s", c->state.id);
	c->state.status = VS_STATUS_RUNNING;
	return vs_state_save(c->dir, &c->state, err);
}

static const vs_status live[] = { VS_STATUS_CREATED, VS_STATUS_RUNNING, VS_STATUS_PAUSED };

int vs_container_update(vs_container *c, const vs_resources *r, vs_err *err)
{
	if (need(c, "update", err, 3, live) < 0)
		return -1;
	if (!c->ops->update)
		return unsupported(c, "update", err);
	if (c->ops->update(c, r, err) < 0)
		return vs_err_wrap(err, "update %s", c->state.id);
	return 0;
}

int vs_container_stats(vs_container *c, json_object **out, vs_err *err)
{
	if (need(c, "read statistics of", err, 3, live) < 0)
		return -1;
	if (!c->ops->stats)
		return unsupported(c, "stats", err);
	if (c->ops->stats(c, out, err) < 0)
		return vs_err_wrap(err, "stats %s", c->state.id);
	return 0;
}

int vs_container_pids(vs_container *c, pid_t **pids, size_t *n, vs_err *err)
{
	if (need(c, "list the processes of", err, 3, live) < 0)
		return -1;
	if (!c->ops->pids)
		return unsupported(c, "ps", err);
	if (c->ops->pids(c, pids, n, err) < 0)
		return vs_err_wrap(err, "ps %s", c->state.id);
	return 0;
}

int vs_container_oom_watch(vs_container *c, vs_oom_watch **w, vs_err *err)
{
	if (need(c, "watch", err, 3, live) < 0)
		return -1;
	if (!c->ops->oom_watch)
		return unsupported(c, "events", err);
	if (c->ops->oom_watch(c, w, err) < 0)
		return vs_err_wrap(err, "events %s", c->state.id);
	return 0;
}

int vs_oom_watch_fd(const vs_oom_watch *w)
{
	return w->fd;
}

int vs_oom_watch_read(vs_oom_watch *w, uint64_t *count, vs_err *err)
{
	return w->read(w, count, err);
}

void vs_oom_watch_close(vs_oom_watch *w)
{
	if (w)
		w->close(w);
}
