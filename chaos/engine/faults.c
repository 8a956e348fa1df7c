/* Fault schedule computation: deterministic for a given scenario and seed. */
#include "engine/faults.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t chaos_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int chaos_every_schedule(const struct chaos_fault *f, uint64_t scenario_seed, uint64_t horizon_ms,
			 struct chaos_timed *out, size_t max, size_t *n)
{
	uint64_t state = f->seed ? f->seed : scenario_seed;
	uint64_t t = f->delay_ms;
	uint32_t k;

	*n = 0;
	if (f->interval_ms == 0)
		return -EINVAL;
	for (k = 0; f->count == 0 || k < f->count; k++) {
		uint64_t jitter = 0, pick;

		/* Draw both values for every shot, so a shot's worker choice
		 * does not depend on whether jitter is configured. */
		jitter = chaos_splitmix64(&state);
		pick = chaos_splitmix64(&state);
		t += f->interval_ms;
		if (f->jitter_ms)
			t += jitter % ((uint64_t)f->jitter_ms + 1);
		if (t > horizon_ms || *n >= max)
			break;
		out[*n].t_ms = t;
		out[*n].from = f->from;
		out[*n].fault = 0;
		out[*n].seq = k;
		out[*n].pick = pick;
		(*n)++;
	}
	return 0;
}

static int cmp_timed(const void *a, const void *b)
{
	const struct chaos_timed *x = a, *y = b;

	if (x->t_ms != y->t_ms)
		return x->t_ms < y->t_ms ? -1 : 1;
	if (x->fault != y->fault)
		return x->fault < y->fault ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int chaos_fault_plan(const struct chaos_scenario *sc, struct chaos_timed **out, size_t *n)
{
	struct chaos_timed *v = NULL;
	size_t cap = 16, len = 0, i;
	int ret = 0;

	*out = NULL;
	*n = 0;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < sc->nfaults; i++) {
		const struct chaos_fault *f = &sc->faults[i];
		size_t want = 1, got = 0, j;

		if (!chaos_fault_is_timed(f))
			continue;
		if (f->kind == CHAOS_FAULT_EVERY) {
			if (f->interval_ms == 0) {
				ret = -EINVAL;
				goto out;
			}
			want = sc->deadline_ms / f->interval_ms + 1;
			if (f->count && f->count < want)
				want = f->count;
		}
		if (want > CHAOS_SCHED_MAX - len)
			want = CHAOS_SCHED_MAX - len;
		if (len + want > cap) {
			struct chaos_timed *nv;

			while (len + want > cap)
				cap *= 2;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		if (f->kind == CHAOS_FAULT_EVERY) {
			ret = chaos_every_schedule(f, sc->seed, sc->deadline_ms, v + len, want,
						   &got);
			if (ret)
				goto out;
		} else if (want) {
			v[len].t_ms = f->delay_ms;
			v[len].from = f->from;
			v[len].seq = 0;
			v[len].pick = 0;
			got = f->delay_ms <= sc->deadline_ms;
		}
		for (j = 0; j < got; j++)
			v[len + j].fault = i;
		len += got;
	}
	qsort(v, len, sizeof(*v), cmp_timed);
	*out = v;
	*n = len;
	v = NULL;
out:
	free(v);
	return ret;
}

size_t chaos_pick_index(uint64_t pick, size_t nlive)
{
	return nlive ? (size_t)(pick % nlive) : 0;
}

int chaos_on_start_matches(const struct chaos_fault *f, uint32_t task, uint32_t attempt)
{
	if (f->kind != CHAOS_FAULT_ON_START || f->task != task)
		return 0;
	return f->attempt == 0 || f->attempt == attempt;
}

int chaos_on_end_matches(const struct chaos_fault *f, uint32_t task, uint32_t attempt)
{
	if (f->kind != CHAOS_FAULT_ON_END || f->task != task)
		return 0;
	return f->attempt == 0 || f->attempt == attempt;
}

int chaos_after_starts_matches(const struct chaos_fault *f, uint64_t nstarts)
{
	return f->kind == CHAOS_FAULT_AFTER_STARTS && f->starts == nstarts;
}

int chaos_fault_is_timed(const struct chaos_fault *f)
{
	return f->kind == CHAOS_FAULT_AT_TIME || f->kind == CHAOS_FAULT_EVERY ||
	       f->kind == CHAOS_FAULT_ALL_AT || f->kind == CHAOS_FAULT_PRESSURE;
}

const char *chaos_fault_anchor_name(const struct chaos_fault *f)
{
	switch (f->kind) {
	case CHAOS_FAULT_ON_START:
		return "start";
	case CHAOS_FAULT_AFTER_STARTS:
		return "starts";
	case CHAOS_FAULT_ON_END:
		return "end";
	default:
		return f->from == CHAOS_FROM_SPAWN ? "spawn" : "first-start";
	}
}

const char *chaos_victim_name(enum chaos_victim v)
{
	return v == CHAOS_VICTIM_MAIN ? "main" : v == CHAOS_VICTIM_ANY ? "any" : "worker";
}

const char *chaos_fault_kind_name(enum chaos_fault_kind k)
{
	switch (k) {
	case CHAOS_FAULT_ON_START:
		return "on-start";
	case CHAOS_FAULT_AT_TIME:
		return "at-time";
	case CHAOS_FAULT_EVERY:
		return "every";
	case CHAOS_FAULT_ALL_AT:
		return "all-at";
	case CHAOS_FAULT_PRESSURE:
		return "pressure";
	case CHAOS_FAULT_AFTER_STARTS:
		return "after-starts";
	case CHAOS_FAULT_ON_END:
		return "on-end";
	}
	return "unknown";
}
