/* Parsing of `chaos run [options] -- CMD` into the scenario model a file
 * would give. One table holds the options; every value goes through the
 * scenario's settings (chaos/check/scenario.c) and the value grammar
 * (chaos/check/value.c), and the finished model through the same
 * validation as a file, so a value is refused here exactly as in a file,
 * with the option the user typed in front of the message. */
#include "cli/cliopts.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/value.h"
#include "engine/faults.h"

/* The state of one parse: the model being built and what only the command
 * line has (the option behind each fault, --signal, --cont-after). */
struct cli {
	struct chaos_scenario *sc;
	struct chaos_given given;
	const char **fault_opt; /* the option that added each fault */
	int signo;
	uint32_t cont_after_ms;
	enum chaos_victim victim;
	const char *mem_opt; /* --mem-per-worker or --mem-limit, once given */
	const char **out;
	int *verbose;
	char why[CHAOS_VALUE_MSG_MAX + 32]; /* a composite value's bad piece */
	char *err;
	size_t errlen;
};

struct cli_opt;
typedef int (*cli_apply)(struct cli *c, const struct cli_opt *o, const char *v);

struct cli_opt {
	const char *name;
	cli_apply apply;
	const char *key;  /* the scenario key the value sets */
	size_t off, size; /* opt_setting: the field of struct chaos_scenario */
	int arg;	  /* opt_mem: the mode; opt_fault: the kind */
	const char *form; /* opt_fault: the value's form, with an example */
};

/* Print the message for option o; always -EINVAL. */
static int opt_error(struct cli *c, const char *opt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int opt_error(struct cli *c, const char *opt, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s", opt, msg);
	return -EINVAL;
}

/* A scalar option: the setting of the same name, into its field. */
static int opt_setting(struct cli *c, const struct cli_opt *o, const char *v)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	char *field = (char *)c->sc + o->off;
	uint64_t x = 0;

	if (chaos_setting_parse(o->key, v, &x, msg, sizeof(msg)))
		return opt_error(c, o->name, "%s", msg);
	if (o->size == sizeof(uint64_t)) {
		memcpy(field, &x, sizeof(x));
	} else {
		uint32_t y = (uint32_t)x; /* the settings table bounds it */

		memcpy(field, &y, sizeof(y));
	}
	if (!strcmp(o->key, "retries"))
		c->given.retries = 1;
	return 0;
}

static int opt_policy(struct cli *c, const struct cli_opt *o, const char *v)
{
	char msg[CHAOS_VALUE_MSG_MAX];

	if (chaos_policy_parse(c->sc, v, msg, sizeof(msg)))
		return opt_error(c, o->name, "%s", msg);
	return 0;
}

static int opt_signal(struct cli *c, const struct cli_opt *o, const char *v)
{
	char msg[CHAOS_VALUE_MSG_MAX];

	if (chaos_value_signal(v, &c->signo, msg, sizeof(msg)))
		return opt_error(c, o->name, "%s", msg);
	return 0;
}

static int opt_cont_after(struct cli *c, const struct cli_opt *o, const char *v)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	uint64_t x = 0;

	if (chaos_setting_parse(o->key, v, &x, msg, sizeof(msg)))
		return opt_error(c, o->name, "%s", msg);
	c->cont_after_ms = (uint32_t)x;
	return 0;
}

/* --victim: the class every fault option hits (the file's `victim`). */
static int opt_victim(struct cli *c, const struct cli_opt *o, const char *v)
{
	static const char *const names[] = {"worker", "main", "any"};
	char msg[CHAOS_VALUE_MSG_MAX];
	int k = 0;

	if (chaos_value_word(v, names, 3, "victim", &k, msg, sizeof(msg)))
		return opt_error(c, o->name, "%s", msg);
	c->victim = (enum chaos_victim)k;
	return 0;
}

static int opt_out(struct cli *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	*c->out = v;
	return 0;
}

/* --mem-per-worker and --mem-limit: the file's [memory] mode and limit. */
static int opt_mem(struct cli *c, const struct cli_opt *o, const char *v)
{
	char msg[CHAOS_VALUE_MSG_MAX];

	if (c->mem_opt && strcmp(c->mem_opt, o->name))
		return opt_error(c, o->name, "only one of --mem-per-worker and --mem-limit");
	if (chaos_setting_parse(o->key, v, &c->sc->mem_limit, msg, sizeof(msg)))
		return opt_error(c, o->name, "%s", msg);
	c->sc->mem_mode = (enum chaos_mem_mode)o->arg;
	c->mem_opt = o->name;
	return 0;
}

/* One piece of a fault's value, parsed as the file's key of that name;
 * the reason is kept for the option's message. */
static int piece(struct cli *c, const char *key, const char *text, uint32_t *v)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	uint64_t x = 0;

	if (!text || chaos_setting_parse(key, text, &x, msg, sizeof(msg))) {
		if (text)
			snprintf(c->why, sizeof(c->why), ": %s: %s", key, msg);
		return -EINVAL;
	}
	*v = (uint32_t)x;
	return 0;
}

/* Cut s at its first sep: the part after it, or NULL when there is none. */
static char *cut_at(char *s, int sep)
{
	char *p = s ? strchr(s, sep) : NULL;

	if (p)
		*p++ = '\0';
	return p;
}

/* "INTERVAL[,jitter=T][,count=N]" */
static int parse_every(struct cli *c, char *buf, struct chaos_fault *f)
{
	char *tok, *save = NULL;
	int first = 1;

	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (first) {
			if (piece(c, "interval", tok, &f->interval_ms))
				return -EINVAL;
			first = 0;
		} else if (strncmp(tok, "jitter=", 7) == 0) {
			if (piece(c, "jitter", tok + 7, &f->jitter_ms))
				return -EINVAL;
		} else if (strncmp(tok, "count=", 6) == 0) {
			if (piece(c, "count", tok + 6, &f->count))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return first ? -EINVAL : 0;
}

/* "BYTES@TIME+DURATION" */
static int parse_pressure(struct cli *c, char *buf, struct chaos_fault *f)
{
	char msg[CHAOS_VALUE_MSG_MAX];
	char *at = cut_at(buf, '@'), *plus = cut_at(at, '+');

	if (!at || !plus)
		return -EINVAL;
	if (chaos_setting_parse("bytes", buf, &f->bytes, msg, sizeof(msg))) {
		snprintf(c->why, sizeof(c->why), ": bytes: %s", msg);
		return -EINVAL;
	}
	f->pressure_inside = 1;
	return piece(c, "at", at, &f->delay_ms) || piece(c, "duration", plus, &f->duration_ms)
		   ? -EINVAL
		   : 0;
}

/* "N[+DELAY]": N as the file's key of that name, then the delay. */
static int with_delay(struct cli *c, const char *key, char *buf, uint32_t *n, uint32_t *delay)
{
	char *rest = cut_at(buf, '+');

	if (piece(c, key, buf, n))
		return -EINVAL;
	return rest ? piece(c, "delay", rest, delay) : 0;
}

/* The pieces of a fault option's value, by the fault's kind. */
static int parse_fault(struct cli *c, char *buf, struct chaos_fault *f)
{
	char *rest;

	switch (f->kind) {
	case CHAOS_FAULT_ON_START: /* "TASK[+DELAY]" */
		return with_delay(c, "task", buf, &f->task, &f->delay_ms);
	case CHAOS_FAULT_AT_TIME: /* "WORKER@TIME" */
		rest = cut_at(buf, '@');
		if (!rest || piece(c, "worker", buf, &f->worker))
			return -EINVAL;
		return piece(c, "at", rest, &f->delay_ms);
	case CHAOS_FAULT_EVERY:
		return parse_every(c, buf, f);
	case CHAOS_FAULT_ALL_AT: /* "TIME" */
		return piece(c, "at", buf, &f->delay_ms);
	case CHAOS_FAULT_PRESSURE:
		return parse_pressure(c, buf, f);
	case CHAOS_FAULT_AFTER_STARTS: /* "K[+DELAY]" */
		return with_delay(c, "starts", buf, &f->starts, &f->delay_ms);
	case CHAOS_FAULT_ON_END: /* "TASK" */
		return piece(c, "task", buf, &f->task);
	}
	return -EINVAL;
}

/* The fault options: one fault each, with the file's defaults. */
static int opt_fault(struct cli *c, const struct cli_opt *o, const char *v)
{
	struct chaos_scenario *sc = c->sc;
	struct chaos_fault *nf;
	const char **no;
	char buf[128];

	nf = realloc(sc->faults, (sc->nfaults + 1) * sizeof(*nf));
	if (nf)
		sc->faults = nf;
	no = realloc(c->fault_opt, (sc->nfaults + 1) * sizeof(*no));
	if (no)
		c->fault_opt = no;
	if (!nf || !no)
		return opt_error(c, o->name, "out of memory");
	nf = &sc->faults[sc->nfaults];
	chaos_fault_init(nf, (enum chaos_fault_kind)o->arg, sc->seed);
	if (!strcmp(o->name, "--stop-on-start"))
		nf->signo = SIGSTOP;
	c->why[0] = '\0';
	if (strlen(v) >= sizeof(buf) || (strcpy(buf, v), parse_fault(c, buf, nf)))
		return opt_error(c, o->name, "bad value '%s' (expected %s)%s", v, o->form, c->why);
	c->fault_opt[sc->nfaults++] = o->name;
	return 0;
}

#define FIELD(m) offsetof(struct chaos_scenario, m), sizeof(((struct chaos_scenario *)0)->m)

static const struct cli_opt cli_opts[] = {
    {"--workers", opt_setting, "workers", FIELD(workers), 0, NULL},
    {"--tasks", opt_setting, "tasks", FIELD(ntasks), 0, NULL},
    {"--retries", opt_setting, "retries", FIELD(retries), 0, NULL},
    {"--deadline", opt_setting, "deadline", FIELD(deadline_ms), 0, NULL},
    {"--seed", opt_setting, "seed", FIELD(seed), 0, NULL},
    {"--policy", opt_policy, "policy", 0, 0, 0, NULL},
    {"--signal", opt_signal, "signal", 0, 0, 0, NULL},
    {"--cont-after", opt_cont_after, "cont-after", 0, 0, 0, NULL},
    {"--out", opt_out, NULL, 0, 0, 0, NULL},
    {"--mem-per-worker", opt_mem, "limit", 0, 0, CHAOS_MEM_PER_WORKER, NULL},
    {"--mem-limit", opt_mem, "limit", 0, 0, CHAOS_MEM_WHOLE_RUN, NULL},
    {"--kill-on-start", opt_fault, NULL, 0, 0, CHAOS_FAULT_ON_START,
     "TASK or TASK+DELAY, like 3 or 3+50ms"},
    {"--stop-on-start", opt_fault, NULL, 0, 0, CHAOS_FAULT_ON_START,
     "TASK or TASK+DELAY, like 3 or 3+50ms"},
    {"--kill-at", opt_fault, NULL, 0, 0, CHAOS_FAULT_AT_TIME, "WORKER@TIME, like 0@500ms"},
    {"--kill-every", opt_fault, NULL, 0, 0, CHAOS_FAULT_EVERY,
     "INTERVAL[,jitter=T][,count=N], like 200ms,jitter=50ms,count=5"},
    {"--kill-all-at", opt_fault, NULL, 0, 0, CHAOS_FAULT_ALL_AT, "TIME, like 1s"},
    {"--pressure", opt_fault, NULL, 0, 0, CHAOS_FAULT_PRESSURE,
     "BYTES@TIME+DURATION, like 256M@1s+5s"},
    {"--kill-after-starts", opt_fault, NULL, 0, 0, CHAOS_FAULT_AFTER_STARTS,
     "K or K+DELAY, like 3 or 3+50ms"},
    {"--kill-on-end", opt_fault, NULL, 0, 0, CHAOS_FAULT_ON_END, "TASK, like 3"},
    {"--victim", opt_victim, "victim", 0, 0, 0, NULL},
};
#define N_CLI_OPTS (sizeof(cli_opts) / sizeof(cli_opts[0]))

static const struct cli_opt *find_opt(const char *name)
{
	size_t i;

	for (i = 0; i < N_CLI_OPTS; i++) {
		if (!strcmp(cli_opts[i].name, name))
			return &cli_opts[i];
	}
	return NULL;
}

/* Read the options up to "--"; *cmd_index is the first word after it. */
static int read_opts(struct cli *c, int argc, char **argv, int *cmd_index)
{
	const struct cli_opt *o;
	int i, r;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			*cmd_index = i + 1;
			return 0;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			*c->verbose = 1;
			continue;
		}
		if (a[0] != '-' || a[1] != '-') {
			snprintf(c->err, c->errlen,
				 "unexpected argument '%s' (the command goes after --)", a);
			return -EINVAL;
		}
		o = find_opt(a);
		if (!o) {
			snprintf(c->err, c->errlen, "unknown option '%s' (see chaos --help)", a);
			return -EINVAL;
		}
		if (i + 1 >= argc) {
			snprintf(c->err, c->errlen, "option %s needs a value", a);
			return -EINVAL;
		}
		r = o->apply(c, o, argv[++i]);
		if (r)
			return r;
	}
	return 0;
}

/* What only the whole command line decides: the task array for --tasks,
 * --signal on the kill faults (--stop-on-start keeps SIGSTOP), --cont-after
 * on the SIGSTOP ones, --victim on all but --pressure, --seed on every
 * fault wherever it was given (a file's faults take the scenario's seed
 * too). */
static int finish(struct cli *c)
{
	struct chaos_scenario *sc = c->sc, fresh;
	size_t k;
	int r = chaos_scenario_init(&fresh, sc->ntasks);

	if (r) {
		snprintf(c->err, c->errlen, "cannot set up the scenario: %s", strerror(-r));
		return r;
	}
	free(sc->tasks);
	sc->tasks = fresh.tasks;
	for (k = 0; k < sc->nfaults; k++) {
		struct chaos_fault *f = &sc->faults[k];

		if (f->kind == CHAOS_FAULT_PRESSURE)
			f->signo = 0;
		else if (f->signo == SIGKILL)
			f->signo = c->signo;
		if (f->kind != CHAOS_FAULT_PRESSURE)
			f->victim = c->victim;
		if (f->signo == SIGSTOP)
			f->cont_after_ms = c->cont_after_ms;
		f->seed = sc->seed;
		/* `chaos run -- CMD` may run a target without the kit, where no
		 * task start ever comes: its times count from the spawn. */
		if (chaos_fault_is_timed(f))
			f->from = CHAOS_FROM_SPAWN;
	}
	return 0;
}

/* The file's validation, its message behind the option it blames. */
static int validate(struct cli *c)
{
	struct chaos_problem pb;
	const char *opt = "chaos run";
	size_t i;

	if (!chaos_scenario_validate(c->sc, &c->given, &pb))
		return 0;
	if (pb.fault != SIZE_MAX)
		opt = c->fault_opt[pb.fault];
	for (i = 0; pb.fault == SIZE_MAX && pb.key && i < N_CLI_OPTS; i++) {
		if (cli_opts[i].key && !strcmp(cli_opts[i].key, pb.key))
			opt = cli_opts[i].name;
	}
	return opt_error(c, opt, "%s", pb.msg);
}

int chaos_cli_scenario(int argc, char **argv, struct chaos_scenario *sc, int *cmd_index,
		       const char **out, int *verbose, char *err, size_t errlen)
{
	struct cli c = {.sc = sc, .signo = SIGKILL, .out = out, .verbose = verbose,
			.err = err, .errlen = errlen};
	int ret;

	*cmd_index = -1;
	ret = chaos_scenario_init(sc, CHAOS_DEFAULT_TASKS);
	if (ret) {
		snprintf(err, errlen, "cannot set up the scenario: %s", strerror(-ret));
		return ret;
	}
	snprintf(sc->name, sizeof(sc->name), "cli");
	ret = read_opts(&c, argc, argv, cmd_index);
	if (!ret && (*cmd_index < 0 || *cmd_index >= argc)) {
		snprintf(err, errlen, "no target command (expected: chaos run [options] -- CMD ...)");
		ret = -EINVAL;
	}
	if (!ret)
		ret = finish(&c);
	if (!ret)
		ret = validate(&c);
	if (ret)
		chaos_scenario_free(sc);
	free(c.fault_opt);
	return ret;
}
