/* Parsing of `chaos run [options] -- CMD`: every bad value is reported with
 * the option, the value and what was expected. */
#include "cli/cliopts.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/faults.h"

/* Leading decimal digits of s as an unsigned 64-bit value; *end gets the
 * first byte after them. */
static int leading_u64(const char *s, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		uint64_t d = (uint64_t)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
		p++;
	}
	*v = x;
	*end = p;
	return 0;
}

int chaos_parse_size(const char *s, uint64_t *bytes)
{
	const char *end;
	uint64_t v, mul = 1;

	if (!s || leading_u64(s, &v, &end))
		return -EINVAL;
	if (*end) {
		switch (*end) {
		case 'k':
		case 'K':
			mul = 1ULL << 10;
			break;
		case 'm':
		case 'M':
			mul = 1ULL << 20;
			break;
		case 'g':
		case 'G':
			mul = 1ULL << 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
		/* Accept the common spellings 64M, 64MB and 64MiB. */
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mul)
		return -EINVAL;
	*bytes = v * mul;
	return 0;
}

int chaos_parse_time_ms(const char *s, uint32_t *ms)
{
	const char *end;
	uint64_t v, mul;

	if (!s || leading_u64(s, &v, &end))
		return -EINVAL;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60000;
	else
		return -EINVAL;
	if (v > UINT32_MAX / mul)
		return -EINVAL;
	*ms = (uint32_t)(v * mul);
	return 0;
}

static int parse_u32_arg(const char *s, uint32_t *v)
{
	const char *end;
	uint64_t x;

	if (!s || leading_u64(s, &x, &end) || *end || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

static struct chaos_fault *add_fault(struct chaos_scenario *sc, enum chaos_fault_kind kind)
{
	struct chaos_fault *nf = realloc(sc->faults, (sc->nfaults + 1) * sizeof(*nf));

	if (!nf)
		return NULL;
	sc->faults = nf;
	nf = &sc->faults[sc->nfaults++];
	memset(nf, 0, sizeof(*nf));
	nf->kind = kind;
	nf->signo = SIGKILL;
	nf->attempt = 1;
	return nf;
}

/* Copy the option value v into buf (len bytes) to be cut up there;
 * -EINVAL when it does not fit. */
static int copy_arg(const char *v, char *buf, size_t len)
{
	if (strlen(v) >= len)
		return -EINVAL;
	strcpy(buf, v);
	return 0;
}

/* Cut s at its first sep: the part after it, or NULL when there is none. */
static char *cut_at(char *s, int sep)
{
	char *p = strchr(s, sep);

	if (p)
		*p++ = '\0';
	return p;
}

/* "TASK[+DELAY]" */
static int parse_on_start(const char *v, struct chaos_fault *f)
{
	char buf[64];
	char *plus;

	if (copy_arg(v, buf, sizeof(buf)))
		return -EINVAL;
	plus = cut_at(buf, '+');
	if (parse_u32_arg(buf, &f->task))
		return -EINVAL;
	return plus ? chaos_parse_time_ms(plus, &f->delay_ms) : 0;
}

/* "WORKER@TIME" */
static int parse_at(const char *v, struct chaos_fault *f)
{
	char buf[64];
	char *at;

	if (copy_arg(v, buf, sizeof(buf)) || !(at = cut_at(buf, '@')) ||
	    parse_u32_arg(buf, &f->worker))
		return -EINVAL;
	return chaos_parse_time_ms(at, &f->delay_ms);
}

/* "INTERVAL[,jitter=T][,count=N]" */
static int parse_every(const char *v, struct chaos_fault *f)
{
	char buf[128];
	char *tok, *save = NULL;
	int first = 1;

	if (copy_arg(v, buf, sizeof(buf)))
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (first) {
			if (chaos_parse_time_ms(tok, &f->interval_ms) || f->interval_ms == 0)
				return -EINVAL;
			first = 0;
		} else if (strncmp(tok, "jitter=", 7) == 0) {
			if (chaos_parse_time_ms(tok + 7, &f->jitter_ms))
				return -EINVAL;
		} else if (strncmp(tok, "count=", 6) == 0) {
			if (parse_u32_arg(tok + 6, &f->count))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return first ? -EINVAL : 0;
}

/* "BYTES@TIME+DURATION" */
static int parse_pressure(const char *v, struct chaos_fault *f)
{
	char buf[96];
	char *at, *plus;

	if (copy_arg(v, buf, sizeof(buf)) || !(at = cut_at(buf, '@')) || !(plus = cut_at(at, '+')))
		return -EINVAL;
	if (chaos_parse_size(buf, &f->bytes) || f->bytes == 0)
		return -EINVAL;
	if (chaos_parse_time_ms(at, &f->delay_ms) || chaos_parse_time_ms(plus, &f->duration_ms))
		return -EINVAL;
	return f->duration_ms ? 0 : -EINVAL;
}

int chaos_cli_scenario(int argc, char **argv, struct chaos_scenario *sc, int *cmd_index,
		       const char **out, int *verbose, char *err, size_t errlen)
{
	uint32_t workers = 2, ntasks = 10, retries = 0, deadline = 30000, stop_cont = 0;
	char policy[8] = "skip";
	uint64_t mem = 0, seed = 0;
	enum chaos_mem_mode mode = CHAOS_MEM_NONE;
	int signo = SIGKILL, have_seed = 0, i, ret = 0, inited = 0;
	size_t k;
	/* Faults are collected in a scratch scenario first: the task count is
	 * only known once all options are read. */
	struct chaos_scenario tmp;

	memset(&tmp, 0, sizeof(tmp));
	*cmd_index = -1;
	for (i = 0; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		struct chaos_fault *f = NULL;
		int bad = 0;

		if (strcmp(o, "--") == 0) {
			*cmd_index = i + 1;
			break;
		}
		if (strcmp(o, "-v") == 0 || strcmp(o, "--verbose") == 0) {
			*verbose = 1;
			continue;
		}
		if (o[0] != '-' || o[1] != '-') {
			snprintf(err, errlen, "unexpected argument '%s' (the command goes after --)",
				 o);
			ret = -EINVAL;
			goto out;
		}
		if (!v) {
			snprintf(err, errlen, "option %s needs a value", o);
			ret = -EINVAL;
			goto out;
		}
		i++;
		if (strcmp(o, "--workers") == 0)
			bad = parse_u32_arg(v, &workers) || workers == 0 || workers > 1024;
		else if (strcmp(o, "--tasks") == 0)
			bad = parse_u32_arg(v, &ntasks) || ntasks > 1000000;
		else if (strcmp(o, "--policy") == 0) {
			bad = strcmp(v, "skip") && strcmp(v, "abort") && strcmp(v, "retry");
			if (!bad)
				snprintf(policy, sizeof(policy), "%s", v);
		} else if (strcmp(o, "--retries") == 0)
			bad = parse_u32_arg(v, &retries);
		else if (strcmp(o, "--deadline") == 0)
			bad = chaos_parse_time_ms(v, &deadline) || deadline == 0;
		else if (strcmp(o, "--mem-per-worker") == 0) {
			bad = chaos_parse_size(v, &mem) || mem == 0 || mode == CHAOS_MEM_WHOLE_RUN;
			mode = CHAOS_MEM_PER_WORKER;
		} else if (strcmp(o, "--mem-limit") == 0) {
			bad = chaos_parse_size(v, &mem) || mem == 0 || mode == CHAOS_MEM_PER_WORKER;
			mode = CHAOS_MEM_WHOLE_RUN;
		} else if (strcmp(o, "--seed") == 0) {
			const char *end;

			bad = leading_u64(v, &seed, &end) || *end;
			have_seed = 1;
		} else if (strcmp(o, "--signal") == 0)
			bad = chaos_parse_signal(v, &signo);
		else if (strcmp(o, "--out") == 0)
			*out = v;
		else if (strcmp(o, "--kill-on-start") == 0 || strcmp(o, "--stop-on-start") == 0) {
			f = add_fault(&tmp, CHAOS_FAULT_ON_START);
			bad = !f || parse_on_start(v, f);
			if (f && o[2] == 's')
				f->signo = SIGSTOP;
		} else if (strcmp(o, "--kill-at") == 0) {
			f = add_fault(&tmp, CHAOS_FAULT_AT_TIME);
			bad = !f || parse_at(v, f);
		} else if (strcmp(o, "--kill-every") == 0) {
			f = add_fault(&tmp, CHAOS_FAULT_EVERY);
			bad = !f || parse_every(v, f);
		} else if (strcmp(o, "--kill-all-at") == 0) {
			f = add_fault(&tmp, CHAOS_FAULT_ALL_AT);
			bad = !f || chaos_parse_time_ms(v, &f->delay_ms);
		} else if (strcmp(o, "--pressure") == 0) {
			f = add_fault(&tmp, CHAOS_FAULT_PRESSURE);
			bad = !f || parse_pressure(v, f);
			if (f)
				f->pressure_inside = 1;
		} else if (strcmp(o, "--cont-after") == 0)
			bad = chaos_parse_time_ms(v, &stop_cont);
		else {
			snprintf(err, errlen, "unknown option '%s' (see chaos --help)", o);
			ret = -EINVAL;
			goto out;
		}
		if (bad) {
			const char *want = "a valid value";

			if (strstr(o, "mem-"))
				want = mode == CHAOS_MEM_NONE ? "a size like 64M"
							      : "a size like 64M, and only one of "
								"--mem-per-worker and --mem-limit";
			else if (!strcmp(o, "--deadline") || !strcmp(o, "--kill-all-at") ||
				 !strcmp(o, "--cont-after"))
				want = "a duration with a unit, like 200ms or 30s";
			else if (strstr(o, "-on-start"))
				want = "TASK or TASK+DELAY, like 3 or 3+50ms";
			else if (!strcmp(o, "--kill-at"))
				want = "WORKER@TIME, like 0@500ms";
			else if (!strcmp(o, "--kill-every"))
				want = "INTERVAL[,jitter=T][,count=N], like 200ms,jitter=50ms,count=5";
			else if (!strcmp(o, "--pressure"))
				want = "BYTES@TIME+DURATION, like 256M@1s+5s";
			else if (!strcmp(o, "--policy"))
				want = "skip, abort or retry";
			else if (!strcmp(o, "--signal"))
				want = "a signal name or number, like KILL or SIGSTOP";
			else if (!strcmp(o, "--workers"))
				want = "an integer from 1 to 1024";
			else if (!strcmp(o, "--tasks") || !strcmp(o, "--retries") ||
				 !strcmp(o, "--seed"))
				want = "a non-negative integer";
			snprintf(err, errlen, "option %s: bad value '%s' (expected %s)", o, v, want);
			ret = -EINVAL;
			goto out;
		}
	}
	if (*cmd_index < 0 || *cmd_index >= argc) {
		snprintf(err, errlen, "no target command (expected: chaos run [options] -- CMD ...)");
		ret = -EINVAL;
		goto out;
	}
	ret = chaos_scenario_init(sc, ntasks);
	if (ret) {
		snprintf(err, errlen, "cannot set up the scenario: %s", strerror(-ret));
		goto out;
	}
	inited = 1;
	snprintf(sc->name, sizeof(sc->name), "cli");
	sc->workers = workers;
	sc->ntasks = ntasks;
	snprintf(sc->policy, sizeof(sc->policy), "%s", policy);
	sc->retries = retries;
	sc->deadline_ms = deadline;
	sc->mem_mode = mode;
	sc->mem_limit = mem;
	if (have_seed)
		sc->seed = seed;
	for (k = 0; k < tmp.nfaults; k++) {
		struct chaos_fault *f = &tmp.faults[k];

		/* --signal applies to the kill faults; --stop-on-start keeps SIGSTOP. */
		if (f->kind != CHAOS_FAULT_PRESSURE && f->signo == SIGKILL)
			f->signo = signo;
		if (f->signo == SIGSTOP)
			f->cont_after_ms = stop_cont;
		if (f->kind == CHAOS_FAULT_ON_START && f->task >= ntasks) {
			snprintf(err, errlen, "--kill-on-start: task %u does not exist (--tasks %u)",
				 f->task, ntasks);
			ret = -EINVAL;
			goto out;
		}
		if (f->kind == CHAOS_FAULT_AT_TIME && f->worker >= workers) {
			snprintf(err, errlen, "--kill-at: worker %u does not exist (--workers %u)",
				 f->worker, workers);
			ret = -EINVAL;
			goto out;
		}
		if (f->kind == CHAOS_FAULT_EVERY)
			f->seed = sc->seed;
	}
	free(sc->faults);
	sc->faults = tmp.faults;
	sc->nfaults = tmp.nfaults;
	tmp.faults = NULL;
out:
	if (ret && inited)
		chaos_scenario_free(sc);
	free(tmp.faults);
	return ret;
}
